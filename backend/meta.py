"""Public, unauthenticated routes: GET /health (liveness and product identity), GET /ready
(readiness: the database answers) and GET /api/config.

`/health` answers exactly `{status, version, app_name}`: junjo's StudioClient reads it into a closed
model that rejects any other key, so readiness detail lives on `/ready`.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend import APP_NAME, __version__
from backend.deps import DatabaseDep, SettingsDep

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
    status: str
    database: str


@router.get("/health")
def health() -> Health:
    return Health(status="ok", version=__version__, app_name=APP_NAME)


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(db: DatabaseDep) -> JSONResponse:
    try:
        db.ping()
    except Exception as exc:
        log.warning("readiness_database_unavailable", error=type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/api/config")
def public_config(settings: SettingsDep) -> PublicConfig:
    return PublicConfig(
        environment=settings.junjo_env,
        otlp_endpoint=settings.otlp_endpoint,
        frontend_url=settings.junjo_prod_frontend_url,
        backend_url=settings.junjo_prod_backend_url,
    )
