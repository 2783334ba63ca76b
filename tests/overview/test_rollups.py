"""Rollups in metadata.db over real Parquet files: written when a file is indexed, upgraded by the
schema migration, removed with their file by retention; token values from hostile spans."""

from __future__ import annotations

import json
import math
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from genai_prices import data_snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.index.cold import LocalColdFiles
from backend.index.indexer import Indexer
from backend.index.retention import RetentionPolicy, apply_retention
from backend.index.store import MetadataIndex
from backend.overview.query import OverviewQuery, overview
from backend.overview.rollups import HOUR_NS, MINUTE_NS, latency_bucket, parse_latencies, quantile_ns
from backend.overview.usage import MAX_TOKENS, llm_usage
from tests.query.spanfiles import BASE_NS, cold_path, new_trace_id, span, write_span_file
from tests.support.old_index import index_at_schema, index_with_one_file

MINUTE0 = BASE_NS - BASE_NS % HOUR_NS  # an hour start, so both widths share bucket starts


def _rollup_count(index: MetadataIndex) -> int:
    return int(index._conn().execute("SELECT count(*) FROM rollups").fetchone()[0])


def _llm(trace: str, start_ns: int, tokens_in: Any, tokens_out: Any, model: str = "gpt-4o") -> dict[str, Any]:
    return span(
        trace,
        start_ns=start_ns,
        parent="1" * 16,
        attributes={
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": model,
            "llm.token_count.prompt": tokens_in,
            "llm.token_count.completion": tokens_out,
        },
    )


def test_indexing_writes_minute_and_hour_rollups_and_retention_removes_them(
    tmp_path: Path, index_url: str | None
) -> None:
    root = tmp_path / "parquet"
    now = time.time_ns()
    old_start = now - now % HOUR_NS - 40 * 86_400 * 10**9
    old_trace, new_trace = new_trace_id(), new_trace_id()
    old = write_span_file(
        cold_path(root, "old"),
        [span(old_trace, start_ns=old_start), _llm(old_trace, old_start + 5, 100, 10)],
    )
    write_span_file(cold_path(root, "new"), [span(new_trace, start_ns=now, status=2)])
    index = MetadataIndex(tmp_path / "sqlite" / "metadata.db", index_url)
    Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass()
    assert _rollup_count(index) == 4  # two files x (minute, hour)
    old_range = OverviewQuery(old_start, old_start + HOUR_NS, max_points=60)
    [svc] = overview(index, old_range)["services"]
    assert svc["totals"]["spans"] == 2 and svc["totals"]["llm_calls"] == 1
    assert svc["totals"]["input_tokens"] == 100 and svc["totals"]["cost_usd"] > 0

    assert apply_retention(index, RetentionPolicy(days=30), now, LocalColdFiles(root)) == [str(old)]
    assert _rollup_count(index) == 2
    [svc] = overview(index, old_range)["services"]
    assert svc["totals"]["spans"] == 0 and svc["totals"]["cost_usd"] == 0
    assert svc["totals"]["p50_ms"] is None
    recent = overview(index, OverviewQuery(now - HOUR_NS, now + MINUTE_NS, max_points=60))["services"]
    assert recent[0]["totals"]["errors"] == 1


def test_migration_7_summarises_files_indexed_before_for_their_rollups(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    trace = new_trace_id()
    path = write_span_file(cold_path(root, "v6"), [span(trace, start_ns=MINUTE0)])
    db = tmp_path / "sqlite" / "metadata.db"
    index_with_one_file(db, 6, path, MINUTE0, MINUTE0, MINUTE0 + 1, rows=1)

    index = MetadataIndex(db)
    assert index.paths_without_keys() == [str(path)] and _rollup_count(index) == 0
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(path)]
    [svc] = overview(index, OverviewQuery(MINUTE0, MINUTE0 + HOUR_NS, max_points=60))["services"]
    assert svc["totals"]["traces"] == 1 and svc["series"]["traces"][0] == 1


def test_migration_9_summarises_again_the_files_whose_rollups_count_llm_calls(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    with_calls = write_span_file(cold_path(root, "calls"), [_llm(new_trace_id(), MINUTE0, 100, 10)])
    without = write_span_file(cold_path(root, "plain"), [span(new_trace_id(), start_ns=MINUTE0)])
    db = tmp_path / "sqlite" / "metadata.db"
    with closing(index_at_schema(db, 8)) as conn:
        for file_id, (path, calls) in enumerate(((with_calls, 1), (without, 0)), start=1):
            conn.execute(
                "INSERT INTO parquet_files (file_id, file_path, min_start_ns, max_start_ns, max_end_ns,"
                " row_count, size_bytes, keys_indexed) VALUES (?, ?, ?, ?, ?, 1, 1, 1)",
                (file_id, str(path), MINUTE0, MINUTE0, MINUTE0 + 1),
            )
            conn.execute(
                "INSERT INTO rollups VALUES (?, ?, 'svc', ?, 1, 0, 0, 0, 0, 0, 0, 0, ?, 0, 0, 0, 0, 0.0, '')",
                (file_id, MINUTE_NS, MINUTE0, calls),
            )

    index = MetadataIndex(db)
    assert index.paths_without_keys() == [str(with_calls)]
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed == [str(with_calls)]
    assert index.paths_without_keys() == []


def _request(trace: str, start_ns: int, span_id: str, parent: str, usage: str | None) -> dict[str, Any]:
    attributes = {
        "junjo.agent.operation_type": "model_request",
        "junjo.agent.model.provider": "openai",
        "junjo.agent.model.name": "gpt-4o",
    }
    if usage is not None:
        attributes["junjo.agent.model.usage"] = usage
    return span(trace, start_ns=start_ns, span_id=span_id, parent=parent, attributes=attributes)


def test_an_llm_span_below_a_junjo_model_request_is_its_call_counted_once(tmp_path: Path) -> None:
    """Parents in the file decide: a model request that reports tokens is the call (the SDK span two
    levels below it is not added); one that reports none leaves the call to the span below it; a
    parent cycle ends the walk; a span whose model request is in no file here is counted."""
    trace, other = new_trace_id(), new_trace_id()
    agent, request, http, quiet, loop_a, loop_b = (f"{i:016x}" for i in range(1, 7))
    rows = [
        span(trace, start_ns=MINUTE0, span_id=agent, attributes={"junjo.span_type": "agent"}),
        _request(trace, MINUTE0 + 1, request, agent, '{"inputTokens":100,"outputTokens":10}'),
        span(trace, start_ns=MINUTE0 + 2, span_id=http, parent=request),
        {**_llm(trace, MINUTE0 + 3, 100, 10), "parent_span_id": http},
        _request(trace, MINUTE0 + 4, quiet, agent, None),
        {**_llm(trace, MINUTE0 + 5, 40, 4), "parent_span_id": quiet},
        span(trace, start_ns=MINUTE0 + 6, span_id=loop_a, parent=loop_b),
        span(trace, start_ns=MINUTE0 + 7, span_id=loop_b, parent=loop_a),
        {**_llm(trace, MINUTE0 + 8, 7, 1), "parent_span_id": loop_a},
        {**_llm(other, MINUTE0 + 9, 3, 1), "parent_span_id": "f" * 16},
    ]
    write_span_file(cold_path(tmp_path / "parquet", "nested"), rows)
    index = MetadataIndex(tmp_path / "sqlite" / "metadata.db")
    assert Indexer(index, LocalColdFiles(tmp_path / "parquet"), poll_interval=60).run_pass().indexed
    [svc] = overview(index, OverviewQuery(MINUTE0, MINUTE0 + HOUR_NS, max_points=60))["services"]
    totals = svc["totals"]
    assert totals["llm_calls"] == 4 and totals["unpriced_calls"] == 0
    assert (totals["input_tokens"], totals["output_tokens"]) == (100 + 40 + 7 + 3, 10 + 4 + 1 + 1)


def test_hostile_token_values_are_ignored_and_flagged_in_the_rollups(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    trace = new_trace_id()
    rows = [
        span(trace, start_ns=MINUTE0),
        _llm(trace, MINUTE0 + 1, -1, 10),
        _llm(trace, MINUTE0 + 2, "900", True),
        _llm(trace, MINUTE0 + 3, 2**62, 1.5),
        _llm(trace, MINUTE0 + 4, None, {"n": 1}),
        _llm(trace, MINUTE0 + 5, 7, 3, model="x" * 100_000),
        _llm(trace, MINUTE0 + 6, 5, 5),
    ]
    write_span_file(cold_path(root, "hostile"), rows)
    index = MetadataIndex(tmp_path / "sqlite" / "metadata.db")
    assert Indexer(index, LocalColdFiles(root), poll_interval=60).run_pass().indexed
    [svc] = overview(index, OverviewQuery(MINUTE0, MINUTE0 + HOUR_NS, max_points=60))["services"]
    totals = svc["totals"]
    assert totals["llm_calls"] == 6 and totals["flagged_calls"] == 4
    assert (totals["input_tokens"], totals["output_tokens"]) == (7 + 5, 10 + 3 + 5)
    assert totals["unpriced_calls"] == 4  # three without a valid token, one with an oversized model name


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=3),
    )
)
def test_any_token_value_is_bounded_or_ignored(value: Any) -> None:
    attrs = {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": value,
        "gen_ai.usage.output_tokens": value,
    }
    usage = llm_usage(attrs, BASE_NS)
    assert usage is not None
    for tokens in (usage.input_tokens, usage.output_tokens):
        assert tokens is None or 0 <= tokens <= MAX_TOKENS
    if usage.input_tokens is None:
        assert usage.flags and usage.cost_usd is None and not usage.price_known
    else:
        assert usage.cost_usd is not None and math.isfinite(usage.cost_usd) and usage.cost_usd >= 0


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1,2]",
        json.dumps({"inputTokens": -4, "outputTokens": "3"}),
        "[" * 10_000,
        '{"inputTokens":1e400}',
    ],
)
def test_junjo_model_usage_that_is_not_usage_is_flagged(raw: str) -> None:
    attrs = {
        "junjo.agent.operation_type": "model_request",
        "junjo.agent.model.provider": "openai",
        "junjo.agent.model.name": "gpt-4o",
        "junjo.agent.model.usage": raw,
    }
    usage = llm_usage(attrs, BASE_NS)
    assert usage is not None and usage.flags and usage.input_tokens is None
    assert usage.cost_usd is None and not usage.price_known


def test_unknown_model_has_no_price_never_zero() -> None:
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "house-model-v0",
        "llm.token_count.prompt": 10,
    }
    usage = llm_usage(attrs, BASE_NS)
    assert usage is not None and usage.input_tokens == 10
    assert usage.cost_usd is None and usage.price_known is False


def test_histograms_joined_with_empty_ones_parse() -> None:
    """A chart point joins the histograms of its rows; a row without root spans has an empty one."""
    assert parse_latencies(["", None, "100:1,,100:2,-3:1,", "7:2"]) == [{}, {}, {100: 3, -3: 1}, {7: 2}]


def test_latency_quantiles_are_within_one_bucket() -> None:
    durations = [1_000 * (i + 1) ** 2 for i in range(1000)]
    histogram: dict[int, int] = {}
    for d in durations:
        histogram[latency_bucket(d)] = histogram.get(latency_bucket(d), 0) + 1
    for q in (0.5, 0.95, 0.99):
        exact = sorted(durations)[math.ceil(q * len(durations)) - 1]
        estimate = quantile_ns(histogram, q)
        assert estimate is not None and exact / 2**0.25 <= estimate <= exact * 2**0.25
    assert quantile_ns({}, 0.5) is None


def _priced_models() -> list[tuple[str, str]]:
    snapshot = data_snapshot.get_snapshot()
    return sorted((p.id, m.id) for p in snapshot.providers for m in p.models)[::7]


@settings(max_examples=400, deadline=None)
@given(
    model=st.sampled_from(_priced_models()),
    tokens_in=st.integers(min_value=0, max_value=2_000_000),
    tokens_out=st.integers(min_value=0, max_value=200_000),
    cached_share=st.floats(min_value=0, max_value=1),
)
def test_cost_equals_genai_prices_calc_price(
    model: tuple[str, str], tokens_in: int, tokens_out: int, cached_share: float
) -> None:
    """Every model of the table (a sample), any token counts: the cost is the library's own total,
    and a model without token prices has no cost rather than 0."""
    provider, name = model
    cached = int(tokens_in * cached_share)
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.provider": provider,
        "llm.model_name": name,
        "llm.token_count.prompt": tokens_in,
        "llm.token_count.completion": tokens_out,
        "llm.token_count.prompt_details.cache_read": cached,
    }
    usage = llm_usage(attrs, BASE_NS)
    assert usage is not None
    when = datetime.fromtimestamp(BASE_NS / 1e9, tz=UTC)
    try:
        expected = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached),
            name,
            provider_id=provider,
            genai_request_timestamp=when,
        )
    except (LookupError, ValueError):
        assert usage.cost_usd is None
        return
    prices = expected.model_price
    if prices.input_mtok is None and prices.output_mtok is None:
        assert usage.cost_usd is None and not usage.price_known
    else:
        assert usage.cost_usd == pytest.approx(float(expected.total_price), rel=1e-9, abs=1e-12)
