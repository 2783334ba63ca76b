"""Start-up and shutdown of the span feature: index, ingestion client, indexer task, service, and
with the cold tier in a bucket, its health probe (`app.state.bucket_health`, read by /health)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from backend.index.cold import ColdFiles, LocalColdFiles, ObjectColdFiles
from backend.index.indexer import Indexer
from backend.index.retention import RetentionPolicy
from backend.index.store import MetadataIndex
from backend.settings import Settings
from backend.spans import engine
from backend.spans.ingestion_client import Ingesters
from backend.spans.service import SpanService
from junjo_common.bucket_health import BucketHealth


@contextlib.asynccontextmanager
async def spans_lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    postgres_url = settings.junjo_database_url.get_secret_value() if settings.junjo_database_url else None
    index = await asyncio.to_thread(MetadataIndex, settings.junjo_metadata_db_path, postgres_url)
    client = Ingesters(
        settings.ingestion_target_list,
        settings.internal_token,
        settings.hot_tier_transfer,
        settings.hot_tier_max_mb * 1024 * 1024,
    )
    cold: ColdFiles = LocalColdFiles(settings.junjo_parquet_storage_path)
    bucket = app.state.bucket_health = None
    if settings.object_store is not None:
        cold = ObjectColdFiles(settings.object_store)
        engine.use_object_store(cold)
        bucket = app.state.bucket_health = BucketHealth(settings.object_store)
    indexer = Indexer(
        index,
        cold,
        settings.indexer_poll_interval,
        RetentionPolicy.from_settings(settings.junjo_retention_days, settings.junjo_retention_max_gb),
    )
    service = app.state.span_service = SpanService(index, client, indexer)
    tasks = [asyncio.create_task(indexer.run(), name="parquet-indexer")]
    if bucket is not None:
        tasks.append(asyncio.create_task(bucket.run(), name="bucket-health"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()
        await asyncio.to_thread(service.close)
        index.close()
        engine.use_object_store(None)
