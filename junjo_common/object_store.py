"""The cold tier on S3-compatible object storage: the settings both services read, and the client.

With `JUNJO_OBJECT_STORE_URL=s3://bucket/prefix` ingestion uploads its Parquet files there and the
backend lists, reads (range requests) and deletes them; unset, both use the local directory. The
connection comes from the standard AWS variables (AWS_ENDPOINT_URL for a non-AWS server such as
MinIO, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). The client is obstore (the Rust
`object_store` crate DataFusion itself reads through).

Objects are named `<prefix>/year=YYYY/month=MM/day=DD/<file name>`: the same relative path the
file has under the local Parquet directory, so a name is decided before anything is uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, field_validator

from junjo_common.settings import check_http_url

SCHEME = "s3://"
# Each request is retried by the client (with backoff) for at most this long; then the caller
# sees the error (a flush fails and is retried later, the indexer retries on its next pass).
REQUEST_TIMEOUT = "30s"
CONNECT_TIMEOUT = "5s"
RETRY_TIMEOUT_SECS = 20


@dataclass(frozen=True)
class ObjectStoreConfig:
    bucket: str
    prefix: str  # without leading or trailing "/", may be empty
    endpoint: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None = field(repr=False)

    def url(self, key: str) -> str:
        """The location of an object (what the index and the query layer name it by)."""
        return f"{SCHEME}{self.bucket}/{self.key(key)}"

    def key(self, relative: str) -> str:
        """The object key of a path relative to the prefix."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def relative(self, location: str) -> str | None:
        """The path under the prefix of an object location, or None when it is not one of ours."""
        root = f"{SCHEME}{self.bucket}/" + (f"{self.prefix}/" if self.prefix else "")
        return location[len(root) :] if location.startswith(root) else None

    def client(
        self,
        timeout: str = REQUEST_TIMEOUT,
        connect_timeout: str = CONNECT_TIMEOUT,
        max_retries: int = 3,
    ) -> Any:
        """An obstore S3Store scoped to the prefix (imported here: only this mode needs it)."""
        from datetime import timedelta

        from obstore.store import S3Store

        config: dict[str, str] = {"region": self.region}
        if self.endpoint:
            config["endpoint"] = self.endpoint
        if self.access_key_id and self.secret_access_key:
            config["access_key_id"] = self.access_key_id
            config["secret_access_key"] = self.secret_access_key
        return S3Store(
            self.bucket,
            prefix=self.prefix or None,
            config=cast(Any, config),  # obstore's S3Config: a TypedDict of these keys
            client_options={
                "allow_http": bool(self.endpoint and self.endpoint.startswith("http://")),
                "timeout": timeout,
                "connect_timeout": connect_timeout,
            },
            retry_config={"max_retries": max_retries, "retry_timeout": timedelta(seconds=RETRY_TIMEOUT_SECS)},
        )


class ObjectStoreSettings(BaseModel):
    """The variables of the object-storage cold tier (both services' Settings include them)."""

    junjo_object_store_url: str | None = None
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None

    @field_validator("junjo_object_store_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "s3" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be s3://bucket or s3://bucket/prefix")
        return value.strip().rstrip("/")

    @field_validator("aws_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @property
    def object_store(self) -> ObjectStoreConfig | None:
        """The bucket to keep cold files in, or None: the local directory."""
        if self.junjo_object_store_url is None:
            return None
        parts = urlsplit(self.junjo_object_store_url)
        secret = self.aws_secret_access_key
        return ObjectStoreConfig(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint=self.aws_endpoint_url,
            region=self.aws_region,
            access_key_id=self.aws_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
