"""Whether the cold tier's bucket answers, for both services' health: ingestion's grpc.health.v1
service `cold_storage`, the backend's /health and /ready.

Without it an unreachable bucket only shows later and elsewhere: as failing flushes, then
backpressure, in ingestion; as files skipped by queries and an indexer that finds nothing new, in
the backend. A probe is one LIST of a prefix that holds nothing (`<prefix>/.probe/`): the same
endpoint, credentials and bucket as every other request, no data read. It has short timeouts and
no retries, so a dead endpoint is reported within seconds; it runs every PROBE_INTERVAL_SECS while
the bucket answers and every FAILING_PROBE_INTERVAL_SECS while it does not, so recovery is seen as
soon, by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from junjo_common.object_store import ObjectStoreConfig

log = structlog.get_logger("junjo.bucket_health")

PROBE_INTERVAL_SECS = 10.0
FAILING_PROBE_INTERVAL_SECS = 2.0
PROBE_TIMEOUT = "5s"
PROBE_CONNECT_TIMEOUT = "2s"
PROBE_PREFIX = ".probe/"


class BucketHealth:
    """The bucket's state as the last probe saw it; reachable until a probe says otherwise."""

    def __init__(
        self,
        config: ObjectStoreConfig,
        on_change: Callable[[bool], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.on_change = on_change
        self.reachable = True
        self.error: str | None = None
        self._client = config.client(
            timeout=PROBE_TIMEOUT, connect_timeout=PROBE_CONNECT_TIMEOUT, max_retries=0
        )
        self._since = time.monotonic()

    async def probe(self) -> bool:
        """One probe; updates the state (and logs and reports a change)."""
        import obstore  # only the object-storage mode needs it

        try:
            await obstore.list_with_delimiter_async(self._client, PROBE_PREFIX)
        except Exception as exc:  # obstore raises its own errors for HTTP and connection failures
            error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            await self._set(False, error)
            return False
        await self._set(True, None)
        return True

    async def _set(self, reachable: bool, error: str | None) -> None:
        changed = reachable != self.reachable
        self.reachable, self.error = reachable, error
        if not changed:
            return
        store = f"s3://{self.config.bucket}"
        if reachable:
            log.info("cold_storage_reachable", store=store, seconds=round(time.monotonic() - self._since, 3))
        else:
            log.error("cold_storage_unreachable", store=store, error=error)
        self._since = time.monotonic()
        if self.on_change is not None:
            await self.on_change(reachable)

    async def run(self) -> None:
        """Probes until cancelled, the first time at once."""
        while True:
            await self.probe()
            await asyncio.sleep(PROBE_INTERVAL_SECS if self.reachable else FAILING_PROBE_INTERVAL_SECS)
