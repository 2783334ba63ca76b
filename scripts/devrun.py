"""`make run`: the whole stack as local processes under one small supervisor.

1. Writes `.env` with fresh secrets if it does not exist (never overwrites; `--write-env-only`
   stops here, which is `make secrets`).
2. Starts `python -m backend` (migrations on), `python -m ingestion` when that package exists,
   and the built frontend (scripts/static_server.py) when frontend/dist exists; data under
   ./.dbdata. Each child's output is printed with its name as a prefix.
3. Prints the UI, API and OTLP (gRPC and HTTP) URLs once the services answer.
4. Ctrl-C / SIGTERM: SIGTERM to every child (ingestion flushes its WAL), wait, exit 0. If a child
   dies on its own, the others are stopped and the supervisor exits non-zero.
Ports, data directory and .env path can be overridden (flags) so tests can run it in a sandbox.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from junjo_common.settings import read_env_file

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 90.0
EXIT_CHILD_FAILED = 1


def fresh_env_text() -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"# Written by `make run` on {stamp}. Never overwritten: delete this file to get new secrets",
            "# (existing sessions then end). See README.md for every variable.",
            "JUNJO_ENV=development",
            "JUNJO_LOG_LEVEL=info",
            "JUNJO_LOG_FORMAT=text",
            f"JUNJO_SESSION_SECRET={secrets.token_urlsafe(32)}",
            f"JUNJO_SECURE_COOKIE_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}",
            f"JUNJO_INTERNAL_GRPC_TOKEN={secrets.token_hex(32)}",
            "JUNJO_ALLOW_ORIGINS=http://localhost:5151,http://localhost:5153",
            "RUN_MIGRATIONS=true",
            "",
        ]
    )


def ensure_env_file(path: Path) -> bool:
    """Creates `path` with fresh secrets (mode 0600); False if it already existed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(fresh_env_text())
        f.flush()
        os.fsync(f.fileno())
    return True


@dataclass
class Layout:
    data_dir: Path
    http_port: int
    grpc_port: int
    otlp_port: int
    internal_port: int
    otlp_http_port: int = 4318
    ui_port: int = 5153

    def env(self) -> dict[str, str]:
        """Ports and data paths for both services (tests/support/stack.py uses the same layout)."""
        d = self.data_dir
        return {
            "PORT": str(self.http_port),
            "GRPC_PORT": str(self.grpc_port),
            "INGESTION_HOST": "127.0.0.1",
            "INGESTION_PORT": str(self.internal_port),
            "RUN_MIGRATIONS": "true",
            "JUNJO_SQLITE_PATH": str(d / "sqlite" / "junjo.db"),
            "JUNJO_METADATA_DB_PATH": str(d / "sqlite" / "metadata.db"),
            "JUNJO_PARQUET_STORAGE_PATH": str(d / "spans" / "parquet"),
            "OTLP_GRPC_PORT": str(self.otlp_port),
            "OTLP_HTTP_PORT": str(self.otlp_http_port),
            "INTERNAL_GRPC_PORT": str(self.internal_port),
            "BACKEND_GRPC_HOST": "127.0.0.1",
            "BACKEND_GRPC_PORT": str(self.grpc_port),
            "WAL_DIR": str(d / "spans" / "wal"),
            "SNAPSHOT_PATH": str(d / "spans" / "hot_snapshot.parquet"),
            "PARQUET_OUTPUT_DIR": str(d / "spans" / "parquet"),
            "PYTHONUNBUFFERED": "1",
        }


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    proc: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], width: int) -> None:
        # Own session: a terminal Ctrl-C reaches only the supervisor, which then stops children
        # in order with SIGTERM instead of everyone getting SIGINT at once.
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        label = f"{self.name:<{width}} | "
        self.pump = threading.Thread(target=_pump, args=(self.proc.stdout, label), daemon=True)
        self.pump.start()
        say(f"started {self.name} (pid {self.proc.pid})")

    def stop(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {timeout:.0f}s; killing it")
                self.proc.kill()
                self.proc.wait()
        if self.pump is not None:
            self.pump.join(2.0)
        return self.proc.returncode


_print_lock = threading.Lock()


def say(message: str, label: str = "make run | ") -> None:
    with _print_lock:
        sys.stdout.write(f"{label}{message}\n")
        sys.stdout.flush()


def _pump(stream: IO[bytes] | None, label: str) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        say(raw.decode(errors="replace").rstrip("\n"), label)
    stream.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback URL we build)
            return response.status == 200
    except OSError:
        return False


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def plan_children(layout: Layout, services: set[str], frontend_dist: Path) -> list[Child]:
    py = sys.executable
    children = []
    if "backend" in services:
        children.append(
            Child(
                "backend",
                [py, "-m", "backend"],
                lambda: http_ok(f"http://127.0.0.1:{layout.http_port}/health"),
            )
        )
    if "ingestion" in services and (ROOT / "ingestion" / "__main__.py").is_file():
        children.append(Child("ingestion", [py, "-m", "ingestion"], lambda: port_open(layout.otlp_port)))
    if "frontend" in services and (frontend_dist / "index.html").is_file():
        children.append(
            Child(
                "frontend",
                [
                    py,
                    str(ROOT / "scripts" / "static_server.py"),
                    "--dir",
                    str(frontend_dist),
                    "--port",
                    str(layout.ui_port),
                    "--api-host",
                    f"http://localhost:{layout.http_port}",
                ],
                lambda: http_ok(f"http://127.0.0.1:{layout.ui_port}/config.js"),
            )
        )
    return children


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stop_requested = threading.Event()

    def request_stop(self, sig: int, _frame: FrameType | None) -> None:
        if not self.stop_requested.is_set():
            say(f"{signal.Signals(sig).name} received; stopping services")
        self.stop_requested.set()

    def crashed(self) -> Child | None:
        return next((c for c in self.children if c.proc is not None and c.proc.poll() is not None), None)

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        pending = list(self.children)
        while pending and time.monotonic() < deadline:
            if self.stop_requested.is_set() or self.crashed():
                return False
            pending = [c for c in pending if not c.ready()]
            if pending:
                time.sleep(0.2)
        for child in pending:
            say(f"{child.name} is not ready after {timeout:.0f}s (still waiting)")
        return True

    def stop_all(self) -> dict[str, int | None]:
        # Frontend first, backend last: ingestion may still validate keys while it drains.
        return {c.name: c.stop(STOP_TIMEOUT_SECONDS) for c in reversed(self.children)}

    def run(self, env: dict[str, str], banner: Callable[[list[Child]], str]) -> int:
        width = max(len(c.name) for c in self.children)
        for child in self.children:
            child.start(env, width)
        if self.wait_ready(READY_TIMEOUT_SECONDS) and not self.stop_requested.is_set():
            say(banner(self.children))
        failed = None
        while not self.stop_requested.wait(0.2):
            failed = self.crashed()
            if failed is not None:
                break
        if failed is not None:
            code = failed.proc.returncode if failed.proc else None
            say(f"{failed.name} exited with code {code}; stopping the other services")
        codes = self.stop_all()
        say("stopped: " + ", ".join(f"{name} (exit {code})" for name, code in codes.items()))
        if failed is not None:
            return EXIT_CHILD_FAILED
        clean = all(code in (0, -signal.SIGTERM) for code in codes.values())
        return 0 if clean else EXIT_CHILD_FAILED


def banner_for(layout: Layout) -> Callable[[list[Child]], str]:
    def render(children: list[Child]) -> str:
        names = {c.name for c in children}
        lines = ["Junjo AI Studio is running:"]
        if "frontend" in names:
            lines.append(f"  UI    http://localhost:{layout.ui_port}")
        else:
            lines.append("  UI    (not started: frontend/dist missing; run `make frontend`)")
        lines.append(f"  API   http://localhost:{layout.http_port}  (GET /health, /openapi.json)")
        if "ingestion" in names:
            lines.append(f"  OTLP  grpc://localhost:{layout.otlp_port}  (gRPC metadata x-junjo-api-key)")
            lines.append(
                f"  OTLP  http://localhost:{layout.otlp_http_port}/v1/traces  (header x-junjo-api-key)"
            )
        lines.append(f"  data  {layout.data_dir}")
        lines.append("Press Ctrl-C to stop.")
        return "\n           ".join(lines)

    return render


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Run Junjo AI Studio locally (make run).")
    p.add_argument("--write-env-only", action="store_true", help="create .env if missing, then exit")
    p.add_argument(
        "--env-file",
        type=Path,
        help="default: JUNJO_DEVRUN_ENV_FILE or ./.env",
        default=Path(os.environ.get("JUNJO_DEVRUN_ENV_FILE") or ROOT / ".env"),
    )
    p.add_argument("--data-dir", type=Path, help="default: JUNJO_HOST_DB_DATA_PATH or ./.dbdata")
    p.add_argument("--http-port", type=int, default=None, help="backend HTTP (default PORT or 1323)")
    p.add_argument("--grpc-port", type=int, default=None, help="backend internal gRPC (GRPC_PORT or 50053)")
    p.add_argument("--otlp-port", type=int, default=None, help="ingestion OTLP (OTLP_GRPC_PORT or 50051)")
    p.add_argument(
        "--otlp-http-port", type=int, default=None, help="ingestion OTLP/HTTP (OTLP_HTTP_PORT or 4318)"
    )
    p.add_argument(
        "--internal-port",
        type=int,
        default=None,
        help="ingestion internal gRPC (INTERNAL_GRPC_PORT or 50052)",
    )
    p.add_argument("--ui-port", type=int, default=5153)
    p.add_argument("--frontend-dist", type=Path, default=ROOT / "frontend" / "dist")
    p.add_argument(
        "--services",
        default="backend,ingestion,frontend",
        help="comma-separated subset of backend,ingestion,frontend",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env_file = args.env_file.absolute()
    if ensure_env_file(env_file):
        say(f"wrote {env_file} with fresh secrets")
    else:
        say(f"using existing {env_file}")
    if args.write_env_only:
        return 0

    merged = {**read_env_file(env_file), **os.environ}

    def port(flag: int | None, name: str, default: int) -> int:
        return flag if flag is not None else int(merged.get(name) or default)

    data_dir = (args.data_dir or Path(merged.get("JUNJO_HOST_DB_DATA_PATH") or ROOT / ".dbdata")).absolute()
    layout = Layout(
        data_dir=data_dir,
        http_port=port(args.http_port, "PORT", 1323),
        grpc_port=port(args.grpc_port, "GRPC_PORT", 50053),
        otlp_port=port(args.otlp_port, "OTLP_GRPC_PORT", 50051),
        internal_port=port(args.internal_port, "INTERNAL_GRPC_PORT", 50052),
        otlp_http_port=port(args.otlp_http_port, "OTLP_HTTP_PORT", 4318),
        ui_port=args.ui_port,
    )
    (data_dir / "sqlite").mkdir(parents=True, exist_ok=True)
    (data_dir / "spans").mkdir(parents=True, exist_ok=True)
    services = {s.strip() for s in args.services.split(",") if s.strip()}
    children = plan_children(layout, services, args.frontend_dist.absolute())
    if not children:
        say("nothing to start")
        return EXIT_CHILD_FAILED
    supervisor = Supervisor(children)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    env = {**merged, **layout.env()}
    ui_origin = f"http://localhost:{layout.ui_port}"
    origins = [o for o in env.get("JUNJO_ALLOW_ORIGINS", "").split(",") if o.strip()]
    if origins and not env["JUNJO_ALLOW_ORIGINS"].lstrip().startswith("[") and ui_origin not in origins:
        env["JUNJO_ALLOW_ORIGINS"] = ",".join([*origins, ui_origin])  # the UI we serve must be allowed
    return supervisor.run(env, banner_for(layout))


if __name__ == "__main__":
    sys.exit(main())
