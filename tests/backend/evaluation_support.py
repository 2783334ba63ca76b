"""Helpers for the evaluation API tests: a developer access token made through our own API, and the
real junjo 0.69 `StudioClient` driven synchronously (one client and event loop per call)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from junjo.studio import StudioClient

from tests.backend.conftest import run_sql
from tests.support.api import ApiClient
from tests.support.stack import Stack

T = TypeVar("T")
ALL_SCOPES = ["evaluation:read", "evaluation:write", "evidence:read"]
EVALUATION_TABLES = (
    "evaluation_attempts",
    "evaluation_runs",
    "evaluation_cases",
    "evaluation_datasets",
    "evaluation_tokens",
)


def empty_evaluation_store(stack: Stack) -> None:
    for table in EVALUATION_TABLES:
        run_sql(stack, f"DELETE FROM {table}")


def create_token(admin: ApiClient, scopes: list[str] | None = None) -> str:
    response = admin.http.post(
        "/api/v1/evaluation-tokens", json={"name": "tests", "scopes": scopes or ALL_SCOPES}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


class Studio:
    """`studio(lambda c: c.get_run(run_id))` runs one StudioClient call and returns its result."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.token = token

    def __call__(self, call: Callable[[StudioClient], Awaitable[T]]) -> T:
        async def run() -> T:
            async with StudioClient(
                base_url=self.base_url, token=self.token, retry_backoff_seconds=0
            ) as client:
                return await call(client)

        return asyncio.run(run())
