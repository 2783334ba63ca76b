"""Backpressure: answer RESOURCE_EXHAUSTED (which OTLP exporters retry) while the service is behind.

Pressure is on when unflushed WAL bytes exceed BACKPRESSURE_MAX_MB (the flush has fallen behind)
or the process RSS exceeds BACKPRESSURE_MAX_RSS_MB (memory); it clears by itself once a flush
catches up or memory is released. A sampler task
updates one flag every 500 ms so Export pays a single attribute read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psutil
import structlog

log = structlog.get_logger("ingestion.backpressure")

MESSAGE = "Server under memory pressure, please retry later"
SAMPLE_INTERVAL_SECS = 0.5


class Backpressure:
    def __init__(
        self,
        max_bytes: int,
        max_rss_bytes: int,
        unflushed_bytes: Callable[[], int],
        rss_bytes: Callable[[], int] | None = None,
    ) -> None:
        self.max_bytes, self.max_rss_bytes = max_bytes, max_rss_bytes
        self._unflushed = unflushed_bytes
        process = psutil.Process()
        self._rss = rss_bytes or (lambda: process.memory_info().rss)
        self.active = False
        self.reason = ""

    def sample(self) -> bool:
        wal, rss = self._unflushed(), self._rss()
        reason = ""
        if wal > self.max_bytes:
            reason = f"unflushed WAL {wal >> 20} MiB > {self.max_bytes >> 20} MiB"
        elif rss > self.max_rss_bytes:
            reason = f"RSS {rss >> 20} MiB > {self.max_rss_bytes >> 20} MiB"
        if bool(reason) != self.active:
            log.warning("backpressure_on", reason=reason) if reason else log.info("backpressure_off")
        self.active, self.reason = bool(reason), reason
        return self.active

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL_SECS)
