"""Backend configuration from the environment, validated once at start.

Every field is read from an environment variable of the same name (the rules both services share
are in junjo_common/settings.py; docs/CONFIGURATION.md says how they are read). A bad value must
stop the service before it binds a port, with one line that names the variable: `python -m backend`
turns the ValidationError into that line.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from junjo_common.object_store import ObjectStoreSettings
from junjo_common.origins import default_origins, parse_origins
from junjo_common.settings import AbsolutePath, Port, Secret, ServiceSettings, check_http_url

DEV_OTLP_ENDPOINT = "grpc://localhost:50051"
_PROD_URLS = ("junjo_prod_frontend_url", "junjo_prod_backend_url", "junjo_prod_ingestion_url")


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


@lru_cache(maxsize=1)
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # bundled list: no network


def registrable_domain(url: str) -> str:
    """eTLD+1 of a URL's host (`api.example.co.uk` -> `example.co.uk`); the host itself if none."""
    host = (urlsplit(url).hostname or "").lower()
    return _public_suffixes().privatesuffix(host) or host


class Settings(ServiceSettings, ObjectStoreSettings):
    """With JUNJO_OBJECT_STORE_URL the cold files are read from (and deleted in) the bucket;
    JUNJO_PARQUET_STORAGE_PATH is then unused."""

    junjo_env: Literal["development", "production"] = "development"
    junjo_session_secret: Secret
    junjo_secure_cookie_key: SecretStr
    junjo_allow_origins: Annotated[list[str] | None, NoDecode] = None

    junjo_prod_frontend_url: str | None = None
    junjo_prod_backend_url: str | None = None
    junjo_prod_ingestion_url: str | None = None

    port: Port = 1323
    grpc_port: Port = 50053
    ingestion_host: str = "localhost"
    ingestion_port: Port = 50052
    # Several ingesters: their internal endpoints, `host:port,...` (default: INGESTION_HOST:INGESTION_PORT).
    ingestion_targets: Annotated[list[str] | None, NoDecode] = None
    # How the unflushed spans reach the backend: the snapshot file on a shared disk ("path"), or the
    # spans themselves over gRPC ("stream"), at most HOT_TIER_MAX_MB per ingester and query.
    hot_tier_transfer: Literal["path", "stream"] = "path"
    hot_tier_max_mb: int = Field(256, ge=1, le=16 * 1024)
    run_migrations: bool = False

    junjo_sqlite_path: AbsolutePath = Path(".dbdata/sqlite/junjo.db")
    # Accounts, keys, tokens, evaluations and the file index in PostgreSQL instead of the SQLite
    # files (several backends sharing one state); a secret because it usually carries a password.
    junjo_database_url: SecretStr | None = None
    junjo_metadata_db_path: AbsolutePath = Path(".dbdata/sqlite/metadata.db")
    junjo_parquet_storage_path: AbsolutePath = Path(".dbdata/spans/parquet")
    junjo_retention_days: float | None = Field(None, gt=0)
    junjo_retention_max_gb: float | None = Field(None, gt=0)
    indexer_poll_interval: float = Field(2.0, gt=0, le=3600)

    gemini_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    gemini_base_url: str | None = None
    llm_request_timeout_secs: float = Field(60.0, gt=0, le=3600)

    @field_validator("junjo_secure_cookie_key")
    @classmethod
    def _check_cookie_key(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("must be base64 of exactly 32 bytes (generate with `openssl rand -base64 32`)")
        return value

    @field_validator("junjo_database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme != "postgresql+psycopg" or not parts.path.strip("/"):
            raise ValueError(
                "must start with postgresql+psycopg:// and name a database "
                "(postgresql+psycopg://user:password@host:5432/junjo)"
            )
        return SecretStr(value.get_secret_value().strip())

    @field_validator("junjo_allow_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> list[str] | None:
        return parse_origins(value)

    @field_validator(*_PROD_URLS)
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.junjo_env != "production":
            return self
        for name in _PROD_URLS:
            if getattr(self, name) is None:
                raise ValueError(f"{name.upper()} is required when JUNJO_ENV=production")
        frontend, backend = self.junjo_prod_frontend_url or "", self.junjo_prod_backend_url or ""
        if registrable_domain(frontend) != registrable_domain(backend):
            raise ValueError(
                "JUNJO_PROD_FRONTEND_URL and JUNJO_PROD_BACKEND_URL must share a registrable domain "
                f"(got {registrable_domain(frontend)!r} and {registrable_domain(backend)!r}): "
                "the session cookie is SameSite=Strict"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.junjo_env == "production"

    @property
    def allow_origins(self) -> list[str]:
        """CORS and CSRF allow-list: explicit, else the frontend URL (production) or the dev ports."""
        return self.junjo_allow_origins or default_origins(self.is_production, self.junjo_prod_frontend_url)

    @property
    def database_url(self) -> str:
        """The application database's SQLAlchemy URL: JUNJO_DATABASE_URL, else the SQLite file."""
        if self.junjo_database_url is not None:
            return self.junjo_database_url.get_secret_value()
        return sqlite_url(self.junjo_sqlite_path)

    @property
    def otlp_endpoint(self) -> str:
        return self.junjo_prod_ingestion_url or DEV_OTLP_ENDPOINT

    @field_validator("ingestion_targets", mode="before")
    @classmethod
    def _split_targets(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        targets = [t.strip() for t in value.split(",") if t.strip()]
        for target in targets:
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{target!r} is not host:port")
        if len(set(targets)) != len(targets):
            raise ValueError("lists an ingester twice")
        return targets or None

    @property
    def ingestion_target_list(self) -> list[str]:
        """host:port of every ingester's internal gRPC server (hot tiers, FlushWAL)."""
        return self.ingestion_targets or [f"{self.ingestion_host}:{self.ingestion_port}"]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # required fields come from the environment
