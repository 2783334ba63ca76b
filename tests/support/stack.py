"""The `stack`: real backend and ingestion processes on loopback sharing one data directory.

Every integration and end-to-end test starts services through here so they all run the same
way `make run` does (`python -m backend`, `python -m ingestion`), with fresh ports and secrets.
More ingesters (`start_extra_ingester`) get their own ports, WAL and snapshot path; the backend
reads them all when `INGESTION_TARGETS` (`Stack.ingestion_targets`) is in its environment.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.devrun import Layout
from tests.support.api import ApiClient
from tests.support.procs import ServiceProcess, free_port


@dataclass
class ExtraIngester:
    """One more ingester of a stack: its own ports, WAL_DIR and SNAPSHOT_PATH."""

    name: str
    otlp_port: int = field(default_factory=free_port)
    otlp_http_port: int = field(default_factory=free_port)
    internal_port: int = field(default_factory=free_port)
    proc: ServiceProcess | None = None

    @property
    def otlp_endpoint(self) -> str:
        return f"127.0.0.1:{self.otlp_port}"

    @property
    def internal_target(self) -> str:
        return f"127.0.0.1:{self.internal_port}"


@dataclass
class Stack:
    data_dir: Path
    http_port: int = field(default_factory=free_port)
    backend_grpc_port: int = field(default_factory=free_port)
    otlp_port: int = field(default_factory=free_port)
    otlp_http_port: int = field(default_factory=free_port)
    internal_port: int = field(default_factory=free_port)
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    cookie_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    extra_env: dict[str, str] = field(default_factory=dict)
    backend_env: dict[str, str] = field(default_factory=dict)  # the backend's only
    extra_ingesters: list[ExtraIngester] = field(default_factory=list)
    backend: ServiceProcess | None = None
    ingestion: ServiceProcess | None = None
    ui: ServiceProcess | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def otlp_endpoint(self) -> str:
        return f"127.0.0.1:{self.otlp_port}"

    @property
    def otlp_http_url(self) -> str:
        """The OTLP/HTTP traces endpoint (POST)."""
        return f"http://127.0.0.1:{self.otlp_http_port}/v1/traces"

    def env(self) -> dict[str, str]:
        """The `.env` both services read: `make run`'s layout (scripts/devrun.py) under data_dir,
        with this stack's ports and secrets."""
        layout = Layout(
            self.data_dir,
            http_port=self.http_port,
            grpc_port=self.backend_grpc_port,
            otlp_port=self.otlp_port,
            otlp_http_port=self.otlp_http_port,
            internal_port=self.internal_port,
        )
        return {
            "JUNJO_ENV": "development",
            "JUNJO_LOG_LEVEL": "info",
            "JUNJO_LOG_FORMAT": "json",
            "JUNJO_SESSION_SECRET": self.session_secret,
            "JUNJO_SECURE_COOKIE_KEY": self.cookie_key,
            "JUNJO_ALLOW_ORIGINS": "http://localhost:5151,http://localhost:5153,http://127.0.0.1:5153",
            **layout.env(),
            # Empty = derive from the session secret. Set explicitly so a developer's ./.env
            # (which `make run` writes with its own token) cannot leak into one service only.
            "JUNJO_INTERNAL_GRPC_TOKEN": "",
            **self.extra_env,
        }

    @property
    def ingestion_targets(self) -> str:
        """INGESTION_TARGETS naming the first ingester and every extra one."""
        targets = [f"127.0.0.1:{self.internal_port}", *(i.internal_target for i in self.extra_ingesters)]
        return ",".join(targets)

    def stop(self) -> None:
        for proc in (self.ui, self.ingestion, *(i.proc for i in self.extra_ingesters), self.backend):
            if proc is not None:
                proc.stop()


SETUP_CODE = re.compile(r"setup_code\W+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")


def setup_code(stack: Stack) -> str:
    """The newest one-time setup code the backend printed in its log (`setup_code_issued`)."""
    assert stack.backend is not None
    codes = SETUP_CODE.findall(stack.backend.log())
    assert codes, f"no setup code in the backend log:\n{stack.backend.log()}"
    return str(codes[-1])


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_backend(stack: Stack, log_dir: Path, timeout: float = 60.0) -> ServiceProcess:
    """Starts `python -m backend` with `stack.env()` and waits until GET /health answers 200.

    The internal gRPC server is bound before /health answers, so ValidateApiKey is usable too.
    The process is kept on `stack.backend`; `stack.stop()` stops it.
    """
    proc = ServiceProcess("backend", stack.env() | stack.backend_env, log_dir / "backend.log").start()
    stack.backend = proc
    proc.wait_until(lambda: _http_ok(f"{stack.http_url}/health"), timeout)
    return proc


def _grpc_serving(port: int, token: str) -> bool:
    from ingestion.healthcheck import check  # late import: only ingestion tests need grpc here

    return check(f"127.0.0.1:{port}", 1.0, token=token)[0]


def internal_token(stack: Stack) -> str:
    """The `x-junjo-internal-token` both services derive from `stack.env()`."""
    from junjo_common.internal_token import resolve_internal_token

    env = stack.env()
    return resolve_internal_token(env.get("JUNJO_INTERNAL_GRPC_TOKEN"), env.get("JUNJO_SESSION_SECRET"))


def start_ingestion(stack: Stack, log_dir: Path, timeout: float = 60.0) -> ServiceProcess:
    """Starts `python -m ingestion` with `stack.env()` and waits for grpc.health.v1 SERVING.

    SERVING means the WAL is recovered and the OTLP ports accept exports. The process is kept on
    `stack.ingestion`; `stack.stop()` stops it (SIGTERM: final flush to Parquet). A public port
    taken between `free_port()` and the bind (other test runs share the machine) is picked anew.
    """
    token = internal_token(stack)
    attempts = 3
    while True:
        proc = ServiceProcess("ingestion", stack.env(), log_dir / "ingestion.log").start()
        stack.ingestion = proc
        try:
            proc.wait_until(lambda: _grpc_serving(stack.internal_port, token), timeout)
            return proc
        except RuntimeError as exc:
            attempts -= 1
            last_line = str(exc).splitlines()[-1]
            if not attempts or not any(
                f"{name} " in last_line for name in ("OTLP_GRPC_PORT", "OTLP_HTTP_PORT")
            ):
                raise
            stack.otlp_port, stack.otlp_http_port = free_port(), free_port()


def start_extra_ingester(
    stack: Stack, name: str, log_dir: Path, timeout: float = 60.0, env: dict[str, str] | None = None
) -> ExtraIngester:
    """Starts one more `python -m ingestion` beside `stack.ingestion`: the same secrets and
    PARQUET_OUTPUT_DIR, its own ports, WAL_DIR and SNAPSHOT_PATH (under data_dir/<name>/);
    `env` overrides any of it."""
    ingester = ExtraIngester(name)
    stack.extra_ingesters.append(ingester)
    own = stack.data_dir / name
    env = (
        stack.env()
        | {
            "OTLP_GRPC_PORT": str(ingester.otlp_port),
            "OTLP_HTTP_PORT": str(ingester.otlp_http_port),
            "INTERNAL_GRPC_PORT": str(ingester.internal_port),
            "WAL_DIR": str(own / "wal"),
            "SNAPSHOT_PATH": str(own / "hot_snapshot.parquet"),
        }
        | (env or {})
    )
    ingester.proc = ServiceProcess("ingestion", env, log_dir / f"{name}.log").start()
    ingester.proc.wait_until(lambda: _grpc_serving(ingester.internal_port, internal_token(stack)), timeout)
    return ingester


def start_static_ui(
    stack: Stack, ui_port: int, dist: Path, log_dir: Path, timeout: float = 30.0, api_host: str | None = None
) -> ServiceProcess:
    """Serves the built frontend `dist` on `ui_port` the way `make run` does
    (`scripts/static_server.py`, its config.js pointing at this stack's backend, or at `api_host`)
    and waits until config.js answers. The process is kept on `stack.ui`; `stack.stop()` stops it."""
    args = ["--dir", str(dist), "--port", str(ui_port), "--api-host", api_host or stack.http_url]
    proc = ServiceProcess("scripts.static_server", {}, log_dir / "static.log", args).start()
    stack.ui = proc
    proc.wait_until(lambda: _http_ok(f"http://127.0.0.1:{ui_port}/config.js"), timeout)
    return proc


def start_with_api_key(stack: Stack, log_dir: Path, key_name: str = "bench") -> tuple[str, ServiceProcess]:
    """Starts the backend, creates the first user and an API key, then starts ingestion (which
    checks keys with the backend); returns the key and ingestion's process."""
    start_backend(stack, log_dir)
    with ApiClient(stack.http_url) as api:
        api.create_first_user()
        key = api.create_api_key(key_name)
    return key, start_ingestion(stack, log_dir)


@contextmanager
def signed_in_stack(data: Path, api_timeout: float = 30.0) -> Iterator[tuple[Stack, ApiClient]]:
    """Backend and ingestion whose indexer waits for the test (files are indexed when a test
    flushes), with the first user signed in; both stopped on exit."""
    stack = Stack(data, extra_env={"INDEXER_POLL_INTERVAL": "3600"})
    try:
        start_backend(stack, data / "logs")
        start_ingestion(stack, data / "logs")
        with ApiClient(stack.http_url, timeout=api_timeout) as api:
            api.create_first_user()
            yield stack, api
    finally:
        stack.stop()


@contextmanager
def running_ui(
    data: Path, log_dir: Path, dist: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Stack, str]]:
    """Backend, ingestion and the built frontend `dist` on a port of its own, whose origin the
    backend allows; yields the stack and the UI's URL and stops all three on exit."""
    ui_port = free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    stack = Stack(data, extra_env={**(extra_env or {}), "JUNJO_ALLOW_ORIGINS": ui_url})
    try:
        start_backend(stack, log_dir)
        start_ingestion(stack, log_dir)
        start_static_ui(stack, ui_port, dist, log_dir)
        yield stack, ui_url
    finally:
        stack.stop()
