"""The frontend's typed API client is generated from frontend/openapi.json; this fails when that
snapshot no longer matches what the real backend serves (refresh: `cd frontend && npm run gen:api`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.stack import Stack, start_backend

SNAPSHOT = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"


def test_committed_openapi_snapshot_matches_live_backend(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    try:
        start_backend(stack, tmp_path)
        live = httpx.get(f"{stack.http_url}/openapi.json", timeout=10).json()
    finally:
        stack.stop()
    committed = json.loads(SNAPSHOT.read_text())
    stale = sorted(set(live["paths"]) ^ set(committed["paths"]))
    assert not stale, f"paths differ from frontend/openapi.json: {stale}; run `npm run gen:api`"
    assert live == committed, "frontend/openapi.json is stale; run `cd frontend && npm run gen:api`"
