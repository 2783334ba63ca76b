"""The evaluation control API driven by the real junjo 0.69 `StudioClient` against a real backend:
every answer must parse as the client's closed, strict models; replays return the stored record;
contradicting writes are 409 `{code, message}`; and hostile input is refused without a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from junjo.studio import (
    AttemptResultWrite,
    AttemptStatus,
    CaseCreate,
    CaseOrigin,
    DatasetCreate,
    ExecutableType,
    OpenTelemetrySpanReference,
    RunStart,
    SemanticExecutionReference,
    StudioAuthenticationError,
    StudioAuthorizationError,
    StudioConflictError,
    StudioRequestError,
    StudioValidationError,
    TargetKind,
)

from tests.backend.conftest import BOTH_ENGINES
from tests.backend.evaluation_support import Studio, create_token, empty_evaluation_store
from tests.support.api import ApiClient
from tests.support.stack import Stack

ENGINES = BOTH_ENGINES  # every test here runs against SQLite and against PostgreSQL

E = "/api/v1/evaluation"
REV_A = "a" * 40
REV_B = "b" * 40


@pytest.fixture
def admin(backend_stack: Stack) -> Iterator[ApiClient]:
    empty_evaluation_store(backend_stack)
    with ApiClient(backend_stack.http_url) as client:
        client.create_first_user()
        yield client


@pytest.fixture
def studio(admin: ApiClient, backend_stack: Stack) -> Studio:
    return Studio(backend_stack.http_url, create_token(admin))


@pytest.fixture
def raw(studio: Studio) -> Iterator[httpx.Client]:
    """A cookie-less client with the token, for requests the StudioClient would refuse to send."""
    headers = {"Authorization": f"Bearer {studio.token}"}
    with httpx.Client(base_url=studio.base_url, headers=headers, timeout=30) as client:
        yield client


def dataset_request(key: str = "smoke", name: str = "Smoke") -> DatasetCreate:
    return DatasetCreate(application_key="demo-app", key=key, name=name, description=None)


def authored(
    key: str, *, evaluation: str = "greeting", target_key: str = "greet", value: int = 1
) -> CaseCreate:
    return CaseCreate(
        case_key=key,
        evaluation_name=evaluation,
        origin=CaseOrigin.AUTHORED,
        target_kind=TargetKind.NODE,
        target_key=target_key,
        target_name="Greet",
        input_version=1,
        input_json={"name": "Ada", "n": value, "nested": {"b": 1, "a": [1, 2.5, None, True]}},
        expectation_json={"contains": "Ada"},
        evaluator_key="contains",
        evaluator_version=1,
    )


def execution(runtime_id: str) -> SemanticExecutionReference:
    return SemanticExecutionReference(
        service_namespace="",
        service_name="demo",
        executable_type=ExecutableType.WORKFLOW,
        runtime_id=runtime_id,
    )


def locked_dataset(studio: Studio, cases: int = 2) -> str:
    dataset = studio(lambda c: c.create_dataset(dataset_request()))
    for i in range(cases):
        studio(lambda c, i=i: c.add_case(dataset.id, authored(f"case-{i}", value=i)))  # type: ignore[misc]
    studio(lambda c: c.lock_dataset(dataset.id))
    return dataset.id


def conflict_code(error: pytest.ExceptionInfo[StudioConflictError]) -> str:
    return error.value.code


def test_dataset_lifecycle_replays_and_conflicts(studio: Studio) -> None:
    created = studio(lambda c: c.create_dataset(dataset_request()))
    assert created.status == "draft" and created.locked_at is None and created.created_by_user_id
    assert studio(lambda c: c.create_dataset(dataset_request())) == created  # replay
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.create_dataset(dataset_request(name="Other")))
    assert conflict_code(conflict) == "dataset_identity_conflict"

    first = studio(lambda c: c.add_case(created.id, authored("one")))
    assert (
        first.ordinal == 1 and first.source_evidence is None and first.expectation_json == {"contains": "Ada"}
    )
    assert studio(lambda c: c.add_case(created.id, authored("one"))) == first
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.add_case(created.id, authored("one", value=2)))
    assert conflict_code(conflict) == "case_identity_conflict"

    source = OpenTelemetrySpanReference(
        service_namespace="ns", service_name="demo", trace_id="1" * 32, span_id="2" * 16
    )
    generated = studio(
        lambda c: c.add_case(
            created.id,
            authored("two").model_copy(
                update={"origin": CaseOrigin.GENERATED, "source_evidence": source, "source_revision": REV_A}
            ),
        )
    )
    assert generated.ordinal == 2 and generated.source_evidence == source

    with pytest.raises(StudioConflictError) as conflict:
        studio(
            lambda c: c.start_run(
                RunStart(dataset_id=created.id, request_key="r", run_label="x", source_revision=REV_A)
            )
        )
    assert conflict_code(conflict) == "dataset_not_locked"

    locked = studio(lambda c: c.lock_dataset(created.id))
    assert locked.status == "locked" and locked.locked_at is not None
    assert studio(lambda c: c.lock_dataset(created.id)) == locked  # locked_at unchanged
    assert (
        studio(lambda c: c.add_case(created.id, authored("one"))) == first
    )  # identical replay still answers
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.add_case(created.id, authored("three")))
    assert conflict_code(conflict) == "dataset_locked"

    detail = studio(lambda c: c.get_dataset(created.id))
    assert [case.case_key for case in detail.cases] == ["one", "two"] and detail.dataset == locked
    membership = studio(lambda c: c.get_evidence_membership(source))
    assert [(m.role, m.case_id) for m in membership.items] == [("case_source", generated.id)]
    with pytest.raises(StudioRequestError) as missing:
        studio(lambda c: c.get_dataset("nope"))
    assert missing.value.status_code == 404


def test_run_flow_results_summaries_and_comparison(studio: Studio) -> None:
    dataset_id = locked_dataset(studio, cases=3)
    start = RunStart(
        dataset_id=dataset_id, request_key="baseline", run_label="baseline", source_revision=REV_A
    )
    baseline = studio(lambda c: c.start_run(start))
    assert baseline.run.status == "active" and [m.attempt.status for m in baseline.cases] == ["queued"] * 3
    assert studio(lambda c: c.start_run(start)) == baseline  # the runner's resume relies on this
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.start_run(start.model_copy(update={"source_revision": REV_B})))
    assert conflict_code(conflict) == "run_identity_conflict"

    attempts = [m.attempt.id for m in baseline.cases]
    passed = AttemptResultWrite(status=AttemptStatus.PASSED, reason="contains Ada", duration_ms=12)
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.record_attempt_result(attempts[0], passed))
    assert conflict_code(conflict) == "attempt_evidence_required"

    bound = studio(lambda c: c.bind_attempt_evidence(attempts[0], execution("run-1")))
    assert bound.subject_evidence == execution("run-1") and bound.evidence_bound_at is not None
    assert studio(lambda c: c.bind_attempt_evidence(attempts[0], execution("run-1"))) == bound
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.bind_attempt_evidence(attempts[0], execution("run-9")))
    assert conflict_code(conflict) == "attempt_evidence_conflict"
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.bind_attempt_evidence(attempts[1], execution("run-1")))
    assert conflict_code(conflict) == "evidence_already_bound"

    recorded = studio(lambda c: c.record_attempt_result(attempts[0], passed))
    assert recorded.status == "passed" and recorded.duration_ms == 12 and recorded.recorded_at is not None
    assert studio(lambda c: c.record_attempt_result(attempts[0], passed)) == recorded
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.record_attempt_result(attempts[0], passed.model_copy(update={"reason": "other"})))
    assert conflict_code(conflict) == "attempt_result_conflict"
    studio(lambda c: c.bind_attempt_evidence(attempts[1], execution("run-2")))
    failed = AttemptResultWrite(status=AttemptStatus.FAILED, reason="no Ada", duration_ms=None)
    studio(lambda c: c.record_attempt_result(attempts[1], failed))
    assert studio(lambda c: c.get_run(baseline.run.id)).run.status == "active"
    error = AttemptResultWrite(status=AttemptStatus.ERROR, reason="Target execution failed: KeyError.")
    studio(lambda c: c.record_attempt_result(attempts[2], error))
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.bind_attempt_evidence(attempts[2], execution("late")))
    assert conflict_code(conflict) == "attempt_terminal"

    done = studio(lambda c: c.get_run(baseline.run.id))
    assert done.run.status == "completed" and done.run.completed_at is not None
    assert [m.attempt.status for m in done.cases] == ["passed", "failed", "error"]

    detail = studio(lambda c: c.get_attempt(attempts[0]))
    assert detail.run == done.run and detail.case == done.cases[0].case and detail.attempt == recorded

    candidate = studio(
        lambda c: c.start_run(
            RunStart(dataset_id=dataset_id, request_key="cand", run_label="candidate", source_revision=REV_B)
        )
    )
    for i, (membership, status) in enumerate(
        zip(candidate.cases, ["failed", "passed", "passed"], strict=True)
    ):
        studio(lambda c, a=membership.attempt.id, i=i: c.bind_attempt_evidence(a, execution(f"cand-{i}")))  # type: ignore[misc]
        write = AttemptResultWrite(status=AttemptStatus(status), reason=f"judged {status}", duration_ms=5)
        studio(lambda c, a=membership.attempt.id, w=write: c.record_attempt_result(a, w))  # type: ignore[misc]

    comparison = studio(lambda c: c.compare_runs(baseline.run.id, candidate.run.id))
    assert [row.transition for row in comparison.rows] == ["regressed", "improved", "recovered"]
    assert comparison.transition_counts.regressed == 1 and comparison.candidate_summary.pass_rate == 2 / 3

    listed = studio(lambda c: c.list_runs(dataset_id=dataset_id))
    assert {item.run.id for item in listed.items} == {candidate.run.id, baseline.run.id}
    summary = {item.run.id: item.outcome_summary for item in listed.items}[baseline.run.id]
    assert (summary.total, summary.judged, summary.passed, summary.failed, summary.error) == (3, 2, 1, 1, 1)
    assert summary.pass_rate == 0.5 and summary.coverage == 2 / 3
    facets = listed.items[0].target_facets
    assert [(f.target_key, f.case_count) for f in facets] == [("greet", 3)]
    assert studio(lambda c: c.list_runs(target_key="absent")).items == ()
    assert (
        len(studio(lambda c: c.list_runs(target_kind=TargetKind.NODE, evaluation_name="greeting")).items) == 2
    )

    membership = studio(lambda c: c.get_evidence_membership(execution("run-1")))
    assert [(m.role, m.attempt_id, m.run_id) for m in membership.items] == [
        ("attempt_subject", attempts[0], baseline.run.id)
    ]
    assert studio(lambda c: c.get_evidence_membership(execution("never"))).items == ()


def test_dataset_holds_at_most_100_cases(studio: Studio) -> None:
    dataset = studio(lambda c: c.create_dataset(dataset_request()))

    async def fill(client: Any) -> None:
        for i in range(100):
            await client.add_case(dataset.id, authored(f"c{i:03d}"))

    studio(fill)
    with pytest.raises(StudioConflictError) as conflict:
        studio(lambda c: c.add_case(dataset.id, authored("c100")))
    assert conflict_code(conflict) == "dataset_case_limit_reached"
    assert len(studio(lambda c: c.get_dataset(dataset.id)).cases) == 100


def test_pagination_is_keyset_and_cursors_are_checked(studio: Studio, raw: httpx.Client) -> None:
    for i in range(5):
        studio(lambda c, i=i: c.create_dataset(dataset_request(key=f"d{i}")))  # type: ignore[misc]
    studio(lambda c: c.create_dataset(DatasetCreate(application_key="other-app", key="x", name="X")))
    seen: list[str] = []
    cursor = None
    while True:
        page = studio(
            lambda c, cursor=cursor: c.list_datasets(application_key="demo-app", cursor=cursor, limit=2)
        )  # type: ignore[misc]
        seen += [d.key for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"d{i}" for i in range(5)] and len(seen) == 5
    for bad in ["garbage", "eyJ2IjoxfQ", "AAAA", "x" * 1024]:
        with pytest.raises(StudioValidationError):
            studio(lambda c, bad=bad: c.list_datasets(cursor=bad))  # type: ignore[misc]
    runs_cursor_from_datasets = studio(lambda c: c.list_datasets(limit=1)).next_cursor
    with pytest.raises(StudioValidationError):
        studio(lambda c: c.list_runs(cursor=runs_cursor_from_datasets))
    assert raw.get(f"{E}/datasets", params={"cursor": "x" * 1025}).status_code == 422
    assert raw.get(f"{E}/datasets", params={"limit": 0}).status_code == 422
    assert raw.get(f"{E}/datasets", params={"limit": 101}).status_code == 422


def test_scopes_and_authentication(admin: ApiClient, backend_stack: Stack) -> None:
    reader = Studio(backend_stack.http_url, create_token(admin, ["evaluation:read"]))
    assert reader(lambda c: c.list_datasets()).items == ()
    with pytest.raises(StudioAuthorizationError):
        reader(lambda c: c.create_dataset(dataset_request()))
    evidence_only = Studio(backend_stack.http_url, create_token(admin, ["evidence:read"]))
    with pytest.raises(StudioAuthorizationError):
        evidence_only(lambda c: c.list_runs())
    with pytest.raises(StudioAuthenticationError):
        Studio(backend_stack.http_url, "jcli_unknown")(lambda c: c.list_datasets())
    with pytest.raises(StudioAuthenticationError):
        Studio(backend_stack.http_url, admin.create_api_key())(lambda c: c.list_datasets())
    assert httpx.get(f"{backend_stack.http_url}{E}/datasets").status_code == 401
    # no trailing-slash redirects on the routes the client calls
    token = create_token(admin)
    response = httpx.get(f"{backend_stack.http_url}{E}/runs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and not response.is_redirect


def _post(raw: httpx.Client, path: str, body: Any) -> int:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return raw.post(path, content=content, headers={"Content-Type": "application/json"}).status_code


def test_hostile_input_is_refused_cleanly(studio: Studio, raw: httpx.Client) -> None:
    dataset = studio(lambda c: c.create_dataset(dataset_request()))
    case = authored("ok").model_dump(mode="json")
    cases = f"{E}/datasets/{dataset.id}/cases"
    assert _post(raw, cases, {**case, "input_json": {"blob": "x" * 17000}}) == 422
    assert _post(raw, cases, {**case, "extra": 1}) == 422
    assert _post(raw, cases, {**case, "case_key": " padded"}) == 422
    assert _post(raw, cases, {**case, "case_key": "k" * 129}) == 422
    assert _post(raw, cases, {**case, "case_key": "\ud800"}) == 422
    assert _post(raw, cases, {**case, "input_version": 2.0}) == 422
    assert _post(raw, cases, {**case, "input_version": True}) == 422
    assert _post(raw, cases, {**case, "input_version": 2**31}) == 422
    assert _post(raw, cases, {**case, "target_kind": "NODE"}) == 422
    assert _post(raw, cases, {**case, "origin": "generated"}) == 422  # generated without provenance
    assert _post(raw, cases, json.dumps({**case, "input_json": {"n": float("nan")}})) == 422
    assert _post(raw, cases, "[" * 50_000 + "]" * 50_000) == 400  # nesting beyond the parser: refused, no 500
    assert _post(raw, cases, '{"case_key": ') == 422
    assert _post(raw, cases, b"\xff\xfe") == 422
    assert _post(raw, cases, "x" * (300 * 1024)) == 413
    assert _post(raw, f"{E}/datasets", {"application_key": "a", "key": "b"}) == 422
    assert (
        _post(
            raw,
            f"{E}/runs",
            {"dataset_id": dataset.id, "request_key": "r", "run_label": "l", "source_revision": "HEAD"},
        )
        == 422
    )
    assert (
        _post(
            raw,
            f"{E}/runs",
            {"dataset_id": "x" * 65, "request_key": "r", "run_label": "l", "source_revision": REV_A},
        )
        == 422
    )
    assert raw.get(f"{E}/datasets/{'x' * 65}").status_code == 422
    assert raw.get(f"{E}/datasets/..%2F..%2Fetc").status_code == 404
    assert raw.get(f"{E}/runs/unknown").status_code == 404
    assert raw.get(f"{E}/attempts/unknown").status_code == 404
    assert (
        raw.put(f"{E}/attempts/unknown/result", json={"status": "passed", "reason": "r"}).status_code == 404
    )
    assert (
        raw.put(f"{E}/attempts/unknown/result", json={"status": "queued", "reason": "r"}).status_code == 422
    )
    assert (
        raw.put(
            f"{E}/attempts/unknown/result", json={"status": "passed", "reason": "r", "duration_ms": -1}
        ).status_code
        == 422
    )
    assert raw.put(f"{E}/attempts/unknown/evidence", json={"evidence": {"kind": "other"}}).status_code == 422
    assert raw.put(f"{E}/datasets/unknown/lock").status_code == 404
    membership = {"kind": "junjo_execution", "service_namespace": "", "service_name": "demo", "limit": 5}
    assert raw.get(f"{E}/evidence-membership", params=membership).status_code == 422  # no runtime identity
    assert (
        raw.get(
            f"{E}/evidence-membership", params={**membership, "trace_id": "1" * 32, "span_id": "2" * 16}
        ).status_code
        == 422
    )
    params = {**membership, "executable_type": "workflow", "runtime_id": "r1"}
    assert raw.get(f"{E}/evidence-membership", params=params).json() == {"items": [], "next_cursor": None}
    assert raw.get(f"{E}/evidence-membership", params={**params, "cursor": "bad"}).status_code == 422
    # nothing above was stored
    assert studio(lambda c: c.get_dataset(dataset.id)).cases == ()


def test_attempt_evidence_routes_refuse_hostile_input(
    studio: Studio, raw: httpx.Client, admin: ApiClient
) -> None:
    base = "/api/v1/trace-evidence/attempts"
    assert raw.get(f"{base}/unknown/manifest").status_code == 404
    assert raw.get(f"{base}/{'x' * 65}/manifest").status_code == 422
    assert raw.post(f"{base}/unknown/spans", json={"span_ids": ["a" * 16]}).status_code == 404
    for body in (
        {"span_ids": []},
        {"span_ids": ["a" * 16, "a" * 16]},
        {"span_ids": ["A" * 16]},
        {"span_ids": ["a" * 15]},
        {"span_ids": ["a" * 16], "extra": True},
        {"span_ids": [f"{i:016x}" for i in range(1001)]},
        {"span_ids": "a" * 16},
    ):
        assert raw.post(f"{base}/unknown/spans", json=body).status_code == 422, body
    assert _post(raw, f"{base}/unknown/spans", "x" * (300 * 1024)) == 413
    # an attempt with no binding is "pending" (404), never a 500
    dataset_id = locked_dataset(studio, cases=1)
    run = studio(
        lambda c: c.start_run(
            RunStart(dataset_id=dataset_id, request_key="r", run_label="r", source_revision=REV_A)
        )
    )
    attempt_id = run.cases[0].attempt.id
    assert raw.get(f"{base}/{attempt_id}/manifest").status_code == 404
    reader = Studio(studio.base_url, create_token(admin, ["evaluation:read"]))
    headers = {"Authorization": f"Bearer {reader.token}"}
    assert httpx.get(f"{studio.base_url}{base}/{attempt_id}/manifest", headers=headers).status_code == 403
    assert httpx.get(f"{studio.base_url}{base}/{attempt_id}/manifest").status_code == 401


def test_concurrent_replays_store_one_record(studio: Studio) -> None:
    """The client retries: identical requests racing each other must all get the same record."""

    async def race(client: Any) -> list[Any]:
        datasets = await asyncio.gather(*(client.create_dataset(dataset_request()) for _ in range(8)))
        dataset_id = datasets[0].id
        cases = await asyncio.gather(*(client.add_case(dataset_id, authored("same")) for _ in range(8)))
        await client.lock_dataset(dataset_id)
        start = RunStart(dataset_id=dataset_id, request_key="r", run_label="r", source_revision=REV_A)
        runs = await asyncio.gather(*(client.start_run(start) for _ in range(8)))
        return [datasets, cases, runs]

    datasets, cases, runs = studio(race)
    assert len({d.id for d in datasets}) == len({c.id for c in cases}) == len({r.run.id for r in runs}) == 1
    assert len(studio(lambda c: c.list_runs(dataset_id=datasets[0].id)).items) == 1
