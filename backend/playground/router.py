"""HTTP endpoints of the prompt playground (`/llm`, session required).

POST /llm/generate runs one chat generation; GET /llm/providers says which providers have an API
key configured (the UI disables Run and shows the setup for the others); GET
/llm/providers/{provider}/models lists a provider's chat models (cached) and POST .../models/refresh
re-fetches them. Every failure is a `PlaygroundError` turned into `{"detail": "..."}` with its status.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from backend.accounts.deps import require_admin
from backend.playground.errors import PlaygroundError
from backend.playground.schemas import GenerateRequest, GenerateResponse, ModelList, ProviderStatus
from backend.playground.service import LLMSettings, Playground

router = APIRouter(prefix="/llm", tags=["llm"], dependencies=[Depends(require_admin)])


def app_playground(request: Request) -> Playground:
    """One Playground per app (its model cache lives as long as the process), built on first use."""
    state = request.app.state
    playground = getattr(state, "playground", None)
    if playground is None:
        playground = state.playground = Playground.from_settings(state.settings)
    return playground


@contextlib.asynccontextmanager
async def playground_lifespan(app: FastAPI, settings: LLMSettings) -> AsyncIterator[None]:
    """The app's Playground, built at start-up; its provider clients are closed at shutdown."""
    playground = app.state.playground = Playground.from_settings(settings)
    try:
        yield
    finally:
        await playground.aclose()


PlaygroundDep = Annotated[Playground, Depends(app_playground)]


@router.post("/generate", response_model=GenerateResponse)
async def generate(body: GenerateRequest, playground: PlaygroundDep) -> GenerateResponse:
    try:
        return await playground.generate(body)
    except PlaygroundError as exc:
        raise HTTPException(exc.status_code, detail=exc.detail) from None


@router.get("/providers", response_model=list[ProviderStatus])
async def list_providers(playground: PlaygroundDep) -> list[ProviderStatus]:
    return playground.provider_statuses()


@router.get("/providers/{provider}/models", response_model=ModelList)
async def list_models(provider: str, playground: PlaygroundDep) -> ModelList:
    try:
        return ModelList(models=await playground.models(provider))
    except PlaygroundError as exc:
        raise HTTPException(exc.status_code, detail=exc.detail) from None


@router.post("/providers/{provider}/models/refresh", response_model=ModelList)
async def refresh_models(provider: str, playground: PlaygroundDep) -> ModelList:
    try:
        return ModelList(models=await playground.models(provider, refresh=True))
    except PlaygroundError as exc:
        raise HTTPException(exc.status_code, detail=exc.detail) from None
