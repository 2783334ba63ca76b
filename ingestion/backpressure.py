"""Backpressure: answer RESOURCE_EXHAUSTED (which OTLP exporters retry) while the service is behind.

Pressure is on when unflushed WAL bytes exceed BACKPRESSURE_MAX_MB (the flush has fallen behind,
or is failing) or the process RSS exceeds BACKPRESSURE_MAX_RSS_MB (memory); it clears by itself
once a flush catches up or memory is released. The message tells the client which of these it is.
A sampler task updates the state every 500 ms so Export pays a single attribute read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psutil
import structlog

log = structlog.get_logger("ingestion.backpressure")

SAMPLE_INTERVAL_SECS = 0.5


class Backpressure:
    def __init__(
        self,
        max_bytes: int,
        max_rss_bytes: int,
        unflushed_bytes: Callable[[], int],
        rss_bytes: Callable[[], int] | None = None,
        flush_failure: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.max_bytes, self.max_rss_bytes = max_bytes, max_rss_bytes
        self._unflushed = unflushed_bytes
        self._flush_failure = flush_failure
        process = psutil.Process()
        self._rss = rss_bytes or (lambda: process.memory_info().rss)
        self.active = False
        self.reason = ""

    @property
    def message(self) -> str:
        return f"Server under pressure ({self.reason}), please retry later"

    def sample(self) -> bool:
        wal, rss = self._unflushed(), self._rss()
        reason = ""
        if wal > self.max_bytes:
            failure = self._flush_failure()
            behind = f"flush failing: {failure}" if failure else "flush falling behind"
            reason = f"unflushed WAL {wal >> 20} MiB > {self.max_bytes >> 20} MiB, {behind}"
        elif rss > self.max_rss_bytes:
            reason = f"memory: RSS {rss >> 20} MiB > {self.max_rss_bytes >> 20} MiB"
        if bool(reason) != self.active:
            log.warning("backpressure_on", reason=reason) if reason else log.info("backpressure_off")
        self.active, self.reason = bool(reason), reason
        return self.active

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL_SECS)
