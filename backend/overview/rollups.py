"""Per-service time-bucket rollups of one span file: what the service overview charts read.

The indexer adds every batch of a file here (`add_batch`), plus each LLM call (`add_llm_call`) and
Agent run (`add_agent_run`) it finds, and stores the result with the file, in two widths: minutes
(short ranges) and hours (long ones), so a chart reads a bounded number of rows whatever the span
count. Root-span latency is kept as a histogram over fixed logarithmic buckets (four per power of
two, so an estimated percentile is within ~9 % of the true value); histograms of any rows merge
by adding counts, which is how a chart's bucket combines its minutes and files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backend.overview.usage import LlmUsage

MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
WIDTHS_NS = (MINUTE_NS, HOUR_NS)
LATENCY_STEPS_PER_DOUBLING = 4
COUNTERS = (
    "spans",
    "errors",
    "traces",
    "trace_errors",
    "workflows",
    "workflow_failures",
    "agents",
    "agent_failures",
    "llm_calls",
    "input_tokens",
    "output_tokens",
    "unpriced_calls",
    "flagged_calls",
)


@dataclass
class Rollup:
    """The counts of one service in one time bucket of one file."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    cost_usd: float = 0.0
    latency: dict[int, int] = field(default_factory=dict)  # latency bucket -> root spans

    def merge(self, other: Rollup) -> None:
        for name, value in other.counts.items():
            self.counts[name] += value
        self.cost_usd += other.cost_usd
        for bucket, count in other.latency.items():
            self.latency[bucket] = self.latency.get(bucket, 0) + count


Rollups = dict[tuple[str, int], Rollup]  # (service, minute start ns) -> counts


def latency_bucket(duration_ns: int) -> int:
    return int(math.log2(max(duration_ns, 1)) * LATENCY_STEPS_PER_DOUBLING)


def bucket_value_ns(bucket: int) -> float:
    """A bucket's representative duration: the geometric middle of its bounds."""
    return 2 ** ((bucket + 0.5) / LATENCY_STEPS_PER_DOUBLING)


def quantile_ns(histogram: dict[int, int], q: float) -> float | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    rank, seen = q * total, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value_ns(bucket)
    return bucket_value_ns(max(histogram))


def _minute(start_ns: int) -> int:
    return start_ns - start_ns % MINUTE_NS


def add_batch(
    rollups: Rollups,
    services: pa.Array,
    start: pa.Array,
    end: pa.Array,
    is_root: pa.Array,
    is_workflow: pa.Array,
    is_error: pa.Array,
) -> None:
    """Counts one batch's spans, roots, workflows and errors per (service, minute)."""
    as_int = lambda mask: pc.cast(mask, pa.int64())  # noqa: E731
    minute = pc.multiply(pc.divide(start, MINUTE_NS), MINUTE_NS)
    duration = pc.max_element_wise(pc.subtract(end, start), 1)
    latency = pc.cast(
        pc.floor(pc.multiply(pc.log2(pc.cast(duration, pa.float64())), float(LATENCY_STEPS_PER_DOUBLING))),
        pa.int64(),
    )
    table = pa.table(
        {
            "service": services,
            "minute": minute,
            "errors": as_int(is_error),
            "traces": as_int(is_root),
            "trace_errors": as_int(pc.and_(is_root, is_error)),
            "workflows": as_int(is_workflow),
            "workflow_failures": as_int(pc.and_(is_workflow, is_error)),
        }
    )
    counted = ("errors", "traces", "trace_errors", "workflows", "workflow_failures")
    grouped = table.group_by(["service", "minute"]).aggregate(
        [("service", "count"), *((c, "sum") for c in counted)]
    )
    for row in grouped.to_pylist():
        rollup = rollups.setdefault((row["service"], row["minute"]), Rollup())
        rollup.counts["spans"] += row["service_count"]
        for c in counted:
            rollup.counts[c] += row[f"{c}_sum"]
    if pc.any(is_root).as_py():
        roots = pa.table(
            {
                "service": pc.filter(services, is_root),
                "minute": pc.filter(minute, is_root),
                "bucket": pc.filter(latency, is_root),
            }
        )
        for row in (
            roots.group_by(["service", "minute", "bucket"]).aggregate([("bucket", "count")]).to_pylist()
        ):
            histogram = rollups[(row["service"], row["minute"])].latency
            histogram[row["bucket"]] = histogram.get(row["bucket"], 0) + row["bucket_count"]


def add_llm_call(rollups: Rollups, service: str, start_ns: int, usage: LlmUsage) -> None:
    counts = rollups.setdefault((service, _minute(start_ns)), Rollup())
    counts.counts["llm_calls"] += 1
    counts.counts["input_tokens"] += usage.input_tokens or 0
    counts.counts["output_tokens"] += usage.output_tokens or 0
    if usage.cost_usd is None:
        counts.counts["unpriced_calls"] += 1
    else:
        counts.cost_usd += usage.cost_usd
    if usage.flags:
        counts.counts["flagged_calls"] += 1


def add_agent_run(rollups: Rollups, service: str, start_ns: int, failed: bool) -> None:
    counts = rollups.setdefault((service, _minute(start_ns)), Rollup())
    counts.counts["agents"] += 1
    counts.counts["agent_failures"] += int(failed)


def widened(rollups: Rollups) -> dict[tuple[int, str, int], Rollup]:
    """(width, service, bucket start) -> counts, for every stored width (minutes as they are)."""
    out: dict[tuple[int, str, int], Rollup] = {}
    for (service, minute), rollup in rollups.items():
        for width in WIDTHS_NS:
            key = (width, service, minute - minute % width)
            if key in out:
                out[key].merge(rollup)
            else:
                copy = Rollup()
                copy.merge(rollup)
                out[key] = copy
    return out


def rollup_row(key: tuple[int, str, int], rollup: Rollup) -> tuple[Any, ...]:
    """The `rollups` table's columns after `file_id`, in order."""
    width, service, bucket = key
    latency = ",".join(f"{b}:{n}" for b, n in sorted(rollup.latency.items()))
    return (
        width,
        service,
        bucket,
        *(rollup.counts[c] for c in COUNTERS),
        rollup.cost_usd,
        latency,
    )


def parse_latencies(texts: list[str | None]) -> list[dict[int, int]]:
    """Stored histogram texts (`bucket:count,...`, written by `rollup_row`; several joined by
    commas, an empty one for a bucket without root spans) -> counts, one dict per text.

    A week's chart joins thousands of histograms: they are split and summed with Arrow kernels,
    not part by part in Python."""
    parts = pc.split_pattern(pa.array([t or "" for t in texts], pa.string()), ",")
    owner = pc.list_parent_indices(parts)
    flat = pc.list_flatten(parts)
    kept = pc.not_equal(flat, "")
    pairs = pc.split_pattern(pc.filter(flat, kept), ":", max_splits=1)
    table = pa.table(
        {
            "owner": pc.filter(owner, kept),
            "bucket": pc.cast(pc.list_element(pairs, 0), pa.int64()),
            "count": pc.cast(pc.list_element(pairs, 1), pa.int64()),
        }
    )
    out: list[dict[int, int]] = [{} for _ in texts]
    summed = table.group_by(["owner", "bucket"]).aggregate([("count", "sum")])
    for owner_row, bucket, count in zip(
        *(summed.column(c).to_pylist() for c in ("owner", "bucket", "count_sum")), strict=True
    ):
        out[owner_row][bucket] = count
    return out
