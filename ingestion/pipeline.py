"""The export pipeline both OTLP transports share (gRPC on OTLP_GRPC_PORT, HTTP on OTLP_HTTP_PORT).

Order: storage failing → backpressure → API key present → API key valid (admit) → convert → durable WAL append
(group commit) → response (ingest). A transport admits a request before it reads or parses the
body, then hands the `ExportTraceServiceRequest` protobuf bytes to `ingest`; whatever it returns
has been fsync'd. Refusals carry a transport-neutral reason that each transport maps to its own
status (gRPC code, HTTP status), so both answer the same situation the same way. A storage
failure is refused by its cause (a full disk, or writes failing: read-only, I/O errors) and held
until a test write succeeds; it is never INTERNAL, which OTLP exporters do not retry.
Conversion runs on the event loop: it is pure CPU under the GIL, so a thread would only add
hand-offs; the fsync happens in the WAL thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import structlog
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ingestion.auth import ApiKeyValidator, Verdict
from ingestion.backpressure import Backpressure
from ingestion.convert import InvalidRequest, Limits, convert_request
from ingestion.disk import WriteFailure
from ingestion.storage import SpanStore

log = structlog.get_logger("ingestion.pipeline")

MISSING_KEY_MESSAGE = "Missing x-junjo-api-key header"


class Refusal(enum.Enum):
    """Why an export stored nothing."""

    OVERLOADED = "overloaded"  # backpressure: retry later
    DISK_FULL = "disk_full"  # the WAL's file system is full: retry later
    STORAGE_FAILING = "storage_failing"  # WAL writes fail (read-only, I/O errors): retry later
    MISSING_KEY = "missing_key"
    INVALID_KEY = "invalid_key"
    AUTH_UNAVAILABLE = "auth_unavailable"  # the backend cannot be asked: retry later
    AUTH_SATURATED = "auth_saturated"  # too many validations in flight: retry later
    INVALID_REQUEST = "invalid_request"
    INTERNAL = "internal"


class ExportRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


_VERDICT_REFUSALS = {
    Verdict.INVALID: (Refusal.INVALID_KEY, "Invalid API key"),
    Verdict.UNAVAILABLE: (Refusal.AUTH_UNAVAILABLE, "API key validation service unavailable"),
    Verdict.SATURATED: (Refusal.AUTH_SATURATED, "API key validation capacity temporarily exhausted"),
}


@dataclass(frozen=True)
class Stored:
    """What an acknowledged export kept: every span but `rejected` ones (see `error_message`)."""

    rejected: int = 0
    error_message: str = ""

    def response(self) -> trace_service_pb2.ExportTraceServiceResponse:
        response = trace_service_pb2.ExportTraceServiceResponse()
        if self.rejected:
            response.partial_success.rejected_spans = self.rejected
            response.partial_success.error_message = self.error_message
        return response


class TraceExport:
    """The OTLP Export pipeline: `admit(key)` then `ingest(request bytes)`."""

    def __init__(
        self,
        validator: ApiKeyValidator,
        store: SpanStore,
        backpressure: Backpressure,
        batch_size: int,
        limits: Limits,
    ) -> None:
        self.validator, self.store, self.backpressure = validator, store, backpressure
        self.batch_size, self.limits = batch_size, limits

    async def admit(self, key: str) -> None:
        """Raises ExportRefused unless the service takes work now and `key` is a valid API key."""
        failure = self.store.failure
        if failure is not None:
            raise _storage_refusal(failure)
        if self.backpressure.active:
            raise ExportRefused(Refusal.OVERLOADED, self.backpressure.message)
        if not key:
            raise ExportRefused(Refusal.MISSING_KEY, MISSING_KEY_MESSAGE)
        verdict = await self.validator.validate(key)
        if verdict is not Verdict.VALID:
            raise ExportRefused(*_VERDICT_REFUSALS[verdict])

    async def ingest(self, request: bytes) -> Stored:
        """Converts and durably stores an admitted request; raises ExportRefused if nothing was."""
        if not request:
            return Stored()
        try:
            converted = convert_request(request, self.batch_size, self.limits)
        except InvalidRequest as exc:
            raise ExportRefused(Refusal.INVALID_REQUEST, str(exc)) from None
        except Exception:  # a converter bug must cost one request, not the process or a vague error
            log.exception("conversion_failed", request_bytes=len(request))
            raise ExportRefused(Refusal.INTERNAL, "Failed to convert spans") from None
        if converted.batches:
            try:
                await self.store.write(converted.batches)
            except OSError as exc:
                raise _storage_refusal(WriteFailure.of(exc)) from None
        if converted.rejected:
            log.info("spans_rejected", count=converted.rejected, message=converted.error_message)
        return Stored(converted.rejected, converted.error_message)


def _storage_refusal(failure: WriteFailure) -> ExportRefused:
    return ExportRefused(Refusal.DISK_FULL if failure.disk_full else Refusal.STORAGE_FAILING, failure.message)
