"""Public, unauthenticated routes: GET /health (checks the database) and GET /api/config."""

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


@router.get("/health")
def health(db: DatabaseDep) -> JSONResponse:
    body = {"status": "ok", "version": __version__, "app_name": APP_NAME, "database": "ok"}
    try:
        db.ping()
    except Exception as exc:
        log.warning("health check: database unavailable", error=type(exc).__name__)
        return JSONResponse({**body, "status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse(body)


@router.get("/api/config")
def public_config(settings: SettingsDep) -> PublicConfig:
    return PublicConfig(
        environment=settings.junjo_env,
        otlp_endpoint=settings.otlp_endpoint,
        frontend_url=settings.junjo_prod_frontend_url,
        backend_url=settings.junjo_prod_backend_url,
    )
