"""Faults an operator's machine meets, against the real ingestion process and the SDK's OTLP exporter.

Each test drives `python -m ingestion` on loopback with OpenTelemetry's own OTLP/gRPC exporter
(which retries RESOURCE_EXHAUSTED and UNAVAILABLE, and drops a batch on INTERNAL), injects one
fault, and checks three things: the exact statuses the exporter saw (a failing disk is named,
never INTERNAL), what health said meanwhile, and that every acknowledged span id is stored exactly
once afterwards (in the Parquet files after a clean stop). A span the exporter gave up on may be
stored once or not at all, never twice. Faults that need mounts (a full disk, a read-only
directory) need root with mount rights and are skipped, visibly, without them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from ingestion.healthcheck import check
from junjo_common.spanformat import CURRENT as span_format
from tests.ingestion.conftest import Backend, Ingestion
from tests.support.api import ApiClient
from tests.support.stack import Stack, start_backend

SPANS_PER_EXPORT = 100
STATE = '{"messages": [' + ", ".join(f'"message {i} with some words in it"' for i in range(40)) + "]}"


def _can_mount() -> bool:
    """Root, and allowed to mount (a root without CAP_SYS_ADMIN, e.g. in a container, is not)."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as probe:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], capture_output=True
        )
        if mounted.returncode != 0:
            return False
        subprocess.run(["umount", probe], check=False)
    return True


needs_mount = pytest.mark.skipif(
    not _can_mount(),
    reason="mounting a small tmpfs or a read-only bind mount needs root with mount rights (CI has them)",
)


class RecordingExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC exporter, recording the status of every call it makes (retries too)."""

    def __init__(self, endpoint: str, api_key: str, timeout: float, statuses: list[tuple[str, str]]) -> None:
        self.statuses = statuses  # in the order answers arrive, shared by a Load's exporters
        super().__init__(
            endpoint=endpoint, insecure=True, headers=(("x-junjo-api-key", api_key),), timeout=timeout
        )

    def _initialize_channel_and_stub(self) -> None:  # also called when the SDK reconnects
        super()._initialize_channel_and_stub()
        self._client = _RecordingStub(self._client, self.statuses)


class _RecordingStub:
    def __init__(self, stub: Any, statuses: list[tuple[str, str]]) -> None:
        self._stub, self._statuses = stub, statuses

    def Export(self, *args: Any, **kwargs: Any) -> Any:
        try:
            reply = self._stub.Export(*args, **kwargs)
        except grpc.RpcError as exc:
            self._statuses.append((exc.code().name, exc.details() or ""))  # type: ignore[attr-defined]
            raise
        self._statuses.append(("OK", ""))
        return reply


def span_id_hex(n: int) -> str:
    return n.to_bytes(8, "big").hex()


def make_spans(first: int, count: int = SPANS_PER_EXPORT) -> list[ReadableSpan]:
    """Spans with ids first+1 .. first+count (~2 KB each, like the standard workload)."""
    resource = Resource.create({"service.name": "faults"})
    now = time.time_ns()
    spans = []
    for n in range(first + 1, first + count + 1):
        context = SpanContext(trace_id=(n // 10) + 1, span_id=n, is_remote=False, trace_flags=TraceFlags(1))
        spans.append(
            ReadableSpan(
                name=f"step {n % 17}",
                context=context,
                resource=resource,
                attributes={"junjo.state": STATE, "n": n},
                kind=SpanKind.INTERNAL,
                start_time=now,
                end_time=now + 1000,
            )
        )
    return spans


class Load:
    """Threads exporting unique spans through their own RecordingExporter until stopped."""

    def __init__(self, ing: Ingestion, clients: int = 2, timeout: float = 6.0, pause: float = 0.02) -> None:
        self._next = itertools.count(0, SPANS_PER_EXPORT)
        self._lock = threading.Lock()
        endpoint = ing.stack.otlp_endpoint
        self._statuses: list[tuple[str, str]] = []
        self.exporters = [
            RecordingExporter(endpoint, ing.key, timeout, self._statuses) for _ in range(clients)
        ]
        self.acked: list[int] = []
        self.failed: list[int] = []
        self.pause = pause
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(e,), daemon=True) for e in self.exporters]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.ident is not None:  # started
                t.join(60)

    def _run(self, exporter: RecordingExporter) -> None:
        while not self._stop.is_set():
            with self._lock:
                first = next(self._next)
            result = exporter.export(make_spans(first))
            with self._lock:
                (self.acked if result is SpanExportResult.SUCCESS else self.failed).append(first)
            time.sleep(self.pause)

    def export_once(self) -> SpanExportResult:
        """One more export from this thread (after the load threads stopped or between phases)."""
        with self._lock:
            first = next(self._next)
        result = self.exporters[0].export(make_spans(first))
        (self.acked if result is SpanExportResult.SUCCESS else self.failed).append(first)
        return result

    def statuses(self) -> list[tuple[str, str]]:
        """(code, details) of every call any exporter made, in the order the answers came."""
        return list(self._statuses)

    def codes(self) -> Counter[str]:
        return Counter(code for code, _ in self.statuses())

    @staticmethod
    def ids(firsts: list[int]) -> set[str]:
        return {span_id_hex(f + i + 1) for f in firsts for i in range(SPANS_PER_EXPORT)}


class HealthWatch:
    """Samples grpc.health.v1 every 100 ms: (monotonic time, serving) pairs."""

    def __init__(self, ing: Ingestion) -> None:
        self.ing = ing
        self.samples: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def serving(self) -> bool:
        return check(f"127.0.0.1:{self.ing.stack.internal_port}", 1.0, token=self.ing.token)[0]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.serving()))
            time.sleep(0.1)

    def wait_for(self, serving: bool, timeout: float) -> float:
        """Seconds until health says `serving` (fails the test after `timeout`)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.serving() is serving:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"health never became {'SERVING' if serving else 'NOT_SERVING'} in {timeout}s")


def stop_and_count(ing: Ingestion) -> Counter[str]:
    """SIGTERM (the final flush must succeed: exit 0), then every span id in the Parquet files."""
    assert ing.proc is not None
    assert ing.proc.stop() == 0, ing.proc.log()[-3000:]
    ids: Counter[str] = Counter()
    for path in ing.parquet_files():
        table = pq.read_table(path)
        table.validate(full=True)  # invalid UTF-8 here would make the backend skip the whole file
        ids.update(table["span_id"].to_pylist())
    return ids


def assert_exactly_once(load: Load, stored: Counter[str], lost_to_damage: set[str] = frozenset()) -> None:
    acked = Load.ids(load.acked) - lost_to_damage
    missing = acked - stored.keys()
    twice = {k for k, n in stored.items() if n > 1}
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans lost"
    assert not twice, f"{len(twice)} spans stored more than once"
    assert stored.keys() <= acked | Load.ids(load.failed)


def log_of(ing: Ingestion) -> str:
    return ing.proc.log() if ing.proc else ""


@contextlib.contextmanager
def mounted(*argv: str, target: Path) -> Iterator[None]:
    subprocess.run(["mount", *argv, str(target)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


# --- a full disk ----------------------------------------------------------------------------------


@needs_mount
def test_disk_full_under_the_wal_is_named_and_nothing_acknowledged_is_lost(ingestion_factory) -> None:
    """WAL, Parquet and snapshot on one small file system that fills up; the operator frees space."""
    ing = ingestion_factory(FLUSH_MAX_MB="4", WAL_SEGMENT_MAX_MB="1")
    spans_dir = Path(ing.env["WAL_DIR"]).parent
    spans_dir.mkdir(parents=True)
    with mounted("-t", "tmpfs", "-o", "size=24m", "tmpfs", target=spans_dir):
        ballast = spans_dir / "ballast"
        ballast.write_bytes(bytes(21 << 20))  # ~3 MB left: full before the WAL is due for a flush
        ing.start()
        with HealthWatch(ing) as health, Load(ing) as load:
            deadline = time.monotonic() + 30
            while "RESOURCE_EXHAUSTED" not in load.codes() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            freed = time.monotonic()
            ballast.unlink()
            recovery = health.wait_for(True, 20)
            time.sleep(0.5)  # answers to calls refused before the turn may still arrive
            seen = len(load.statuses())
            time.sleep(2.0)
            after = load.statuses()[seen:]
        codes = load.codes()
        assert codes["RESOURCE_EXHAUSTED"] > 0, codes
        assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes  # never INTERNAL
        full = [d for c, d in load.statuses() if c == "RESOURCE_EXHAUSTED"]
        assert all("disk full" in d and "ENOSPC" in d for d in full), full[:3]
        during = [serving for t, serving in health.samples if t < freed]
        assert not all(during), "health said SERVING all along on a full disk"
        assert health.samples[-1][1], "health did not stay SERVING after space was freed"
        assert after and all(code == "OK" for code, _ in after), [s for s in after if s[0] != "OK"]
        assert load.export_once() is SpanExportResult.SUCCESS
        print(f"health SERVING {recovery:.2f} s after space was freed")
        stored = stop_and_count(ing)
    assert_exactly_once(load, stored)
    assert "span_storage_failing" in log_of(ing) and "span_storage_recovered" in log_of(ing)


def test_a_short_wal_write_leaves_no_hole(ingestion_factory) -> None:
    """The writer stops half-way (an injected short count) and the continuation fails with ENOSPC,
    as on a nearly full disk: the group is refused by name, and later writes leave no gap."""
    ing = ingestion_factory(JUNJO_TEST_FAULT_WAL_SHORT_WRITE_EVERY="9", WAL_SEGMENT_MAX_MB="1").start()
    with HealthWatch(ing) as health, Load(ing) as load:
        time.sleep(6.0)
    codes = load.codes()
    assert codes["RESOURCE_EXHAUSTED"] > 0 and codes["OK"] > 20, codes
    assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes
    assert any(not serving for _, serving in health.samples), "health never reported the failing writes"
    health_now = HealthWatch(ing)
    health_now.wait_for(True, 10)
    stored = stop_and_count(ing)
    assert_exactly_once(load, stored)
    log = log_of(ing)
    assert "wal_write_failed" in log and "wal_batch_damaged" not in log


# --- damaged segments -----------------------------------------------------------------------------


def message_offsets(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, metadata length, body length) of each IPC message of a segment (EOS excluded)."""
    buf, pos, out = pa.py_buffer(data), 0, []
    while pos + 8 <= len(data) and data[pos : pos + 8] != b"\xff\xff\xff\xff\x00\x00\x00\x00":
        message = pa.ipc.read_message(buf.slice(pos))
        out.append((pos, message.metadata.size, message.body.size))
        pos += 8 + message.metadata.size + message.body.size
    return out


Killed = tuple[Ingestion, "Load", Path, list[tuple[int, int, int]]]


def acknowledged_then_killed(ingestion_factory: Any) -> Killed:
    """Spans acknowledged into 1 MB segments, then SIGKILL: sealed segments stay in the WAL."""
    ing = ingestion_factory(WAL_SEGMENT_MAX_MB="1").start()
    load = Load(ing, clients=1)
    for _ in range(16):
        assert load.export_once() is SpanExportResult.SUCCESS
    load.stop()
    assert ing.proc is not None
    ing.proc.kill()
    wal = Path(ing.env["WAL_DIR"])
    segment = sorted(wal.glob("wal-*.ipc"))[0]
    messages = message_offsets(segment.read_bytes())
    assert len(messages) >= 4, messages  # schema + at least three batches
    return ing, load, segment, messages


def batch_span_ids(data: bytes, offset: int) -> set[str]:

    message = pa.ipc.read_message(pa.py_buffer(data).slice(offset))
    return set(pa.ipc.read_record_batch(message, span_format.BATCH_SCHEMA)["span_id"].to_pylist())


def assert_damage_reported_and_kept(ing: Ingestion, segment: Path, offset: int, lost: set[str]) -> None:
    log = log_of(ing)
    assert "wal_batch_damaged" in log and f'"offset": {offset}' in log, log[-3000:]
    kept = (segment.parent / "quarantine" / segment.name).read_bytes()
    assert all(span_id.encode() in kept for span_id in lost)  # the operator still has them


def test_a_flipped_byte_in_a_batch_header_loses_only_that_batch(ingestion_factory) -> None:
    ing, load, segment, messages = acknowledged_then_killed(ingestion_factory)
    offset = messages[2][0]  # the second record batch; more follow it
    data = bytearray(segment.read_bytes())
    lost = batch_span_ids(bytes(data), offset)
    data[offset + 5] ^= 0x5A  # the metadata length
    data[offset + 9] ^= 0x5A
    segment.write_bytes(bytes(data))
    ing.start()
    with HealthWatch(ing) as health:
        assert health.serving()
    stored = stop_and_count(ing)
    assert_exactly_once(load, stored, lost_to_damage=lost)
    assert not lost & stored.keys()
    assert_damage_reported_and_kept(ing, segment, offset, lost)


def test_a_flipped_byte_in_a_string_never_reaches_parquet(ingestion_factory) -> None:
    ing, load, segment, messages = acknowledged_then_killed(ingestion_factory)
    offset, meta, body = messages[2]
    data = bytearray(segment.read_bytes())
    lost = batch_span_ids(bytes(data), offset)
    inside = offset + 8 + meta + body // 2  # the middle of the body: the JSON attribute text
    data[inside] = 0xFF  # never valid in UTF-8
    segment.write_bytes(bytes(data))
    ing.start()
    stored = stop_and_count(ing)  # also: every Parquet file is valid UTF-8
    assert_exactly_once(load, stored, lost_to_damage=lost)
    assert not lost & stored.keys()
    assert_damage_reported_and_kept(ing, segment, offset, lost)


# --- the WAL directory removed --------------------------------------------------------------------


def test_the_wal_directory_removed_while_running(ingestion_factory) -> None:
    ing = ingestion_factory(WAL_SEGMENT_MAX_MB="1").start()
    wal = Path(ing.env["WAL_DIR"])
    with HealthWatch(ing) as health, Load(ing) as load:
        time.sleep(2.0)
        while wal.exists():  # the writer may create a file while the tree is being removed
            shutil.rmtree(wal, ignore_errors=True)
        removed = len(load.acked)
        time.sleep(3.0)
    codes = load.codes()
    assert set(codes) <= {"OK", "UNAVAILABLE"}, codes
    assert len(load.acked) > removed + 5, "exports did not continue after the WAL directory was removed"
    assert health.samples[-1][1]
    assert wal.is_dir()
    stored = stop_and_count(ing)
    assert_exactly_once(load, stored)
    assert "wal_directory_recreated" in log_of(ing)


# --- Parquet cannot be written; the backend is down -----------------------------------------------


@needs_mount
def test_a_read_only_parquet_directory_holds_spans_in_the_wal(ingestion_factory) -> None:
    ing = ingestion_factory(FLUSH_MAX_MB="1", BACKPRESSURE_MAX_MB="3", WAL_SEGMENT_MAX_MB="1")
    parquet = Path(ing.env["PARQUET_OUTPUT_DIR"])
    parquet.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(parquet), str(parquet)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(parquet)], check=True)
        ing.start()
        with HealthWatch(ing) as health, Load(ing) as load:
            deadline = time.monotonic() + 30
            while "RESOURCE_EXHAUSTED" not in load.codes() and time.monotonic() < deadline:
                time.sleep(0.1)
            subprocess.run(["umount", str(parquet)], check=True)
            time.sleep(4.0)
    finally:
        subprocess.run(["umount", "-l", str(parquet)], check=False, capture_output=True)
    codes = load.codes()
    assert codes["RESOURCE_EXHAUSTED"] > 0 and set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes
    refused = [d for c, d in load.statuses() if c == "RESOURCE_EXHAUSTED"]
    assert all("flush failing: Read-only file system (EROFS)" in d for d in refused), refused[:3]
    assert all(serving for _, serving in health.samples)  # the WAL kept taking writes
    assert load.export_once() is SpanExportResult.SUCCESS
    stored = stop_and_count(ing)
    assert_exactly_once(load, stored)


def test_the_backend_down_during_ingest(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "backend")  # its own backend, to stop and restart
    ing: Ingestion | None = None
    try:
        start_backend(stack, tmp_path / "logs")
        with ApiClient(stack.http_url) as api:
            api.create_first_user()
            backend = Backend(stack, api, api.create_api_key("faults"))
        ing = Ingestion(backend, tmp_path / "ingestion", {"JUNJO_API_KEY_CACHE_TTL_SECONDS": "0"}).start()
        with HealthWatch(ing) as health, Load(ing) as load:
            time.sleep(1.0)
            assert stack.backend is not None
            stack.backend.stop()
            time.sleep(2.0)
            start_backend(stack, tmp_path / "logs")
            restarted, seen = time.monotonic(), len(load.statuses())
            while "OK" not in {c for c, _ in load.statuses()[seen:]}:
                assert time.monotonic() - restarted < 30, "exports never recovered after the backend did"
                time.sleep(0.1)
            print(
                f"exports acknowledged again {time.monotonic() - restarted:.2f} s after the backend restarted"
            )
        codes = load.codes()
        assert codes["UNAVAILABLE"] > 0 and set(codes) <= {"OK", "UNAVAILABLE"}, codes
        refused = {d for c, d in load.statuses() if c == "UNAVAILABLE"}
        assert refused == {"API key validation service unavailable"}, refused
        assert all(serving for _, serving in health.samples)  # ingestion itself was fine
        assert load.export_once() is SpanExportResult.SUCCESS
        stored = stop_and_count(ing)
    finally:
        if ing is not None:
            ing.close()
        stack.stop()
    assert_exactly_once(load, stored)
