"""FastAPI dependencies for process-wide objects kept on `app.state` by create_app.

Feature routers use these instead of globals so tests can run several apps side by side:
`SettingsDep` (backend.settings.Settings) and `DatabaseDep` (backend.db.engine.Database, junjo.db).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.db.engine import Database
from backend.settings import Settings


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def app_database(request: Request) -> Database:
    return request.app.state.db


SettingsDep = Annotated[Settings, Depends(app_settings)]
DatabaseDep = Annotated[Database, Depends(app_database)]
