"""`python -m ingestion`: settings → recover WAL → serve until SIGTERM/SIGINT → final flush.

Start-up order matters: the internal port (health NOT_SERVING) comes up first, then interrupted
flushes and WAL segments are recovered, then OTLP starts accepting and health turns SERVING.
Shutdown is the reverse: stop accepting, let in-flight exports finish their fsync, seal the WAL,
flush everything to Parquet, exit 0.
"""

from __future__ import annotations

from ingestion import allocators  # noqa: F401  (Arrow's allocator, before pyarrow loads)

# isort: split
import asyncio
import contextlib
import signal
import sys

import pyarrow as pa
import structlog
from grpc_health.v1.health import aio as health_aio
from pydantic import ValidationError

from ingestion import convert, wal_read
from ingestion.auth import ApiKeyValidator
from ingestion.backpressure import Backpressure
from ingestion.cold_store import ColdStore, LocalColdStore
from ingestion.convert import Limits
from ingestion.healthcheck import COLD_STORAGE_SERVICE
from ingestion.otlp_http import HttpLimits, bind_otlp_http_socket, start_otlp_http_server
from ingestion.pipeline import TraceExport
from ingestion.server import NOT_SERVING, SERVING, InternalService, start_internal_server, start_otlp_server
from ingestion.settings import Settings
from ingestion.storage import LocalSpanStore, LocalStoreConfig
from junjo_common.bucket_health import BucketHealth
from junjo_common.logging_setup import configure_logging
from junjo_common.private_files import make_new_files_private
from junjo_common.settings import describe_error

log = structlog.get_logger("ingestion")


async def serve(settings: Settings) -> None:
    http_socket = bind_otlp_http_socket(settings.otlp_http_port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    cold: ColdStore = LocalColdStore(settings.parquet_output_dir)
    if settings.object_store is not None:
        from ingestion.cold_store_s3 import ObjectColdStore

        cold = ObjectColdStore(settings.parquet_output_dir, settings.object_store)
    store = LocalSpanStore(
        LocalStoreConfig(
            wal_dir=settings.wal_dir,
            parquet_dir=settings.parquet_output_dir,
            snapshot_path=settings.snapshot_path,
            segment_max_bytes=settings.wal_segment_max_bytes,
            flush_max_bytes=settings.flush_max_bytes,
            flush_max_age_secs=settings.flush_max_age_secs,
            recent_cold_max_files=settings.recent_cold_max_files,
            recent_cold_max_age_secs=settings.recent_cold_max_age_secs,
            snapshot_cache_ttl_secs=settings.snapshot_cache_ttl_secs,
        ),
        cold,
    )
    health = health_aio.HealthServicer()
    await health.set("", NOT_SERVING)
    internal = await start_internal_server(
        settings.internal_grpc_port, settings.internal_token, InternalService(store), health
    )
    await store.open()

    async def storage_health(serving: bool) -> None:  # NOT_SERVING while WAL writes fail
        await health.set("", SERVING if serving else NOT_SERVING)

    store.on_health = storage_health
    bucket_watch = await _watch_bucket(settings, health)

    validator = ApiKeyValidator(
        settings.backend_target,
        settings.internal_token,
        settings.junjo_api_key_cache_ttl_seconds,
        settings.junjo_api_key_cache_max_entries,
        settings.junjo_api_key_validation_max_concurrency,
        settings.api_key_validation_timeout_secs,
        settings.junjo_api_key_invalid_cache_ttl_seconds,
        settings.junjo_api_key_invalid_cache_max_entries,
    )
    backpressure = Backpressure(
        settings.backpressure_max_bytes,
        settings.backpressure_max_rss_bytes,
        store.unflushed_bytes,
        flush_failure=store.flush_failure,
    )
    backpressure.sample()  # the first export already sees the current state
    limits = Limits(
        attribute_value_bytes=settings.otlp_max_attribute_value_bytes,
        attributes_per_span=settings.otlp_max_attributes_per_span,
        events_per_span=settings.otlp_max_events_per_span,
        span_bytes=settings.otlp_max_span_bytes,
        resource_bytes_x_spans=settings.otlp_max_resource_bytes_x_spans,
    )
    export = TraceExport(validator, store, backpressure, settings.batch_size, limits)
    otlp = await start_otlp_server(
        settings.otlp_grpc_port, export, settings.otlp_max_receive_bytes, settings.otlp_max_concurrent_rpcs
    )
    http_limits = HttpLimits(
        max_protobuf_bytes=settings.otlp_max_receive_bytes,
        max_json_bytes=min(settings.otlp_http_max_json_bytes, settings.otlp_max_receive_bytes),
        max_inflight_bytes=settings.otlp_http_max_inflight_bytes,
    )
    otlp_http = await start_otlp_http_server(http_socket, export, http_limits, settings.browser_origins)
    sampler = loop.create_task(backpressure.run())
    await health.set("", SERVING if store.failure is None else NOT_SERVING)
    log.info(
        "ingestion_started",
        otlp_port=settings.otlp_grpc_port,
        otlp_http_port=settings.otlp_http_port,
        internal_port=settings.internal_grpc_port,
        wal_dir=str(settings.wal_dir),
        parquet_dir=str(settings.parquet_output_dir),
        object_store=settings.junjo_object_store_url,
        converter="compiled" if convert.COMPILED else "python",
        segment_reader="compiled" if wal_read.COMPILED else "python",
        arrow_pool=pa.default_memory_pool().backend_name,
    )
    if not convert.COMPILED:
        log.warning(
            "compiled_converter_missing",
            hint="build ingestion/_fastconvert.c (make, or pip install -e .): conversion is much cheaper",
        )
    if not wal_read.COMPILED:
        log.warning(
            "compiled_segment_reader_missing",
            hint="build ingestion/_segread.c (make, or pip install -e .): flushes then read whole "
            "WAL chunks, which costs memory",
        )

    await stop.wait()
    log.info("ingestion_stopping")
    store.on_health = None
    await health.set("", NOT_SERVING)
    # in-flight exports finish (and are acknowledged) first
    await asyncio.gather(otlp.stop(grace=10), otlp_http.stop(grace=10))
    for task in (sampler, bucket_watch):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    files = await store.close()  # seals the WAL and flushes everything to Parquet
    await validator.close()
    await internal.stop(grace=1)
    log.info("ingestion_stopped", flushed_files=len(files))


async def _watch_bucket(settings: Settings, health: health_aio.HealthServicer) -> asyncio.Task[None] | None:
    """With the cold tier in a bucket, the health service `cold_storage` says whether it answers
    (the overall status stays about taking spans: they wait in the WAL meanwhile)."""
    if settings.object_store is None:
        return None

    async def report(reachable: bool) -> None:
        await health.set(COLD_STORAGE_SERVICE, SERVING if reachable else NOT_SERVING)

    bucket = BucketHealth(settings.object_store, on_change=report)
    await report(bucket.reachable)
    return asyncio.get_running_loop().create_task(bucket.run(), name="bucket-health")


def main() -> int:
    make_new_files_private()
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        return 2
    configure_logging(settings.junjo_log_level, settings.junjo_log_format, service="ingestion")
    try:
        asyncio.run(serve(settings))
    except OSError as exc:
        print(f"ingestion: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
