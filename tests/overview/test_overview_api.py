"""The service overview end to end: real OpenTelemetry and Junjo 0.69 spans with known tokens, models,
errors and times go through the real ingestion service into Parquet, the real backend indexes them
(flush-wal), and the overview API's aggregates and costs must equal what this test computes from
the exported spans alone (genai-prices called directly for the expected cost).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import genai_prices
import httpx
import orjson
import pytest

from tests.support.api import OBS, ApiClient
from tests.support.procs import run_sender
from tests.support.stack import Stack, signed_in_stack
from tests.support.usage_telemetry import INSTRUMENTED_RUNS, MINUTE_NS, PLAIN_TRACES

SERVICE = "usage-demo"
OVERVIEW = f"{OBS}/overview"
BUCKET_RATIO = 2**0.25  # the latency histogram's resolution: four buckets per doubling


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


class Env:
    def __init__(self, stack: Stack, api: ApiClient, spans: list[dict[str, Any]], base_ns: int) -> None:
        self.stack, self.api, self.spans, self.base_ns = stack, api, spans, base_ns

    def overview(self, start_ns: int, end_ns: int, **params: Any) -> dict[str, Any]:
        response = self.api.http.get(
            OVERVIEW, params={"start_time": iso(start_ns), "end_time": iso(end_ns), **params}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def service(self, start_ns: int, end_ns: int, **params: Any) -> dict[str, Any]:
        found = [s for s in self.overview(start_ns, end_ns, **params)["services"] if s["service"] == SERVICE]
        assert len(found) == 1
        return found[0]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with signed_in_stack(tmp_path_factory.mktemp("overview")) as (stack, api):
        key = api.create_api_key("overview")
        now = time.time_ns()
        base_ns = now - now % MINUTE_NS - 20 * MINUTE_NS
        sent = run_sender("tests.support.usage_telemetry", stack.otlp_endpoint, key, SERVICE, str(base_ns))
        flushed = api.http.post("/api/admin/flush-wal", timeout=60)
        assert flushed.status_code == 200, flushed.text
        yield Env(stack, api, sent["spans"], base_ns)


# --- the expected values, from the exported spans and genai-prices only ------------------------
def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= value <= 10**9 else None


def expected_call(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """(input, output, provider id, model) of an LLM call span, by each convention's own names."""
    if attrs.get("junjo.agent.operation_type") == "model_request":
        usage = orjson.loads(attrs.get("junjo.agent.model.usage", "{}"))
        return {
            "input": usage.get("inputTokens"),
            "output": usage.get("outputTokens"),
            "provider": attrs["junjo.agent.model.provider"],
            "model": attrs["junjo.agent.model.name"],
        }
    if attrs.get("openinference.span.kind") == "LLM":
        return {
            "input": _whole(attrs.get("llm.token_count.prompt")),
            "output": _whole(attrs.get("llm.token_count.completion")),
            "provider": attrs["llm.provider"],
            "model": attrs["llm.model_name"],
        }
    if "gen_ai.usage.input_tokens" in attrs:
        return {
            "input": attrs["gen_ai.usage.input_tokens"],
            "output": attrs["gen_ai.usage.output_tokens"],
            "provider": attrs["gen_ai.provider.name"],
            "model": attrs["gen_ai.request.model"],
        }
    if "gen_ai.usage.prompt_tokens" in attrs:
        return {
            "input": attrs["gen_ai.usage.prompt_tokens"],
            "output": attrs["gen_ai.usage.completion_tokens"],
            "provider": attrs["gen_ai.system"],
            "model": attrs["gen_ai.request.model"],
        }
    return None


def expected_cost(call: dict[str, Any], start_ns: int) -> float | None:
    if call["input"] is None and call["output"] is None:
        return None
    try:
        price = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=call["input"] or 0, output_tokens=call["output"] or 0),
            call["model"],
            provider_id=call["provider"],
            genai_request_timestamp=datetime.fromtimestamp(start_ns / 1e9, tz=UTC),
        )
    except LookupError:
        return None
    return float(price.total_price)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def call_spans(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every span that records an LLM call, with its call."""
    return [(s, c) for s in spans if (c := expected_call(s["attributes"])) is not None]


def counted_calls(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The calls a total adds: an SDK's LLM span below a Junjo model request is that request's
    call, counted once, from the model request when it reports usage, else from the SDK span."""
    by_id = {s["span_id"]: s for s in spans}
    is_request = lambda s: s["attributes"].get("junjo.agent.operation_type") == "model_request"  # noqa: E731
    left_out = set()
    for s, _ in call_spans(spans):
        above = by_id.get(s["parent_span_id"] or "")
        while above is not None and not is_request(above):
            above = by_id.get(above["parent_span_id"] or "")
        if is_request(s) or above is None:
            continue
        reported = "junjo.agent.model.usage" in above["attributes"]
        left_out.add(s["span_id"] if reported else above["span_id"])
    return [(s, c) for s, c in call_spans(spans) if s["span_id"] not in left_out]


def expected_totals(spans: list[dict[str, Any]]) -> dict[str, Any]:
    roots = [s for s in spans if s["root"]]
    kind = lambda s: s["attributes"].get("junjo.span_type")  # noqa: E731
    agents = [s for s in spans if kind(s) == "agent"]
    workflows = [s for s in spans if kind(s) == "workflow"]
    calls = counted_calls(spans)
    costs = [expected_cost(c, s["start_ns"]) for s, c in calls]
    return {
        "spans": len(spans),
        "errors": sum(s["error"] for s in spans),
        "traces": len(roots),
        "trace_errors": sum(s["error"] for s in roots),
        "workflows": len(workflows),
        "workflow_failures": sum(s["error"] for s in workflows),
        "agents": len(agents),
        "agent_failures": sum(
            s["error"] or s["attributes"].get("junjo.agent.outcome") == "failed" for s in agents
        ),
        "llm_calls": len(calls),
        "input_tokens": sum(c["input"] or 0 for _, c in calls),
        "output_tokens": sum(c["output"] or 0 for _, c in calls),
        "unpriced_calls": sum(c is None for c in costs),
        "cost_usd": sum(c for c in costs if c is not None),
        "root_ms": [(s["end_ns"] - s["start_ns"]) / 1e6 for s in roots],
    }


# --- tests --------------------------------------------------------------------------------------
def test_totals_equal_the_exported_spans(env: Env) -> None:
    want = expected_totals(env.spans)
    got = env.service(env.base_ns - 3600 * 10**9, time.time_ns() + 60 * 10**9)["totals"]
    # The scenario is what it claims: agents and workflows that fail, calls without a price.
    assert want["agent_failures"] == 1 and want["workflow_failures"] == 1 and want["unpriced_calls"] == 2
    # Five plain LLM spans, three Agent model requests, and the instrumented Agents' four calls
    # (each recorded twice: by Junjo's model request and by the provider SDK below it).
    assert want["llm_calls"] == 5 + 3 + 4 and len(call_spans(env.spans)) == 5 + 3 + 8
    for name in ("spans", "errors", "traces", "trace_errors", "workflows", "workflow_failures"):
        assert got[name] == want[name], name
    for name in ("agents", "agent_failures", "llm_calls", "input_tokens", "output_tokens", "unpriced_calls"):
        assert got[name] == want[name], name
    assert got["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9) and want["cost_usd"] > 0
    assert got["flagged_calls"] == 1  # the hostile token values: ignored, flagged, no crash
    assert got["error_rate"] == pytest.approx(want["errors"] / want["spans"])
    for name, q in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        exact = nearest_rank(want["root_ms"], q)
        assert exact / BUCKET_RATIO <= got[name] <= exact * BUCKET_RATIO, (name, exact, got[name])


def test_series_put_each_trace_in_its_minute(env: Env) -> None:
    """Five one-minute points over the plain traces' minutes (the Junjo runs are later)."""
    got = env.service(env.base_ns, env.base_ns + 5 * MINUTE_NS, points=5)["series"]
    assert got["time_ms"] == [(env.base_ns + i * MINUTE_NS) // 10**6 for i in range(5)]
    want_traces, want_errors, want_calls = [0] * 5, [0] * 5, [0] * 5
    for _, (minute, _, failed, llm) in PLAIN_TRACES.items():
        want_traces[minute] += 1
        want_errors[minute] += int(failed)
        want_calls[minute] += int(llm is not None)
    assert got["traces"] == want_traces and got["trace_errors"] == want_errors
    assert got["llm_calls"] == want_calls
    assert got["spans"] == [t + c for t, c in zip(want_traces, want_calls, strict=True)]
    assert got["p50_ms"][4] is None  # a bucket without roots has no latency, not 0
    assert got["input_tokens"][0] == 1200 and got["output_tokens"][0] == 300


def test_wide_range_reads_hour_rollups_with_bounded_points(env: Env) -> None:
    now = time.time_ns()
    week = env.overview(now - 7 * 86_400 * 10**9, now, points=84)
    assert week["step_ms"] == 2 * 3600 * 1000
    service = next(s for s in week["services"] if s["service"] == SERVICE)
    assert len(service["series"]["time_ms"]) <= 85
    assert sum(service["series"]["spans"]) == len(env.spans)
    assert service["totals"]["llm_calls"] == expected_totals(env.spans)["llm_calls"]


def test_a_call_recorded_by_junjo_and_by_the_provider_sdk_counts_once(env: Env) -> None:
    """Each instrumented Agent run's calls are counted once: the model requests' usage where they
    report it, the SDK spans' where they do not (the usage the provider reported, either way)."""
    got = env.service(env.base_ns - 3600 * 10**9, time.time_ns() + 60 * 10**9)["totals"]
    runs = {s["trace_id"] for s in env.spans if s["attributes"].get("junjo.agent.key") in INSTRUMENTED_RUNS}
    assert len(runs) == len(INSTRUMENTED_RUNS)
    want_plain = expected_totals([s for s in env.spans if s["trace_id"] not in runs])
    instrumented = [u for run in INSTRUMENTED_RUNS.values() for u in run.usages]
    assert got["llm_calls"] - want_plain["llm_calls"] == len(instrumented)
    assert got["input_tokens"] - want_plain["input_tokens"] == sum(u[0] for u in instrumented)
    assert got["output_tokens"] - want_plain["output_tokens"] == sum(u[1] for u in instrumented)


def test_llm_span_carries_its_tokens_and_cost(env: Env) -> None:
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for s in env.spans:
        by_trace.setdefault(s["trace_id"], []).append(s)
    checked = 0
    for trace_id, sent in by_trace.items():
        response = env.api.http.get(f"{OBS}/traces/{trace_id}/spans")
        assert response.status_code == 200, response.text
        answered = {s["span_id"]: s for s in response.json()}
        for s in sent:
            call = expected_call(s["attributes"])
            if call is None:
                continue
            usage = answered[s["span_id"]]["llm_usage"]
            cost = expected_cost(call, s["start_ns"])
            assert usage["input_tokens"] == call["input"] and usage["output_tokens"] == call["output"]
            assert usage["price_known"] is (cost is not None)
            assert usage["cost_usd"] == (pytest.approx(cost) if cost is not None else None)
            checked += 1
    assert checked == len(call_spans(env.spans))


@pytest.mark.parametrize(
    "params",
    [
        {"start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        {"start_time": "2020-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        {"start_time": "yesterday", "end_time": "2026-01-01T00:00:00Z"},
        {"end_time": "2026-01-01T00:00:00Z"},
        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z", "points": 0},
        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z", "points": 100000},
        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z", "service": "x" * 600},
    ],
)
def test_malformed_parameters_are_refused(env: Env, params: dict[str, Any]) -> None:
    response = env.api.http.get(OVERVIEW, params=params)
    assert response.status_code == 422, response.text


def test_service_bytes_that_are_not_utf8_match_nothing(env: Env) -> None:
    query = "start_time=2026-01-01T00:00:00Z&end_time=2026-01-02T00:00:00Z&service=%FF%FE"
    response = env.api.http.get(f"{OVERVIEW}?{query}")
    assert response.status_code == 200 and response.json()["services"] == [], response.text


def test_unknown_service_and_injection_attempt_answer_empty(env: Env) -> None:
    now = time.time_ns()
    for name in ("no such service", "x' OR '1'='1", "usage-demo%"):
        assert env.overview(now - 3600 * 10**9, now, service=name)["services"] == []


def test_requires_a_session(env: Env) -> None:
    response = httpx.get(
        env.stack.http_url + OVERVIEW,
        params={"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-02T00:00:00Z"},
    )
    assert response.status_code == 401
