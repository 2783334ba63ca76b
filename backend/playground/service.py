"""The playground service: picks the provider, bounds the call in time, measures it, caches models.

Provider SDKs are imported on a provider's first use, not at start-up: together they cost tens of
MB of resident memory and seconds of start-up on a small VM, which a backend whose playground is
idle should not pay.
Provider model lists change rarely and cost a round trip, so they are cached in memory for
`MODEL_CACHE_TTL_SECS` (the reference's 900 s); a refresh bypasses and replaces the entry, and
failures are never cached. Latency is measured here, around the provider call only.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from typing import Protocol

import structlog
from pydantic import SecretStr

from backend.playground import errors
from backend.playground.providers import Provider, ProviderConfig
from backend.playground.schemas import PROVIDERS, GenerateRequest, GenerateResponse, ModelInfo, ProviderStatus

MODEL_CACHE_TTL_SECS = 900.0
PROVIDER_CLASSES = {
    "openai": ("backend.playground.openai_provider", "OpenAIProvider"),
    "anthropic": ("backend.playground.anthropic_provider", "AnthropicProvider"),
    "gemini": ("backend.playground.gemini_provider", "GeminiProvider"),
}
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
    def __init__(
        self,
        configs: dict[str, ProviderConfig],
        timeout_secs: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configs = configs
        self._providers: dict[str, Provider] = {}
        self._timeout = timeout_secs
        self._clock = clock
        self._cache: dict[str, tuple[float, list[ModelInfo]]] = {}
        self._locks = {name: asyncio.Lock() for name in PROVIDERS}

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> Playground:
        timeout = settings.llm_request_timeout_secs
        return cls(
            {
                "openai": ProviderConfig(_secret(settings.openai_api_key), settings.openai_base_url, timeout),
                "anthropic": ProviderConfig(
                    _secret(settings.anthropic_api_key), settings.anthropic_base_url, timeout
                ),
                "gemini": ProviderConfig(_secret(settings.gemini_api_key), settings.gemini_base_url, timeout),
            },
            timeout,
        )

    def provider_statuses(self) -> list[ProviderStatus]:
        return [
            ProviderStatus(
                id=name, configured=bool(self._configs[name].api_key), env_var=f"{name.upper()}_API_KEY"
            )
            for name in PROVIDERS
        ]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()

    async def provider(self, name: str) -> Provider:
        """The named provider; its SDK is imported on first use, in a thread (the loop keeps serving)."""
        if name not in PROVIDER_CLASSES:
            raise errors.PlaygroundError(400, f"Invalid provider. Must be one of: {', '.join(PROVIDERS)}")
        if name not in self._providers:
            module, cls = PROVIDER_CLASSES[name]
            loaded = await asyncio.to_thread(importlib.import_module, module)
            self._providers.setdefault(name, getattr(loaded, cls)(self._configs[name]))
        return self._providers[name]

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        provider = await self.provider(request.provider)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                response = await provider.generate(request)
        except TimeoutError:
            raise provider.timed_out() from None
        except errors.PlaygroundError as exc:
            _log.info(
                "llm_generate_failed",
                provider=provider.name,
                model=request.model_name,
                status=exc.status_code,
                detail=exc.detail,
            )
            raise
        except Exception as exc:  # an SDK surprise must still be a clear answer, not a 500
            _log.exception("llm_generate_unexpected", provider=provider.name, model=request.model_name)
            raise provider.unreadable(type(exc).__name__) from None
        response.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        usage = response.usage
        _log.info(
            "llm_generate",
            provider=provider.name,
            model=request.model_name,
            latency_ms=response.latency_ms,
            usage_total=usage.total_tokens if usage else None,
        )
        return response

    async def models(self, name: str, refresh: bool = False) -> list[ModelInfo]:
        provider = await self.provider(name)
        async with self._locks[name]:
            cached = self._cache.get(name)
            if cached is not None and not refresh and cached[0] > self._clock():
                return cached[1]
            try:
                async with asyncio.timeout(self._timeout):
                    models = await provider.list_models()
            except TimeoutError:
                raise provider.timed_out() from None
            except errors.PlaygroundError:
                raise
            except Exception as exc:  # an SDK surprise must still be a clear answer, not a 500
                _log.exception("llm_models_unexpected", provider=provider.name)
                raise provider.unreadable(type(exc).__name__) from None
            self._cache[name] = (self._clock() + MODEL_CACHE_TTL_SECS, models)
            return models
