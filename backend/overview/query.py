"""The service overview: rollups of a time range merged into at most `max_points` buckets per service.

Reads the `rollups` rows of the range only (never spans): minute rollups for ranges up to a day,
hour rollups beyond, so the rows read are bounded by the range and the number of files, not by
the span count. Spans not yet flushed to a cold file and indexed are not counted yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.index.store import MetadataIndex
from backend.overview.rollups import COUNTERS, HOUR_NS, MINUTE_NS, Rollup, parse_latencies, quantile_ns

MINUTE_ROLLUPS_UP_TO_NS = 24 * HOUR_NS
MAX_RANGE_NS = 400 * 24 * HOUR_NS
QUANTILES = (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))


@dataclass(frozen=True)
class OverviewQuery:
    start_ns: int
    end_ns: int
    max_points: int
    service: str | None = None


def _step(query: OverviewQuery) -> tuple[int, int]:
    """(stored rollup width, chart bucket width): a whole number of stored buckets per chart bucket."""
    span = query.end_ns - query.start_ns
    width = MINUTE_NS if span <= MINUTE_ROLLUPS_UP_TO_NS else HOUR_NS
    per_point = -(-span // query.max_points)  # ceiling
    return width, max(width, -(-per_point // width) * width)


def _series(buckets: dict[int, Rollup], starts: list[int]) -> dict[str, list[Any]]:
    series: dict[str, list[Any]] = {name: [] for name in ("time_ms", *COUNTERS, "cost_usd", "error_rate")}
    for name, _ in QUANTILES:
        series[name] = []
    for start in starts:
        rollup = buckets.get(start) or Rollup()
        series["time_ms"].append(start // 10**6)
        for name in COUNTERS:
            series[name].append(rollup.counts[name])
        series["cost_usd"].append(round(rollup.cost_usd, 9))
        spans = rollup.counts["spans"]
        series["error_rate"].append(rollup.counts["errors"] / spans if spans else None)
        for name, q in QUANTILES:
            value = quantile_ns(rollup.latency, q)
            series[name].append(value / 1e6 if value is not None else None)
    return series


def _totals(rollup: Rollup) -> dict[str, Any]:
    totals: dict[str, Any] = dict(rollup.counts)
    totals["cost_usd"] = round(rollup.cost_usd, 9)
    totals["error_rate"] = (
        rollup.counts["errors"] / rollup.counts["spans"] if rollup.counts["spans"] else None
    )
    for name, q in QUANTILES:
        value = quantile_ns(rollup.latency, q)
        totals[name] = value / 1e6 if value is not None else None
    return totals


def overview(index: MetadataIndex, query: OverviewQuery) -> dict[str, Any]:
    """Per service: totals over the range and one series per measure, bucket by bucket."""
    width, step = _step(query)
    first = query.start_ns - query.start_ns % width
    starts = list(range(first, query.end_ns, step))
    per_service: dict[str, dict[int, Rollup]] = {}
    rows = index.rollup_points(width, first, step, query.end_ns, query.service)
    for row, latency in zip(rows, parse_latencies([row[-1] for row in rows]), strict=True):
        rollup = per_service.setdefault(row[0], {}).setdefault(row[1], Rollup())
        for name, value in zip(COUNTERS, row[2 : 2 + len(COUNTERS)], strict=True):
            rollup.counts[name] += int(value)
        rollup.cost_usd += float(row[-2])
        rollup.latency = latency
    known = [s for s in index.services() if query.service is None or s == query.service]
    services = []
    for service in sorted(set(known) | set(per_service)):
        buckets = per_service.get(service, {})
        total = Rollup()
        for rollup in buckets.values():
            total.merge(rollup)
        services.append({"service": service, "totals": _totals(total), "series": _series(buckets, starts)})
    return {
        "start_ms": query.start_ns // 10**6,
        "end_ms": query.end_ns // 10**6,
        "step_ms": step // 10**6,
        "services": services,
    }
