"""The real `junjo eval` CLI (junjo 0.69) through a complete evaluation flow against our backend.

Real backend and ingestion processes; a developer access token and an ingestion API key made
through our own API; the harness (tests/support/junjo_eval_harness.py) runs a Junjo Workflow and
a Node whose spans its exporter sends to our ingestion. Every step must answer what the CLI
expects — exit code and JSON envelope — replays included (same answer) and conflicts (exit 4).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from junjo.studio import AttemptResultWrite, AttemptStatus, OpenTelemetrySpanReference, RunStart, StudioClient

from tests.support.api import OBS, ApiClient
from tests.support.polling import poll
from tests.support.stack import Stack, start_backend, start_ingestion

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = "tests.support.junjo_eval_harness:harness"
SERVICE = "greeter-e2e"
EXIT_OK, EXIT_CONFLICT, EXIT_SUBJECT, EXIT_EVALUATION = 0, 4, 5, 6


@dataclass
class Cli:
    stack: Stack
    token: str
    api_key: str
    app_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "JUNJO_AI_STUDIO_CLI_TOKEN": self.token,
            "JUNJO_AI_STUDIO_BACKEND_BASE_URL": self.stack.http_url,
            "JUNJO_EVAL_OTLP_ENDPOINT": self.stack.otlp_endpoint,
            "JUNJO_EVAL_API_KEY": self.api_key,
            "JUNJO_EVAL_SERVICE": SERVICE,
            **extra,
        }

    def __call__(self, *args: str, expect: int = EXIT_OK, **env: str) -> Any:
        """Runs `junjo eval --harness ... <args>` in the application's git checkout."""
        junjo = Path(sys.executable).with_name("junjo")
        done = subprocess.run(
            [str(junjo), "eval", "--harness", HARNESS, *args],
            cwd=self.app_dir,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        envelope = json.loads(done.stdout)
        assert done.returncode == expect, (done.returncode, envelope, done.stderr[-2000:])
        assert envelope["schema_version"] == 1
        return envelope["data"] if envelope["ok"] else envelope["error"]

    def studio(self, call: Any) -> Any:
        async def run() -> Any:
            async with StudioClient(base_url=self.stack.http_url, token=self.token) as client:
                return await call(client)

        return asyncio.run(run())

    def commit(self, message: str) -> str:
        """A new commit in the application's checkout: the revision runs and generated cases record."""
        (self.app_dir / "CHANGELOG").write_text(message)
        git = ["git", "-C", str(self.app_dir)]
        subprocess.run([*git, "add", "CHANGELOG"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", message], check=True)
        return subprocess.run(
            [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("eval-cli")
    stack = Stack(root / "data")
    try:
        start_backend(stack, root / "logs")
        start_ingestion(stack, root / "logs")
        with ApiClient(stack.http_url) as admin:
            admin.create_first_user()
            api_key = admin.create_api_key("greeter")
            response = admin.http.post(
                "/api/v1/evaluation-tokens",
                json={"name": "cli", "scopes": ["evaluation:read", "evaluation:write", "evidence:read"]},
            )
            assert response.status_code == 201, response.text
            token = response.json()["token"]
        app_dir = root / "app"
        app_dir.mkdir()
        subprocess.run(["git", "init", "-q", str(app_dir)], check=True)
        for key, value in (("user.email", "dev@example.com"), ("user.name", "Dev")):
            subprocess.run(["git", "-C", str(app_dir), "config", key, value], check=True)
        tool = Cli(stack, token, api_key, app_dir)
        tool.commit("baseline")
        yield tool
    finally:
        stack.stop()


def write_json(directory: Path, name: str, value: Any) -> str:
    path = directory / name
    path.write_text(json.dumps(value))
    return str(path)


def add_case_args(cli: Cli, dataset_id: str, key: str, kind: str, name: str, expect_text: str) -> list[str]:
    return [
        "--dataset-id",
        dataset_id,
        "--case-key",
        key,
        "--evaluation-name",
        "greets by name",
        "--target-kind",
        kind,
        "--target-key",
        f"greet-{kind}",
        "--input-version",
        "1",
        "--input",
        write_json(cli.app_dir.parent, f"{key}-input.json", {"name": name}),
        "--expectation",
        write_json(cli.app_dir.parent, f"{key}-expect.json", {"text": expect_text}),
        "--evaluator-key",
        "greeting.contains",
        "--evaluator-version",
        "1",
    ]


def test_complete_evaluation_flow_through_the_cli(cli: Cli) -> None:
    # datasets: create, replay, conflict
    dataset = cli("dataset", "create", "--key", "greetings", "--name", "Greetings")
    assert dataset["status"] == "draft" and dataset["application_key"] == "greeter"
    assert cli("dataset", "create", "--key", "greetings", "--name", "Greetings") == dataset
    conflict = cli("dataset", "create", "--key", "greetings", "--name", "Renamed", expect=EXIT_CONFLICT)
    assert "dataset_identity_conflict" in json.dumps(conflict)
    dataset_id = dataset["id"]

    # cases: authored (workflow, node, a crashing input), then one generated by a real execution
    ada = cli("dataset", "add", *add_case_args(cli, dataset_id, "ada", "workflow", "Ada", "Hello"))
    assert ada["ordinal"] == 1 and ada["origin"] == "authored" and ada["source_evidence"] is None
    assert cli("dataset", "add", *add_case_args(cli, dataset_id, "ada", "workflow", "Ada", "Hello")) == ada
    cli(
        "dataset",
        "add",
        *add_case_args(cli, dataset_id, "ada", "workflow", "Ada", "Bye"),
        expect=EXIT_CONFLICT,
    )
    cli("dataset", "add", *add_case_args(cli, dataset_id, "bob", "node", "Bob", "Hello"))
    cli("dataset", "add", *add_case_args(cli, dataset_id, "crash", "workflow", "crash", "Hello"))
    generated = cli("case", "generate", *add_case_args(cli, dataset_id, "gen", "workflow", "Gen", "Hello"))
    source = generated["source_evidence"]
    assert generated["origin"] == "generated" and generated["ordinal"] == 4
    assert source["kind"] == "junjo_execution" and source["service_name"] == SERVICE
    assert source["service_namespace"] == "" and source["executable_type"] == "workflow"
    assert (
        cli("case", "generate", *add_case_args(cli, dataset_id, "gen", "workflow", "Gen", "Hello"))
        == generated
    )

    # lock (idempotent); a new case afterwards conflicts
    locked = cli("dataset", "lock", "--dataset-id", dataset_id)
    assert locked["status"] == "locked" and locked["locked_at"]
    assert cli("dataset", "lock", "--dataset-id", dataset_id) == locked
    cli(
        "dataset",
        "add",
        *add_case_args(cli, dataset_id, "late", "node", "Late", "Hello"),
        expect=EXIT_CONFLICT,
    )
    listed = cli("dataset", "list")
    assert [d["id"] for d in listed["items"]] == [dataset_id] and listed["next_cursor"] is None
    assert [c["case_key"] for c in cli("dataset", "get", "--dataset-id", dataset_id)["cases"]] == [
        "ada",
        "bob",
        "crash",
        "gen",
    ]

    # baseline: the crashing case is an operational error (exit 5), the others pass
    run_args = ["--dataset-id", dataset_id, "--request-key", "baseline", "--run-label", "baseline"]
    baseline = cli("run", "execute", *run_args, expect=EXIT_SUBJECT)
    statuses = [m["attempt"]["status"] for m in baseline["cases"]]
    assert statuses == ["passed", "passed", "error", "passed"]
    assert baseline["run"]["status"] == "completed"
    bound = [m["attempt"]["subject_evidence"] for m in baseline["cases"]]
    assert all(b is not None and b["service_name"] == SERVICE for b in bound)
    assert cli("run", "execute", *run_args, expect=EXIT_SUBJECT) == baseline  # replay: nothing re-executed

    # a candidate revision: started and partly recorded through the client, then resumed
    candidate_revision = cli.commit("candidate says Hi")
    cli("run", "execute", *run_args, expect=EXIT_CONFLICT)  # same request key, other revision
    candidate = cli.studio(
        lambda c: c.start_run(
            RunStart(
                dataset_id=dataset_id,
                request_key="candidate",
                run_label="candidate",
                source_revision=candidate_revision,
            )
        )
    )
    first, second = (m.attempt.id for m in candidate.cases[:2])
    cli.studio(
        lambda c: c.record_attempt_result(
            first, AttemptResultWrite(status=AttemptStatus.ERROR, reason="recorded by hand", duration_ms=None)
        )
    )
    stray = OpenTelemetrySpanReference(
        service_namespace="", service_name=SERVICE, trace_id="f" * 32, span_id="e" * 16
    )
    cli.studio(lambda c: c.bind_attempt_evidence(second, stray))  # bound, never judged: an interrupted runner
    resumed = cli(
        "run", "resume", "--run-id", candidate.run.id, expect=EXIT_SUBJECT, JUNJO_EVAL_VARIANT="candidate"
    )
    by_key = {m["case"]["case_key"]: m["attempt"] for m in resumed["cases"]}
    assert by_key["ada"]["reason"] == "recorded by hand"
    assert by_key["bob"]["status"] == "error" and "stopped after binding" in by_key["bob"]["reason"]
    assert by_key["crash"]["status"] == "error"
    assert (
        by_key["gen"]["status"] == "failed"
        and by_key["gen"]["reason"] == "The greeting lacks the expected text."
    )
    assert resumed["run"]["status"] == "completed" and resumed["run"]["source_revision"] == candidate_revision

    # list, get, compare
    runs = cli("run", "list", "--dataset-id", dataset_id)
    assert {r["run"]["id"] for r in runs["items"]} == {baseline["run"]["id"], candidate.run.id}
    summaries = {r["run"]["run_label"]: r["outcome_summary"] for r in runs["items"]}
    assert summaries["baseline"]["passed"] == 3 and summaries["baseline"]["error"] == 1
    assert summaries["baseline"]["pass_rate"] == 1.0 and summaries["baseline"]["coverage"] == 0.75
    assert summaries["candidate"]["failed"] == 1 and summaries["candidate"]["error"] == 3
    node_only = cli("run", "list", "--dataset-id", dataset_id, "--target-kind", "node")
    assert node_only["scope"]["target_kind"] == "node"
    assert (
        all(r["outcome_summary"]["total"] == 1 for r in node_only["items"]) and len(node_only["items"]) == 2
    )
    assert cli("run", "get", "--run-id", candidate.run.id) == resumed
    comparison = cli(
        "run", "compare", "--baseline-run-id", baseline["run"]["id"], "--candidate-run-id", candidate.run.id
    )
    transitions = {row["case"]["case_key"]: row["transition"] for row in comparison["rows"]}
    assert transitions == {
        "ada": "newly_errored",
        "bob": "newly_errored",
        "crash": "unchanged",
        "gen": "regressed",
    }

    # attempts and evidence membership
    gen_attempt = baseline["cases"][3]["attempt"]
    detail = cli("attempt", "get", "--attempt-id", gen_attempt["id"])
    assert detail["attempt"] == gen_attempt and detail["case"]["case_key"] == "gen"
    subject = gen_attempt["subject_evidence"]
    membership = cli(
        "evidence",
        "membership",
        "--kind",
        "junjo_execution",
        "--executable-type",
        subject["executable_type"],
        "--runtime-id",
        subject["runtime_id"],
    )
    assert membership["items"] == [
        {
            "role": "attempt_subject",
            "dataset_id": dataset_id,
            "case_id": generated["id"],
            "run_id": baseline["run"]["id"],
            "attempt_id": gen_attempt["id"],
        }
    ]
    source_membership = cli(
        "evidence",
        "membership",
        "--kind",
        "junjo_execution",
        "--executable-type",
        "workflow",
        "--runtime-id",
        source["runtime_id"],
    )
    assert [(m["role"], m["case_id"]) for m in source_membership["items"]] == [
        ("case_source", generated["id"])
    ]

    # the harness's executions really reached our ingestion
    with ApiClient(cli.stack.http_url) as admin:
        admin.sign_in()
        services = poll(lambda: admin.http.get(f"{OBS}/services").json(), lambda names: SERVICE in names)
    assert SERVICE in services
