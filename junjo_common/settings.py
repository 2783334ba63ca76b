"""What the services' settings share: one `.env` reader, the rules for the variables both read, and
the one-line error a bad value stops a service with.

Both services are pydantic-settings models built on `ServiceSettings`: every field is read from the
environment variable of the same name (case-insensitive) or from `.env` in the working directory,
real environment variables win, and an empty value counts as unset. `make run` reads the same file
with `read_env_file`, the parser pydantic-settings uses, so `A=b # comment` is `b` everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from junjo_common.internal_token import resolve_internal_token
from junjo_common.logging_setup import FORMATS, LEVELS

ENV_FILE = ".env"
MIN_INTERNAL_TOKEN_LENGTH = 32
# Signs the session cookies and derives the internal token: long enough not to be guessed offline.
MIN_SESSION_SECRET_LENGTH = 32

# The secrets `.env.example` ships with. A `.env` copied from the example but never filled would
# otherwise run with a publicly known session secret (forgeable sessions, guessable internal token).
PLACEHOLDER = "change-me-run-make-secrets"
PLACEHOLDER_MESSAGE = "must not be the .env.example placeholder (run `make secrets` or set a real value)"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs of a dotenv file, parsed as the services parse it; a missing file is empty."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}


def is_placeholder(value: str) -> bool:
    return value.strip().lower().startswith("change-me")


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty (generate one with `openssl rand -base64 32`)")
    if is_placeholder(value.get_secret_value()):
        raise ValueError(PLACEHOLDER_MESSAGE)
    if len(value.get_secret_value().strip()) < MIN_SESSION_SECRET_LENGTH:
        raise ValueError(
            f"must be at least {MIN_SESSION_SECRET_LENGTH} characters "
            "(generate one with `openssl rand -base64 32`)"
        )
    return value


def _check_internal_token(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    if is_placeholder(value.get_secret_value()):
        raise ValueError(PLACEHOLDER_MESSAGE)
    if len(value.get_secret_value()) < MIN_INTERNAL_TOKEN_LENGTH:
        raise ValueError(f"must be at least {MIN_INTERNAL_TOKEN_LENGTH} characters when set")
    return value


def check_http_url(value: str | None) -> str | None:
    """An http(s) URL that names a host, without its trailing slash; blank counts as unset."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must start with http:// or https:// and name a host")
    return value.strip().rstrip("/")


def _check_path(value: Path) -> Path:
    if "\x00" in str(value):
        raise ValueError("is not a valid path")
    return value.expanduser().absolute()


Port = Annotated[int, Field(ge=1, le=65535)]
"""A TCP port number."""
Secret = Annotated[SecretStr, AfterValidator(_check_secret)]
"""A secret of at least MIN_SESSION_SECRET_LENGTH characters that is not the `.env.example` placeholder."""
AbsolutePath = Annotated[Path, AfterValidator(_check_path)]
"""A path, made absolute against the working directory at start (the project root for `make run`)."""


def settings_config() -> SettingsConfigDict:
    return SettingsConfigDict(
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )


class ServiceSettings(BaseSettings):
    """The variables every service reads; each service's Settings adds its own."""

    model_config = settings_config()

    junjo_log_level: str = "info"
    junjo_log_format: str = "json"
    junjo_session_secret: Secret | None = None
    junjo_internal_grpc_token: Annotated[SecretStr | None, AfterValidator(_check_internal_token)] = None

    @field_validator("junjo_log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.lower() not in LEVELS:
            raise ValueError("must be one of debug|info|warn|error")
        return value.lower()

    @field_validator("junjo_log_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if value.lower() not in FORMATS:
            raise ValueError("must be json or text")
        return value.lower()

    @model_validator(mode="after")
    def _check_token_source(self) -> Self:
        self.internal_token  # noqa: B018  (raises when neither the token nor the secret is set)
        return self

    @property
    def internal_token(self) -> str:
        token, secret = self.junjo_internal_grpc_token, self.junjo_session_secret
        return resolve_internal_token(
            token.get_secret_value() if token else None, secret.get_secret_value() if secret else None
        )


def describe_error(error: ValidationError) -> str:
    """One line naming each offending variable, e.g.
    `invalid configuration: JUNJO_SECURE_COOKIE_KEY: must be base64 of exactly 32 bytes`."""
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        parts.append(f"{name}: {message}" if name else message)
    return "invalid configuration: " + "; ".join(parts)
