"""The span service: asks the ingesters for the hot tiers, then runs the blocking plan in a thread.

It owns the process-wide pieces (metadata index, ingestion client, query concurrency limit) and
turns each request into one `Answer`. DataFusion work runs on a small dedicated thread pool (one
thread per concurrent query): every thread that allocates through DataFusion's allocator keeps
its own heap of pages, so funnelling queries through two threads instead of asyncio's default
pool (up to 6 here) keeps the backend inside its memory budget under load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from backend.index.indexer import Indexer, PassResult
from backend.index.store import MetadataIndex
from backend.spans import planner
from backend.spans.document import build_trace_document
from backend.spans.ingestion_client import HotTiers, Ingesters
from backend.spans.limits import TRACE_ANSWER_BYTES, TRACE_SPAN_LIMIT
from backend.spans.planner import Answer, ListQuery, SnapshotChanged

log = structlog.get_logger(__name__)
T = TypeVar("T")
MAX_CONCURRENT_QUERIES = 2
_SNAPSHOT_ATTEMPTS = 3


def _truncation(answer: Answer) -> dict[str, Any] | None:
    """The marker of a trace answer that leaves spans out, or None when it is complete."""
    if not answer.more:
        return None
    return {
        "returned_spans": len(answer.data["spans"]),
        "more_spans": answer.more,
        "next_cursor": answer.next_cursor,
        "span_limit": TRACE_SPAN_LIMIT,
        "byte_limit": TRACE_ANSWER_BYTES,
        "message": f"trace truncated, {answer.more} more spans",
    }


class SpanService:
    def __init__(self, index: MetadataIndex, client: Ingesters, indexer: Indexer) -> None:
        self.index = index
        self.client = client
        self.indexer = indexer
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_QUERIES)
        self._threads = ThreadPoolExecutor(MAX_CONCURRENT_QUERIES, thread_name_prefix="span-query")

    def close(self) -> None:
        self._threads.shutdown(wait=True)

    async def _run(self, plan: Callable[[HotTiers], Answer]) -> tuple[Answer, HotTiers]:
        """Runs `plan` with fresh hot tiers; asks again if the snapshot was replaced meanwhile."""
        tiers = HotTiers()
        for attempt in range(_SNAPSHOT_ATTEMPTS):
            tiers = await self.client.hot_tiers()
            if attempt == _SNAPSHOT_ATTEMPTS - 1:
                for snapshot in tiers.snapshots:
                    snapshot.size = -1  # accept whatever snapshot is there now
            try:
                async with self._slots:
                    answer = await asyncio.get_running_loop().run_in_executor(self._threads, plan, tiers)
            except SnapshotChanged:
                continue
            for skipped in answer.skipped:
                log.warning("query_skipped_file", path=skipped.path, reason=skipped.reason)
            return answer, tiers
        raise RuntimeError("unreachable: the last attempt accepts any snapshot")

    async def run_plan(self, plan: Callable[[HotTiers], Answer]) -> tuple[Answer, HotTiers]:
        """Runs another feature's blocking plan (e.g. the Agent list) with fresh hot tiers."""
        return await self._run(plan)

    async def services(self) -> tuple[Answer, HotTiers]:
        return await self._run(lambda tiers: planner.services(self.index, tiers))

    async def list_spans(self, query: ListQuery) -> tuple[Answer, HotTiers]:
        return await self._run(lambda t: planner.list_spans(self.index, t, query))

    async def trace_spans(
        self, trace_id: str, cursor: tuple[int, str] | None = None
    ) -> tuple[Answer, HotTiers]:
        """One bounded page of the trace (the first without `cursor`); `Answer.more` counts the rest."""
        return await self._run(lambda t: planner.trace_page(self.index, t, trace_id, cursor))

    async def one_span(self, trace_id: str, span_id: str) -> tuple[Answer, HotTiers]:
        return await self._run(lambda t: planner.one_span(self.index, t, trace_id, span_id))

    async def trace_document(self, trace_id: str, cursor: tuple[int, str] | None) -> tuple[Answer, HotTiers]:
        """The trace document of one trace page; built in the query thread, inside its slot, so
        concurrent documents stay as few as concurrent queries."""

        def plan(tiers: HotTiers) -> Answer:
            answer = planner.trace_page(self.index, tiers, trace_id, cursor)
            if answer.data:
                answer.data = build_trace_document(trace_id, answer.data)
                answer.data["truncated"] = _truncation(answer)
            return answer

        return await self._run(plan)

    async def flush_wal(self) -> dict[str, Any]:
        ok, message = await self.client.flush_wal()
        if not ok:
            return {"success": False, "message": message, "files_indexed": 0}
        result: PassResult = await self.indexer.index_now()
        count = len(result.indexed)
        return {
            "success": True,
            "message": f"WAL flush completed, {count} file(s) indexed",
            "files_indexed": count,
        }
