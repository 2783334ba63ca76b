"""Public, unauthenticated routes: GET /health (liveness and product identity), GET /ready
(readiness: the database answers) and GET /api/config.

`/health` answers exactly `{status, version, app_name}`: junjo's StudioClient reads it into a closed
model that rejects any other key, so readiness detail lives on `/ready`. Its status is "ok", or
"degraded" while the cold tier's bucket (JUNJO_OBJECT_STORE_URL) does not answer: the API still
serves accounts and the spans not yet in the bucket, so a load balancer keeps the backend (still
200), and every replica sees the same bucket anyway. `/ready` says which part is down.
"""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend import APP_NAME, __version__
from backend.deps import DatabaseDep, SettingsDep
from junjo_common.bucket_health import BucketHealth

router = APIRouter(tags=["meta"])
log = structlog.get_logger(__name__)


class PublicConfig(BaseModel):
    environment: str
    otlp_endpoint: str
    frontend_url: str | None
    backend_url: str | None


class Health(BaseModel):
    status: str
    version: str
    app_name: str


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    database: Literal["ok", "unavailable"]
    cold_storage: Literal["local", "ok", "unreachable"]


def _cold_storage(request: Request) -> Literal["local", "ok", "unreachable"]:
    bucket: BucketHealth | None = getattr(request.app.state, "bucket_health", None)
    if bucket is None:
        return "local"
    return "ok" if bucket.reachable else "unreachable"


@router.get("/health")
def health(request: Request) -> Health:
    status = "degraded" if _cold_storage(request) == "unreachable" else "ok"
    return Health(status=status, version=__version__, app_name=APP_NAME)


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(db: DatabaseDep, request: Request) -> JSONResponse:
    cold_storage = _cold_storage(request)
    try:
        db.ping()
    except Exception as exc:
        log.warning("readiness_database_unavailable", error=type(exc).__name__)
        answer = Readiness(status="unavailable", database="unavailable", cold_storage=cold_storage)
        return JSONResponse(answer.model_dump(), status_code=503)
    status = "degraded" if cold_storage == "unreachable" else "ok"
    return JSONResponse(Readiness(status=status, database="ok", cold_storage=cold_storage).model_dump())


@router.get("/api/config")
def public_config(settings: SettingsDep) -> PublicConfig:
    return PublicConfig(
        environment=settings.junjo_env,
        otlp_endpoint=settings.otlp_endpoint,
        frontend_url=settings.junjo_prod_frontend_url,
        backend_url=settings.junjo_prod_backend_url,
    )
