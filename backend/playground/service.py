"""The playground service: picks the provider, bounds the call in time, measures it, caches models.

Provider model lists change rarely and cost a round trip, so they are cached in memory for
`MODEL_CACHE_TTL_SECS` (the reference's 900 s); a refresh bypasses and replaces the entry, and
failures are never cached. Latency is measured here, around the provider call only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import structlog
from pydantic import SecretStr

from backend.playground import errors
from backend.playground.anthropic_provider import AnthropicProvider
from backend.playground.gemini_provider import GeminiProvider
from backend.playground.openai_provider import OpenAIProvider
from backend.playground.providers import Provider, ProviderConfig
from backend.playground.schemas import PROVIDERS, GenerateRequest, GenerateResponse, ModelInfo

MODEL_CACHE_TTL_SECS = 900.0
_log = structlog.get_logger("backend.playground")


class LLMSettings(Protocol):
    openai_api_key: SecretStr | None
    anthropic_api_key: SecretStr | None
    gemini_api_key: SecretStr | None
    openai_base_url: str | None
    anthropic_base_url: str | None
    gemini_base_url: str | None
    llm_request_timeout_secs: float


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value().strip() or None) if value is not None else None


class Playground:
    def __init__(self, providers: dict[str, Provider], timeout_secs: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._providers = providers
        self._timeout = timeout_secs
        self._clock = clock
        self._cache: dict[str, tuple[float, list[ModelInfo]]] = {}
        self._locks = {name: asyncio.Lock() for name in providers}

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> Playground:
        timeout = settings.llm_request_timeout_secs
        return cls({
            "openai": OpenAIProvider(ProviderConfig(
                _secret(settings.openai_api_key), settings.openai_base_url, timeout)),
            "anthropic": AnthropicProvider(ProviderConfig(
                _secret(settings.anthropic_api_key), settings.anthropic_base_url, timeout)),
            "gemini": GeminiProvider(ProviderConfig(
                _secret(settings.gemini_api_key), settings.gemini_base_url, timeout)),
        }, timeout)

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            raise errors.PlaygroundError(400, f"Invalid provider. Must be one of: {', '.join(PROVIDERS)}")
        return self._providers[name]

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        provider = self.provider(request.provider)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                response = await provider.generate(request)
        except TimeoutError:
            raise provider.timed_out() from None
        except errors.PlaygroundError as exc:
            _log.info("llm_generate_failed", provider=provider.name, model=request.model_name,
                      status=exc.status_code, detail=exc.detail)
            raise
        response.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        usage = response.usage
        _log.info("llm_generate", provider=provider.name, model=request.model_name,
                  latency_ms=response.latency_ms, usage_total=usage.total_tokens if usage else None)
        return response

    async def models(self, name: str, refresh: bool = False) -> list[ModelInfo]:
        provider = self.provider(name)
        async with self._locks[name]:
            cached = self._cache.get(name)
            if cached is not None and not refresh and cached[0] > self._clock():
                return cached[1]
            try:
                async with asyncio.timeout(self._timeout):
                    models = await provider.list_models()
            except TimeoutError:
                raise provider.timed_out() from None
            self._cache[name] = (self._clock() + MODEL_CACHE_TTL_SECS, models)
            return models
