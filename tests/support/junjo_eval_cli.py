"""The real `junjo eval` CLI (junjo 0.69) as tests and benchmarks run it: a subprocess in a git
checkout of the application (runs record its clean HEAD), with the developer access token and the
backend URL in its environment, the harness tests/support/junjo_eval_harness.py exporting its spans
to the stack's ingestion.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from junjo.studio import StudioClient

from tests.support.api import ApiClient
from tests.support.stack import Stack

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = "tests.support.junjo_eval_harness:harness"
SERVICE = "greeter-e2e"
EXIT_OK, EXIT_INTERNAL, EXIT_CONFLICT, EXIT_SUBJECT, EXIT_EVALUATION, EXIT_PENDING = 0, 1, 4, 5, 6, 7
ALL_SCOPES = ["evaluation:read", "evaluation:write", "evidence:read"]


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


def developer_token(admin: ApiClient, name: str = "cli") -> str:
    response = admin.http.post("/api/v1/evaluation-tokens", json={"name": name, "scopes": ALL_SCOPES})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def application_checkout(directory: Path) -> Path:
    """An empty git repository with a committer identity, for `Cli.commit`."""
    directory.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    for key, value in (("user.email", "dev@example.com"), ("user.name", "Dev")):
        subprocess.run(["git", "-C", str(directory), "config", key, value], check=True)
    return directory


def case_args(cli: Cli, dataset_id: str, key: str, kind: str, name: str, expect_text: str) -> list[str]:
    """`dataset add` / `case generate` arguments for one greeting case (input files beside the checkout)."""
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


def write_json(directory: Path, name: str, value: Any) -> str:
    path = directory / name
    path.write_text(json.dumps(value))
    return str(path)
