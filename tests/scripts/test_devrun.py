"""`make run`'s supervisor (scripts/devrun.py) and static server, run for real in a sandbox:
temporary .env, data directory and free ports."""

from __future__ import annotations

import base64
import http.client
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.procs import ROOT, free_port
from tests.support.stack import SETUP_CODE

DEVRUN = ROOT / "scripts" / "devrun.py"
STATIC = ROOT / "scripts" / "static_server.py"


def _env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and line[0] != "#")


def test_env_file_is_written_once_and_never_overwritten(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(DEVRUN), "--write-env-only", "--env-file", str(env_file)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        if _ == 0:
            first = env_file.read_text()
            assert "wrote" in out.stdout
    assert env_file.read_text() == first and "using existing" in out.stdout
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = _env_values(env_file)
    assert len(base64.b64decode(values["JUNJO_SECURE_COOKIE_KEY"], validate=True)) == 32
    assert len(values["JUNJO_SESSION_SECRET"]) >= 32 and len(values["JUNJO_INTERNAL_GRPC_TOKEN"]) >= 32
    assert values["JUNJO_ENV"] == "development"
    other = tmp_path / "other.env"
    subprocess.run(
        [sys.executable, str(DEVRUN), "--write-env-only", "--env-file", str(other)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert _env_values(other)["JUNJO_SESSION_SECRET"] != values["JUNJO_SESSION_SECRET"]  # fresh secrets


class DevRun:
    def __init__(self, tmp_path: Path, services: str) -> None:
        self.ports = {name: free_port() for name in ("http", "grpc", "otlp", "otlp-http", "internal", "ui")}
        dist = tmp_path / "dist"
        (dist / "assets").mkdir(parents=True)
        (dist / "index.html").write_text("<!doctype html><title>Junjo</title>")
        (dist / "assets" / "app-1234.js").write_text("console.log('app')")
        self.log_path = tmp_path / "devrun.log"
        self.data_dir = tmp_path / "data"
        argv = [
            sys.executable,
            str(DEVRUN),
            "--env-file",
            str(tmp_path / ".env"),
            "--data-dir",
            str(self.data_dir),
            "--frontend-dist",
            str(dist),
            "--services",
            services,
            *(f"--{name}-port={port}" for name, port in self.ports.items()),
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not seen:\n{self.log()}")

    def child_pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", self.log())}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.child_pids().values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def devrun(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DevRun]:
    run = DevRun(tmp_path, getattr(request, "param", "backend,ingestion,frontend"))
    try:
        yield run
    finally:
        run.stop()


def test_run_serves_everything_and_ctrl_c_stops_it(devrun: DevRun) -> None:
    devrun.wait_for("Junjo AI Studio is running")
    log = devrun.log()
    ui_origin = f"http://localhost:{devrun.ports['ui']}"
    assert f"UI    {ui_origin}" in log
    assert f"API   http://localhost:{devrun.ports['http']}" in log
    ui, api = f"http://127.0.0.1:{devrun.ports['ui']}", f"http://127.0.0.1:{devrun.ports['http']}"
    config = httpx.get(f"{ui}/config.js")
    api_host = f"http://localhost:{devrun.ports['http']}"
    assert config.text == f'window.runtimeConfig = {{"API_HOST": "{api_host}"}};\n'
    assert config.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{ui}/traces/abc").text.startswith("<!doctype html>")  # SPA fallback
    # The one-time setup code is in make run's output (in development loopback may skip it).
    code = SETUP_CODE.search(log)
    assert code, log
    # The UI's own origin is allowed by the backend (CSRF/CORS), whatever the UI port.
    created = httpx.post(
        f"{api}/users/create-first-user",
        headers={"Origin": ui_origin},
        json={"email": "dev@example.com", "password": "dev password", "setup_code": code.group(1)},
    )
    assert created.status_code == 200
    assert (devrun.data_dir / "sqlite" / "junjo.db").is_file()
    for name in ("backend", "ingestion", "frontend"):  # prefixed child output
        assert re.search(rf"^{name} +\| ", log, re.MULTILINE), name
    pids = devrun.child_pids()
    assert set(pids) == {"backend", "ingestion", "frontend"}
    assert f"OTLP  grpc://localhost:{devrun.ports['otlp']}" in log
    assert f"OTLP  http://localhost:{devrun.ports['otlp-http']}/v1/traces" in log

    devrun.proc.send_signal(signal.SIGINT)
    assert devrun.proc.wait(120) == 0
    assert not any(_alive(pid) for pid in pids.values())
    assert "stopped: frontend (exit 0), ingestion (exit 0), backend (exit 0)" in devrun.log()


@pytest.mark.parametrize("devrun", ["backend,frontend"], indirect=True)
def test_a_dying_service_stops_the_rest(devrun: DevRun) -> None:
    devrun.wait_for("Junjo AI Studio is running")
    pids = devrun.child_pids()
    os.kill(pids["backend"], signal.SIGKILL)
    assert devrun.proc.wait(120) == 1
    assert not _alive(pids["frontend"])
    assert "backend exited with code -9; stopping the other services" in devrun.log()


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[int]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html>index")
    (dist / "assets" / "app-1.js").write_text("js")
    (tmp_path / "secret.txt").write_text("outside the root")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(STATIC),
            "--dir",
            str(dist),
            "--port",
            str(port),
            "--api-host",
            "http://api.test",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def _raw_get(port: int, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path)
    return conn.getresponse()


def test_static_server_rules(static_server: int) -> None:
    asset = _raw_get(static_server, "/assets/app-1.js")
    assert asset.status == 200 and asset.read() == b"js"
    assert asset.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert "javascript" in (asset.getheader("Content-Type") or "")
    assert _raw_get(static_server, "/assets/missing.js").status == 404
    index = _raw_get(static_server, "/")
    assert index.read() == b"<!doctype html>index" and index.getheader("Cache-Control") == "no-cache"
    for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "//etc/passwd"):
        response = _raw_get(static_server, sneaky)
        assert response.read() == b"<!doctype html>index", sneaky
    head = _raw_get(static_server, "/config.js", "HEAD")
    assert head.status == 200 and head.read() == b""
    expected = b'window.runtimeConfig = {"API_HOST": "http://api.test"};\n'
    assert _raw_get(static_server, "/config.js").read() == expected
