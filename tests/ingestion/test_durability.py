"""Durability of the real process: SIGKILL under load, a torn segment, and flushes that never stall.

"Acknowledged" means the Export call returned OK to the client. Every acknowledged span must be
found exactly once afterwards; spans whose export failed (the process died first) may be found
once or not at all, never twice.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from ingestion.convert import convert_request
from ingestion.wal import segment_name
from junjo_common.spanformat import v2
from tests.ingestion.conftest import Ingestion
from tests.ingestion.workload import make_request


class Load:
    """Concurrent OTLP clients sending unique 100-span requests until stopped."""

    def __init__(self, ing: Ingestion, clients: int = 4, spans: int = 100) -> None:
        self.ing, self.spans = ing, spans
        self._seq = itertools.count(0, spans)
        self._lock = threading.Lock()
        self.acked: list[int] = []
        self.failed: list[int] = []
        self.latencies: list[tuple[float, float]] = []  # (start, end) of acknowledged exports
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _run(self) -> None:
        stub = trace_service_pb2_grpc.TraceServiceStub(self.ing.channel())
        metadata = (("x-junjo-api-key", self.ing.key),)
        while not self._stop.is_set():
            with self._lock:
                first = next(self._seq)
            request = make_request(first, self.spans)
            started = time.monotonic()
            try:
                stub.Export(request, metadata=metadata, timeout=10)
            except grpc.RpcError:
                with self._lock:
                    self.failed.append(first)
                time.sleep(0.05)
                continue
            with self._lock:
                self.acked.append(first)
                self.latencies.append((started, time.monotonic()))

    def span_ids(self, firsts: list[int]) -> set[str]:
        return {(first + i + 1).to_bytes(8, "big").hex() for first in firsts for i in range(self.spans)}


def stored_counts(ing: Ingestion, with_snapshot: bool = True) -> Counter[str]:
    """Span ids in the store as a reader sees it (see Ingestion.stored_table for the protocol)."""
    ids = ing.stored_table(["span_id"]) if with_snapshot else ing.cold_table(["span_id"])
    return Counter(ids["span_id"].to_pylist())


def assert_exactly_once(load: Load, counts: Counter[str]) -> None:
    acked = load.span_ids(load.acked)
    missing = acked - counts.keys()
    duplicated = {k: n for k, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} acknowledged spans lost"
    assert not duplicated, f"{len(duplicated)} spans stored more than once"
    assert counts.keys() <= acked | load.span_ids(load.failed)


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_span(ingestion_factory) -> None:
    # Small segments and flushes so kills land in every phase: writes, seals, flushes, deletes.
    ing = ingestion_factory(WAL_SEGMENT_MAX_MB="1", FLUSH_MAX_MB="2").start()
    rng = random.Random(3)
    with Load(ing) as load:
        for _round in range(4):
            time.sleep(rng.uniform(1.0, 2.5))
            assert ing.proc is not None
            ing.proc.kill()  # SIGKILL
            ing.start()  # recovery runs before health turns SERVING
        time.sleep(1.0)
    assert len(load.acked) > 20 and load.failed, (len(load.acked), len(load.failed))
    assert_exactly_once(load, stored_counts(ing))  # cold Parquet + hot snapshot after restarts
    assert ing.proc is not None
    assert ing.proc.stop() == 0  # SIGTERM: everything goes cold
    assert_exactly_once(load, stored_counts(ing, with_snapshot=False))


def _segment_bytes(first: int, requests: int, torn: bool = False) -> bytes:
    out = [v2.BATCH_SCHEMA.serialize().to_pybytes()]
    for r in range(requests):
        out += [
            b.serialize().to_pybytes()
            for b in convert_request(make_request(first + r * 100).SerializeToString()).batches
        ]
    if torn:
        out[-1] = out[-1][: len(out[-1]) // 2]
    return b"".join(out)


def test_torn_segment_is_recovered_at_start(ingestion_factory) -> None:
    ing = ingestion_factory()
    wal = Path(ing.env["WAL_DIR"])
    wal.mkdir(parents=True)
    (wal / (segment_name(3) + ".open")).write_bytes(_segment_bytes(0, 4, torn=True))
    ing.start()
    counts = stored_counts(ing)
    expected = {(i + 1).to_bytes(8, "big").hex() for i in range(300)}
    assert set(counts) == expected and set(counts.values()) == {1}
    assert "wal_torn_tail_dropped" in (ing.proc.log() if ing.proc else "")


def test_exports_continue_during_a_long_flush(ingestion_factory) -> None:
    ing = ingestion_factory(FLUSH_MAX_MB="48", BACKPRESSURE_MAX_MB="4000", BACKPRESSURE_MAX_RSS_MB="4000")
    wal = Path(ing.env["WAL_DIR"])
    wal.mkdir(parents=True)
    segment = _segment_bytes(10_000_000, 12) + b"\xff\xff\xff\xff\x00\x00\x00\x00"
    for seq in range(1, 41):  # a genuinely large WAL: 40 sealed segments, ~48k spans, ~150 MB
        (wal / segment_name(seq)).write_bytes(segment)
    ing.start()
    flush_window: list[float] = []

    def flush() -> None:
        flush_window.append(time.monotonic())
        ing.flush()
        flush_window.append(time.monotonic())

    with Load(ing, clients=2) as load:
        flusher = threading.Thread(target=flush)
        flusher.start()
        flusher.join(300)
    assert len(flush_window) == 2, "FlushWAL did not finish"
    start, end = flush_window
    during = [lat for lat in load.latencies if lat[0] >= start and lat[1] <= end]
    assert len(during) >= 5, f"only {len(during)} exports acknowledged during a {end - start:.1f}s flush"
    assert not [segment_name(s) for s in range(1, 41) if (wal / segment_name(s)).exists()]
    counts = stored_counts(ing)
    assert load.span_ids(load.acked) <= counts.keys()
