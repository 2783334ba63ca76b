"""FastAPI application factory: state, middleware, routers and the feature lifespans.

Adding a feature takes one line each:
- a router: `app.include_router(...)` in `_include_routers`;
- background work: a factory in FEATURE_LIFESPANS, `(app, settings) -> async context manager`,
  entered at start-up in list order and exited in reverse at shutdown.
Request bodies are limited to MAX_BODY_BYTES (413 beyond; FastAPI's own limiter); a router that
needs more declares `APIRouter(max_body_size=...)`.
`app.state.settings` (Settings) and `app.state.db` (Database for junjo.db) are set before any
lifespan runs; use `backend.deps.SettingsDep` / `DatabaseDep` in handlers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from backend import APP_NAME, __version__
from backend.accounts.router import accounts_lifespan
from backend.accounts.router import router as accounts_router
from backend.accounts.sessions import SessionCodec, SessionMiddleware
from backend.accounts.setup_code import SetupCode
from backend.accounts.throttle import SignInThrottle
from backend.agents.routes import router as agents_router
from backend.api_keys.router import router as api_keys_router
from backend.db.engine import Database
from backend.evaluations.errors import ApiError, api_error_response
from backend.evaluations.evidence import router as attempt_evidence_router
from backend.evaluations.router import router as evaluation_router
from backend.evaluations.tokens import router as evaluation_tokens_router
from backend.meta import router as meta_router
from backend.middleware import MIB, CsrfOriginMiddleware
from backend.overview.routes import router as overview_router
from backend.playground.router import playground_lifespan
from backend.playground.router import router as playground_router
from backend.search.saved import router as saved_searches_router
from backend.settings import Settings
from backend.spans.lifespan import spans_lifespan
from backend.spans.routes import EXPOSED_HEADERS as SPAN_HEADERS
from backend.spans.routes import ROUTERS as SPAN_ROUTERS

log = structlog.get_logger(__name__)

FeatureLifespan = Callable[[FastAPI, Settings], AbstractAsyncContextManager[None]]
FEATURE_LIFESPANS: list[FeatureLifespan] = [
    accounts_lifespan,
    spans_lifespan,
    playground_lifespan,
    # one line per feature with background work, e.g. the Parquet indexer
]
MAX_BODY_BYTES = MIB


def _include_routers(app: FastAPI) -> None:
    app.include_router(meta_router)
    app.include_router(accounts_router)
    app.include_router(api_keys_router)
    app.include_router(playground_router)
    app.include_router(evaluation_tokens_router)
    app.include_router(evaluation_router)
    app.include_router(attempt_evidence_router)
    for router in SPAN_ROUTERS:
        app.include_router(router)
    app.include_router(agents_router)
    app.include_router(saved_searches_router)
    app.include_router(overview_router)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with AsyncExitStack() as stack:
        for feature in FEATURE_LIFESPANS:
            await stack.enter_async_context(feature(app, settings))
        yield
    app.state.db.dispose()


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, but safe when the echoed input holds lone surrogates or NaN (not encodable)."""
    assert isinstance(exc, RequestValidationError)
    body = {"detail": jsonable_encoder(exc.errors())}
    try:
        return JSONResponse(body, status_code=422)
    except UnicodeEncodeError:
        return Response(json.dumps(body, ensure_ascii=True), status_code=422, media_type="application/json")
    except ValueError:  # NaN/Infinity in the echoed input (Python's JSON parser accepts them)
        errors = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in body["detail"]]
        return JSONResponse({"detail": errors}, status_code=422)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", method=request.method, path=request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    app = FastAPI(
        title=APP_NAME,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.sign_in_throttle = SignInThrottle()
    app.state.setup_code = SetupCode()
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, api_error_response)
    app.add_exception_handler(Exception, _unhandled_error)
    _include_routers(app)

    # Added innermost first: a request passes CORS -> CSRF -> session -> route.
    codec = SessionCodec(
        settings.junjo_session_secret.get_secret_value(), settings.junjo_secure_cookie_key.get_secret_value()
    )
    app.add_middleware(SessionMiddleware, codec=codec, secure=settings.is_production)
    app.add_middleware(CsrfOriginMiddleware, allowed_origins=settings.allow_origins)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allow_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        max_age=600,
        expose_headers=list(SPAN_HEADERS),
    )
    return app
