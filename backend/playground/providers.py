"""The one interface every provider implements, and the bits they share.

A provider turns a `GenerateRequest` into one call of its official SDK and the answer back into a
`GenerateResponse`; it lists the provider's chat models. It validates provider-specific settings
itself (before any network call) and translates its SDK's exceptions into `PlaygroundError`s.
Each provider keeps one SDK client (its connection pool) for the life of the app: building one
loads TLS certificates, 50-170 ms that would otherwise inflate every measured latency.
"""

from __future__ import annotations

import abc
import json
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from backend.playground import errors
from backend.playground.schemas import GenerateRequest, GenerateResponse, ModelInfo


@dataclass(frozen=True)
class ProviderConfig:
    api_key: str | None
    base_url: str | None
    timeout_secs: float


class Provider(abc.ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    key_env: ClassVar[str]
    base_url_env: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._sdk_client: Any = None

    def client(self) -> Any:
        """The provider's SDK client, built on first use (a missing key raises the 400 instead)."""
        if self._sdk_client is None:
            self._sdk_client = self.new_client(self.api_key())
        return self._sdk_client

    async def aclose(self) -> None:
        if self._sdk_client is not None:
            client, self._sdk_client = self._sdk_client, None
            await self.close_client(client)

    @property
    def base_url(self) -> str:
        return self.config.base_url or self.default_base_url

    def api_key(self) -> str:
        """The configured key, or the 400 that names the variable to set."""
        if not self.config.api_key:
            raise errors.missing_key(self.label, self.key_env)
        return self.config.api_key

    def unsupported(self, setting: str, why: str) -> errors.PlaygroundError:
        return errors.unsupported(self.label, setting, why)

    def from_status(self, status: int, message: str) -> errors.PlaygroundError:
        return errors.from_status(self.label, self.key_env, status, message, self.config.api_key)

    def timed_out(self) -> errors.PlaygroundError:
        return errors.timed_out(self.label, self.config.timeout_secs)

    def unreachable(self) -> errors.PlaygroundError:
        return errors.unreachable(self.label, self.base_url, self.base_url_env)

    def unreadable(self, what: str) -> errors.PlaygroundError:
        return errors.unreadable(self.label, what)

    def sdk_error(self, exc: Exception, sdk: ModuleType) -> errors.PlaygroundError:
        """The error for an exception of `sdk`, one of the SDKs generated alike (`openai`,
        `anthropic`): the same timeout, connection and HTTP status exception classes."""
        if isinstance(exc, sdk.APITimeoutError):
            return self.timed_out()
        if isinstance(exc, sdk.APIConnectionError):
            return self.unreachable()
        if isinstance(exc, sdk.APIStatusError):
            return self.from_status(exc.status_code, provider_error_message(exc.body, exc.message))
        return self.unreadable(type(exc).__name__)

    @abc.abstractmethod
    def new_client(self, api_key: str) -> Any: ...

    @abc.abstractmethod
    async def close_client(self, client: Any) -> None: ...

    @abc.abstractmethod
    async def generate(self, request: GenerateRequest) -> GenerateResponse: ...

    @abc.abstractmethod
    async def list_models(self) -> list[ModelInfo]: ...


def provider_error_message(body: object, fallback: str) -> str:
    """The human message inside a provider error body (`{"error": {"message": ...}}` and variants)."""
    node: Any = body
    if isinstance(node, dict) and isinstance(node.get("error"), dict):
        node = node["error"]
    if isinstance(node, dict) and isinstance(node.get("message"), str):
        return node["message"]
    return fallback


def tool_arguments(text: str | None) -> dict[str, Any]:
    """A call's arguments from the JSON text a provider returns; text that is not a JSON object is
    kept under `_unparsed` so the playground still shows what the model sent."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"_unparsed": text}
    return value if isinstance(value, dict) else {"_unparsed": text}


def tool_result(content: str) -> Any:
    """A tool result's content as JSON when it is JSON (structured results stay structured)."""
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        return content


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())
