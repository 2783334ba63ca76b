"""Junjo 0.69 Agents end to end: real Agent runs (ScriptedModelDriver, no network) exported through
the real ingestion service, then the Agent list, detail, execution resolution and trace evidence,
read through our REST API and through junjo's own StudioClient.

The indexer's poll is an hour, so runs are first answered from the hot tier and only the
flush-wal endpoint moves them into the index: both paths are exercised, with no duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from junjo.studio import StudioClient
from junjo.studio.errors import ExecutionEvidencePending, ExecutionIdentityAmbiguous
from junjo.studio.models import ExecutableType, SemanticExecutionReference
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from backend import APP_NAME, __version__
from tests.support.api import OBS, ApiClient
from tests.support.junjo_agents import AGENT_KEY, TOOL_FAILURE
from tests.support.otel import API_KEY_HEADER
from tests.support.polling import poll
from tests.support.procs import run_sender
from tests.support.stack import Stack, signed_in_stack

SERVICE = "agent-demo"
NAMESPACE = "acme"
LIST = "/api/v1/agent-executions"


class Env:
    def __init__(self, stack: Stack, api: ApiClient, key: str, sent: dict[str, Any]) -> None:
        self.stack, self.api, self.key, self.sent = stack, api, key, sent

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = self.api.http.get(path, params=params)
        assert response.status_code < 500, response.text
        return response

    def runs(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get(LIST, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, *scopes: str) -> str:
        response = self.api.http.post(
            "/api/v1/evaluation-tokens", json={"name": "agents test", "scopes": list(scopes)}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def studio(self) -> StudioClient:
        """junjo's own client over real HTTP with a developer token scoped `evidence:read`."""
        return StudioClient(base_url=self.stack.http_url, token=self.token("evidence:read"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with signed_in_stack(tmp_path_factory.mktemp("agents")) as (stack, api):
        key = api.create_api_key("agents")
        sent = run_sender(
            "tests.support.junjo_agents", stack.otlp_endpoint, key, SERVICE, "--namespace", NAMESPACE
        )
        yield Env(stack, api, key, sent)


def _by_runtime(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["runtime_id"]: r for r in runs}


def _check_runs(env: Env, runs: list[dict[str, Any]]) -> None:
    by_rid = _by_runtime(runs)
    sent = env.sent
    assert set(by_rid) == {s["runtime_id"] for s in sent.values()}
    ok = by_rid[sent["success"]["runtime_id"]]
    assert (
        ok["trace_id"] == sent["success"]["trace_id"]
        and ok["agent_span_id"] == sent["success"]["agent_span_id"]
    )
    assert ok["service"] == {"namespace": NAMESPACE, "name": SERVICE, "version": "1.4.2"}
    assert ok["agent_key"] == AGENT_KEY and ok["agent_name"] == "Weather assistant"
    assert ok["outcome"] == "completed" and ok["termination_reason"] == "final_output" and not ok["is_error"]
    assert ok["counts"] == {
        "operations": 6,
        "model_requests": 3,
        "tool_calls": {"requested": 3, "admitted": 3, "started": 3, "completed": 3},
    }
    assert ok["limits"] == {"model_requests": 8, "tool_calls": 32}
    assert ok["usage"]["model_responses"] == 3
    assert ok["usage"]["fields"]["totalTokens"] == {"sum": 630, "observations": 3}
    assert ok["structural_id"].startswith("agent_sha256:") and ok["parent"] is None
    assert ok["duration_ns"] > 0 and ok["start_time"] < ok["end_time"]

    tool = by_rid[sent["tool_failure"]["runtime_id"]]
    assert (tool["outcome"], tool["termination_reason"], tool["is_error"]) == ("failed", "tool_error", True)
    assert tool["counts"]["tool_calls"] == {"requested": 1, "admitted": 1, "started": 1, "completed": 0}
    limited = by_rid[sent["limit_exceeded"]["runtime_id"]]
    assert (limited["termination_reason"], limited["limit_exceeded"]) == ("limit_exceeded", "model_requests")
    assert limited["limits"]["model_requests"] == 1 and limited["counts"]["model_requests"] == 1
    rejected = by_rid[sent["input_rejected"]["runtime_id"]]
    assert (
        rejected["termination_reason"] == "input_validation_error" and rejected["counts"]["operations"] == 0
    )
    nested = by_rid[sent["in_workflow"]["runtime_id"]]
    assert nested["parent"]["type"] == "node" and nested["agent_key"] == "trip-planner"


def test_health_is_what_junjos_client_accepts(env: Env) -> None:
    async def check() -> None:
        async with StudioClient(base_url=env.stack.http_url) as client:
            health = await client.get_health()
        assert (health.status, health.version, health.app_name) == ("ok", __version__, APP_NAME)

    asyncio.run(check())
    assert httpx.get(f"{env.stack.http_url}/ready").json() == {
        "status": "ok",
        "database": "ok",
        "cold_storage": "local",
    }


def test_list_from_hot_tier_then_index_without_duplicates(env: Env) -> None:
    hot = poll(lambda: env.runs(service_name=SERVICE), lambda runs: len(runs) == 5)
    _check_runs(env, hot)
    flushed = env.api.http.post("/api/admin/flush-wal")
    assert flushed.status_code == 200 and flushed.json()["files_indexed"] >= 1
    response = env.get(LIST, service_name=SERVICE, service_namespace=NAMESPACE)
    indexed = response.json()
    assert response.headers["X-Total-Count"] == "5" and "X-Next-Cursor" not in response.headers
    _check_runs(env, indexed)
    assert [r["start_time"] for r in indexed] == sorted((r["start_time"] for r in indexed), reverse=True)


def test_filters_and_cursor_pagination(env: Env) -> None:
    poll(lambda: env.runs(service_name=SERVICE), lambda runs: len(runs) == 5)
    assert [r["agent_key"] for r in env.runs(agent_key=AGENT_KEY)] == [AGENT_KEY]
    assert {r["termination_reason"] for r in env.runs(outcome="failed")} == {
        "tool_error",
        "limit_exceeded",
        "input_validation_error",
    }
    assert len(env.runs(errors_only="true")) == 3
    assert [r["agent_key"] for r in env.runs(name="TRIP")] == ["trip-planner"]
    assert env.runs(service_namespace="other") == [] and env.runs(service_name="nope") == []
    assert env.runs(start_time="2100-01-01T00:00:00Z") == []
    assert len(env.runs(end_time="2100-01-01T00:00:00+00:00")) == 5
    seen: list[str] = []
    cursor = None
    while True:
        response = env.get(LIST, limit=2, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200
        seen += [r["agent_span_id"] for r in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


def test_detail_endpoint(env: Env) -> None:
    sent = env.sent["success"]
    response = env.get(f"{LIST}/{sent['trace_id']}/{sent['agent_span_id']}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["execution"]["runtime_id"] == sent["runtime_id"]
    assert body["detail_path"] == f"/agents/{sent['trace_id']}/{sent['agent_span_id']}"
    verification = body["verification"]
    assert verification["status"] == "passed" and not body["verification_trace_truncated"]
    assert {r["status"] for r in verification["rules"]} == {"passed"} and len(verification["rules"]) == 8
    evidence = env.get(f"/api/v1/trace-evidence/{sent['trace_id']}").json()
    assert evidence["executables_by_span_id"][sent["agent_span_id"]]["verification"] == verification
    failed = env.get(
        f"{LIST}/{env.sent['tool_failure']['trace_id']}/{env.sent['tool_failure']['agent_span_id']}"
    )
    assert failed.json()["verification"]["status"] == "passed"  # a failed run can still be consistent
    assert env.get(f"{LIST}/{sent['trace_id']}/{'0' * 16}").status_code == 404
    assert env.get(f"{LIST}/nothex/{sent['agent_span_id']}").status_code == 422


def test_search_matches_the_agent_span_or_any_span_under_it(env: Env) -> None:
    poll(lambda: env.runs(service_name=SERVICE), lambda runs: len(runs) == 5)
    sent = {name: run["runtime_id"] for name, run in env.sent.items()}

    def found(query: str, **params: Any) -> set[str]:
        response = env.get(LIST, search=query, **params)
        assert response.status_code == 200, response.text
        assert "X-Total-Count" not in response.headers  # a search counts nothing
        return {r["runtime_id"] for r in response.json()}

    # the nested agent's Tool call argument {"note": "pack an umbrella"}, as free text and as a phrase
    assert found("UMBRELLA") == found('"pack an umbrella"') == {sent["in_workflow"]}
    assert found("junjo.agent.tool_call.id = call_3") == {sent["success"]}
    assert found("Oslo junjo.agent.tool.name = get_weather") == {sent["success"]}  # one Tool span
    assert found(f"junjo.agent.key = {AGENT_KEY}") == {sent["success"]}  # the agent span itself
    assert found("name = PlanTrip") == set()  # the enclosing workflow is above the agent, not under
    assert found("no-such-text-anywhere") == found("umbrella", agent_key=AGENT_KEY) == set()
    for hostile in (
        "x' OR '1'='1",
        "'; DROP TABLE agent_executions; --",
        '"\\"); --"',
        "%",
        "z%_%q",
        ".*q.*z",
    ):
        assert found(hostile) == set(), hostile  # text, never SQL nor a pattern
    assert len(env.runs()) == 5 + len(env.runs(service_name="hostile-agents"))
    everything = found("junjo.agent.operation_type exists")
    assert sent["success"] in everything and sent["input_rejected"] not in everything
    seen: list[str] = []
    cursor = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        response = env.get(LIST, search="junjo.agent.operation_type exists", limit=1, **params)
        seen += [r["runtime_id"] for r in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) == everything


def test_resolution_and_evidence_through_junjos_client(env: Env) -> None:
    poll(lambda: env.runs(service_name=SERVICE), lambda runs: len(runs) == 5)

    async def check() -> None:
        async with env.studio() as client:
            for name, sent in env.sent.items():
                ref = SemanticExecutionReference(
                    service_namespace=NAMESPACE,
                    service_name=SERVICE,
                    executable_type=ExecutableType.AGENT,
                    runtime_id=sent["runtime_id"],
                )
                resolved = await client.resolve_execution(ref)
                assert (resolved.trace_id, resolved.span_id) == (sent["trace_id"], sent["agent_span_id"]), (
                    name
                )
                assert resolved.detail_path == f"/agents/{sent['trace_id']}/{sent['agent_span_id']}"
            with pytest.raises(ExecutionEvidencePending):
                await client.resolve_execution(
                    SemanticExecutionReference(
                        service_namespace="",
                        service_name=SERVICE,
                        executable_type=ExecutableType.AGENT,
                        runtime_id=env.sent["success"]["runtime_id"],
                    )
                )
            evidence = await client.get_trace_evidence(env.sent["success"]["trace_id"])
            _check_success_evidence(env.sent["success"], evidence.model_dump(mode="json"))
            nested = await client.get_trace_evidence(env.sent["in_workflow"]["trace_id"])
            _check_workflow_evidence(env.sent["in_workflow"], nested.model_dump(mode="json"))
            failed = await client.get_trace_evidence(env.sent["tool_failure"]["trace_id"])
            _check_tool_failure(env.sent["tool_failure"], failed.model_dump(mode="json"))

    asyncio.run(check())


def _check_success_evidence(sent: dict[str, Any], doc: dict[str, Any]) -> None:
    assert {s["span_id"] for s in doc["spans"]} == set(sent["span_ids"])
    agent = doc["executables_by_span_id"][sent["agent_span_id"]]
    assert agent["executable_type"] == "agent" and agent["runtime_id"] == sent["runtime_id"]
    assert agent["input"]["value"] == {"city_count": 3, "question": "Weather in Paris, Oslo and Lima?"}
    assert agent["output"]["value"] == {"answer": "Paris 18°C, Oslo 4°C, Lima 22°C"}
    assert agent["definition"]["value"]["tools"][0]["name"] == "get_weather"
    assert agent["integrity"]["status"] == "complete", agent["integrity"]
    assert agent["verification"]["status"] == "passed"
    assert {r["status"] for r in agent["verification"]["rules"]} == {"passed"}
    ops = sorted(
        doc["operations_by_owner_runtime_id"][sent["runtime_id"]].values(), key=lambda o: o["sequence"]
    )
    assert [o["sequence"] for o in ops] == [1, 2, 3, 4, 5, 6]
    assert [o["operation_type"] for o in ops] == [
        "model_request",
        "tool",
        "tool",
        "model_request",
        "tool",
        "model_request",
    ]
    first = ops[0]
    assert first["usage"] == {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}
    assert [(c["call_id"], c["admission"]) for c in first["requested_tool_calls"]] == [
        ("call_1", "admitted"),
        ("call_2", "admitted"),
    ]
    assert first["requested_tool_calls"][0]["observed_tool_operation"] == ops[1]["span_id"]
    assert ops[1]["result"]["value"] == {"celsius": 18, "city": "Paris"} and ops[1]["completed"]
    store = doc["stores_by_id"][agent["store_id"]]["detail"]
    assert store["reconstruction_status"] == "verified", store["diagnostics"]
    assert store["reconstructable"] is True and store["reconstructable_claimed"] is True
    assert len(store["transitions"]) == 15
    assert store["transitions"][-1]["after"] == store["end"]["value"]
    assert doc["diagnostics"] == []


def _check_workflow_evidence(sent: dict[str, Any], doc: dict[str, Any]) -> None:
    agent = doc["executables_by_span_id"][sent["agent_span_id"]]
    parent = doc["relationships_by_owner_span_id"][sent["agent_span_id"]]["parent"]
    assert parent["executable_type"] == "node" and parent["resolved"] and parent["name"] == "PlanTripNode"
    assert parent["workflow"]["name"] == "PlanTrip" and parent["workflow"]["executable_type"] == "workflow"
    app_store = doc["stores_by_id"][agent["application_store_id"]]
    assert app_store["owner_executable_type"] == "workflow"  # the Workflow's own Store, borrowed
    assert app_store["detail"]["reconstruction_status"] == "verified"
    own = doc["stores_by_id"][agent["store_id"]]["detail"]
    assert own["reconstruction_status"] == "verified", own["diagnostics"]
    workflow = next(e for e in doc["executables_by_span_id"].values() if e["executable_type"] == "workflow")
    assert workflow["name"] == "PlanTrip" and workflow["integrity"]["status"] == "complete"


def _check_tool_failure(sent: dict[str, Any], doc: dict[str, Any]) -> None:
    agent = doc["executables_by_span_id"][sent["agent_span_id"]]
    assert agent["error"]["type"] == "AgentToolError"
    ops = sorted(
        doc["operations_by_owner_runtime_id"][sent["runtime_id"]].values(), key=lambda o: o["sequence"]
    )
    tool = ops[1]
    assert tool["outcome"] == "failed" and tool["error"]["type"] == "AgentToolError"
    assert tool["result_candidate"] == {
        "available": False,
        "payload": None,
        "unavailable_reason": "service_failed",
    }
    assert tool["started"] and not tool["completed"]
    assert TOOL_FAILURE not in str(tool["error"])  # the SDK records its own message, not the service's


def test_ambiguous_identity_is_409_with_match_count(env: Env) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "dup-svc"}))
    exporter = OTLPSpanExporter(
        endpoint=env.stack.otlp_endpoint, insecure=True, headers=((API_KEY_HEADER, env.key),)
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("junjo")
    for _ in range(2):
        with tracer.start_as_current_span(
            "clone",
            attributes={
                "junjo.span_type": "agent",
                "junjo.executable_runtime_id": "same-run",
                "junjo.telemetry.contract_version": 3,
            },
        ):
            pass
    provider.shutdown()

    async def check() -> None:
        ref = SemanticExecutionReference(
            service_namespace="",
            service_name="dup-svc",
            executable_type=ExecutableType.AGENT,
            runtime_id="same-run",
        )
        async with env.studio() as client:
            with pytest.raises(ExecutionIdentityAmbiguous) as err:
                for _ in range(100):
                    try:
                        await client.resolve_execution(ref)
                    except ExecutionEvidencePending:
                        await asyncio.sleep(0.1)
        assert err.value.conflict.match_count == 2

    asyncio.run(check())


def test_hostile_owner_attributes_are_listed_not_fatal(env: Env) -> None:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "hostile-agents", "service.namespace": "x"})
    )
    exporter = OTLPSpanExporter(
        endpoint=env.stack.otlp_endpoint, insecure=True, headers=((API_KEY_HEADER, env.key),)
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("junjo")
    attrs = {
        "junjo.span_type": "agent",
        "junjo.telemetry.contract_version": 3,
        "junjo.executable_runtime_id": "hostile-1",
        "junjo.agent.key": "k" * 5000,
        "junjo.agent.operation.count": "6",
        "junjo.agent.model_request.count": 10**30 % (2**63),
        "junjo.agent.tool_call.requested_count": True,
        "junjo.agent.limit.model_requests": -4,
        "junjo.agent.usage": '{"v":1,"modelResponses":1e400,"fields":{"totalTokens":{"sum":"9"}}}',
        "junjo.agent.outcome": "exploded",
        "junjo.agent.input": "{not json",
        "junjo.agent.input.mode": "full",
        "junjo.agent.state.start": "[]",
        "junjo.agent.store.id": "s1",
        "junjo.store.transition.start": 0,
        "junjo.store.transition.end": 10**15,
    }
    with tracer.start_as_current_span("hostile agent", attributes=attrs) as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
        span_id = f"{span.get_span_context().span_id:016x}"
    provider.shutdown()
    runs = poll(lambda: env.runs(service_name="hostile-agents"), lambda r: len(r) == 1)
    run = runs[0]
    assert run["agent_key"] == "" and run["outcome"] is None and run["limits"]["model_requests"] is None
    assert run["counts"]["operations"] is None and run["counts"]["tool_calls"]["requested"] is None
    assert run["usage"] == {"model_responses": 0, "fields": {}}
    doc = env.get(f"/api/v1/trace-evidence/{trace_id}").json()
    agent = next(iter(doc["executables_by_span_id"].values()))
    assert agent["input"]["mode"] == "missing" and agent["integrity"]["status"] == "partial"
    rules = {r["rule"]: r for r in agent["verification"]["rules"]}
    assert agent["verification"]["status"] == "failed"
    assert [d["code"] for d in rules["transport"]["diagnostics"]] == ["invalid_outcome"]
    assert "operation_count_mismatch" in {d["code"] for d in rules["operations"]["diagnostics"]}
    detail = env.get(f"{LIST}/{trace_id}/{span_id}").json()  # the inconsistent run's detail says so too
    assert detail["verification"] == agent["verification"] and detail["verification"]["status"] == "failed"


def test_agent_model_requests_count_as_llm_calls(env: Env) -> None:
    roots = poll(
        lambda: env.get(f"{OBS}/services/{SERVICE}/spans/root", has_llm="true").json(),
        lambda r: len(r) >= 4,
    )
    llm_traces = {r["trace_id"] for r in roots}
    assert env.sent["success"]["trace_id"] in llm_traces and env.sent["in_workflow"]["trace_id"] in llm_traces
    assert env.sent["input_rejected"]["trace_id"] not in llm_traces  # no model request was made


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (LIST, {"start_time": "2024-01-01T00:00:00"}),  # naive
        (LIST, {"start_time": "2024-02-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"}),
        (LIST, {"cursor": "not-a-cursor"}),
        (LIST, {"limit": 0}),
        (LIST, {"limit": 251}),
        (LIST, {"outcome": "exploded"}),
        (LIST, {"agent_key": "x" * 300}),
        (
            "/api/v1/execution-resolution",
            {"service_namespace": "", "service_name": "s", "executable_type": "node", "runtime_id": "r"},
        ),
        (
            "/api/v1/execution-resolution",
            {"service_name": "s", "executable_type": "agent", "runtime_id": "r"},
        ),
        (
            "/api/v1/execution-resolution",
            {"service_namespace": "", "service_name": "s", "executable_type": "agent", "runtime_id": ""},
        ),
        (LIST, {"search": "(unclosed"}),
        (LIST, {"search": "tokens >"}),
        (LIST, {"search": "status = maybe"}),
        (LIST, {"search": "x" * 1001}),
        (LIST, {"search": " ".join(["a"] * 21)}),
        ("/api/v1/trace-evidence/XYZ", {}),
        ("/api/v1/trace-evidence/" + "a" * 33, {}),
    ],
)
def test_bad_input_is_422(env: Env, path: str, params: dict[str, Any]) -> None:
    assert env.get(path, **params).status_code == 422


def test_routes_need_a_session_or_token(env: Env) -> None:
    sent = env.sent["success"]
    paths = [
        LIST,
        f"{LIST}/{sent['trace_id']}/{sent['agent_span_id']}",
        f"/api/v1/trace-evidence/{sent['trace_id']}",
        "/api/v1/execution-resolution?service_namespace=&service_name=s&executable_type=agent&runtime_id=r",
    ]
    for path in paths:
        assert httpx.get(f"{env.stack.http_url}{path}").status_code == 401, path
        bearer = httpx.get(f"{env.stack.http_url}{path}", headers={"Authorization": "Bearer forged"})
        assert bearer.status_code == 401, path
        wrong_scope = env.token("evaluation:read")
        denied = httpx.get(f"{env.stack.http_url}{path}", headers={"Authorization": f"Bearer {wrong_scope}"})
        assert denied.status_code == 403 and denied.json()["missing_scopes"] == ["evidence:read"], path
    assert env.get(f"/api/v1/trace-evidence/{'0' * 32}").status_code == 404


def test_trace_document_lists_agent_runs(env: Env) -> None:
    sent = env.sent["in_workflow"]
    poll(lambda: env.runs(service_name=SERVICE), lambda runs: len(runs) == 5)
    doc = env.get(f"/api/v1/trace-document/{sent['trace_id']}").json()
    agent = doc["agents"][sent["agent_span_id"]]
    assert agent["runtime_id"] == sent["runtime_id"] and agent["outcome"] == "completed"
    node = next(s for s in doc["spans"] if s["name"] == "PlanTripNode")
    assert agent["parent_span_id"] == node["span_id"]
    assert [w["name"] for w in doc["workflows"].values()] == ["PlanTrip"]
