"""Container start scripts and probes, run for real on this machine.

- frontend/docker-entrypoint.sh: config.js per JUNJO_ENV; production refuses to start without the
  JUNJO_PROD_* URLs (non-zero exit, one line naming the variable); hostile values never reach JS.
- deploy/python-entrypoint.sh: as root it prepares and hands the data directory to uid 10001 and
  drops privileges; as a non-root user it explains how to fix an unwritable data directory.
- ingestion/healthcheck.py: exit 0 only for SERVING (overall, and `cold_storage` where the server has it),
  against a real grpc.health.v1 server.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tests.deploy.nginx_support import run_entrypoint
from tests.support.procs import ROOT, free_port

PYTHON_ENTRYPOINT = ROOT / "deploy" / "python-entrypoint.sh"
SERVICE_UID = 10001
HealthServer = tuple[int, health.HealthServicer]
URLS = {
    "JUNJO_PROD_FRONTEND_URL": "https://junjo.example.com",
    "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.com",
    "JUNJO_PROD_INGESTION_URL": "https://ingestion.junjo.example.com",
}


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    return tmp_path / "run" / "junjo"  # created by the entrypoint, as on the container's tmpfs /run


def test_development_writes_localhost_config(runtime: Path) -> None:
    result = run_entrypoint(runtime, {"JUNJO_ENV": "development"})
    assert result.returncode == 0, result.stderr
    config_js = (runtime / "config.js").read_text()
    assert config_js == 'window.runtimeConfig = { API_HOST: "http://localhost:1323" };\n'
    assert 'set $junjo_api_origin "http://localhost:1323";' in (runtime / "junjo-runtime.conf").read_text()
    assert "JUNJO_ENV=development" in result.stdout


def test_unset_env_means_development(runtime: Path) -> None:
    result = run_entrypoint(runtime, {})
    assert result.returncode == 0, result.stderr
    assert "http://localhost:1323" in (runtime / "config.js").read_text()


@pytest.mark.parametrize("missing", sorted(URLS))
def test_production_refuses_to_start_without_each_url(runtime: Path, missing: str) -> None:
    env = {"JUNJO_ENV": "production", **{k: v for k, v in URLS.items() if k != missing}}
    result = run_entrypoint(runtime, env, "echo", "nginx-started")
    assert result.returncode != 0
    assert "nginx-started" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("junjo-frontend: error: ")
    assert f"{missing} is required when JUNJO_ENV=production" in lines[0]
    assert not (runtime / "config.js").exists()


def test_production_without_any_url_names_the_first(runtime: Path) -> None:
    result = run_entrypoint(runtime, {"JUNJO_ENV": "production"})
    assert result.returncode == 1
    assert "JUNJO_PROD_FRONTEND_URL is required" in result.stderr


def test_production_writes_backend_url_and_execs_the_command(runtime: Path) -> None:
    env = {"JUNJO_ENV": "production", **URLS, "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.com:8443/"}
    result = run_entrypoint(runtime, env, "echo", "nginx-started")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("nginx-started")
    assert (runtime / "config.js").read_text() == (
        'window.runtimeConfig = { API_HOST: "https://api.junjo.example.com:8443" };\n'
    )
    runtime_conf = (runtime / "junjo-runtime.conf").read_text()
    assert 'set $junjo_api_origin "https://api.junjo.example.com:8443";' in runtime_conf


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JUNJO_PROD_BACKEND_URL", "api.junjo.example.com", "must start with http:// or https://"),
        ("JUNJO_PROD_BACKEND_URL", 'https://x.com";alert(1)//', "characters not allowed"),
        ("JUNJO_PROD_BACKEND_URL", "https://x.com $(id)", "characters not allowed"),
        ("JUNJO_PROD_FRONTEND_URL", "ftp://junjo.example.com", "must start with http:// or https://"),
    ],
)
def test_production_rejects_bad_urls(runtime: Path, name: str, value: str, message: str) -> None:
    result = run_entrypoint(runtime, {"JUNJO_ENV": "production", **URLS, name: value})
    assert result.returncode == 1
    assert name in result.stderr and message in result.stderr
    assert not (runtime / "config.js").exists()


def test_unknown_environment_is_refused(runtime: Path) -> None:
    result = run_entrypoint(runtime, {"JUNJO_ENV": "staging"})
    assert result.returncode == 1
    assert "JUNJO_ENV must be 'development' or 'production' (got 'staging')" in result.stderr


def _run_python_entrypoint(
    data: Path, *command: str, uid: int | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = []
    if uid is not None:
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    return subprocess.run(
        [*prefix, "/bin/sh", str(PYTHON_ENTRYPOINT), *command],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "JUNJO_DATA_DIR": str(data)},
    )


def test_python_entrypoint_prepares_data_and_drops_privileges(tmp_path: Path) -> None:
    data = tmp_path / "dbdata"
    (data / "sqlite").mkdir(parents=True)
    (data / "sqlite" / "junjo.db").write_bytes(b"")
    if os.geteuid() == 0:
        result = _run_python_entrypoint(data, "id", "-u")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(SERVICE_UID)
        for path in (data, data / "sqlite" / "junjo.db", data / "spans" / "wal", data / "spans" / "parquet"):
            assert path.stat().st_uid == SERVICE_UID and path.stat().st_gid == SERVICE_UID, path
    else:  # an unprivileged run (e.g. `user:` in compose) uses the directory as it is
        result = _run_python_entrypoint(data, "id", "-u")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(os.geteuid())
        assert (data / "spans" / "wal").is_dir() and (data / "spans" / "parquet").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, like the container's start")
def test_python_entrypoint_works_with_only_the_compose_capabilities(tmp_path: Path) -> None:
    """As in the container: root limited to docker-compose.yml's cap_add, no-new-privileges, a data
    directory already owned by the service user with mode 0700 and a file it does not own yet."""
    data = tmp_path / "dbdata"
    (data / "sqlite").mkdir(parents=True)
    (data / "sqlite" / "junjo.db").write_bytes(b"")
    os.chown(data, SERVICE_UID, SERVICE_UID)
    os.chown(data / "sqlite", SERVICE_UID, SERVICE_UID)
    data.chmod(0o700)
    (data / "sqlite").chmod(0o700)
    confined = ["setpriv", "--no-new-privs", "--bounding-set=-all,+chown,+dac_override,+setuid,+setgid", "--"]
    result = subprocess.run(
        [*confined, "/bin/sh", str(PYTHON_ENTRYPOINT), "grep", "-E", "^(Uid|CapEff):", "/proc/self/status"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "JUNJO_DATA_DIR": str(data)},
    )
    assert result.returncode == 0, result.stderr
    status = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert status["Uid"].split()[0] == str(SERVICE_UID)
    assert int(status["CapEff"], 16) == 0  # the service runs with no capability at all
    assert (data / "sqlite" / "junjo.db").stat().st_uid == SERVICE_UID
    for made in (data / "spans", data / "spans" / "wal", data / "spans" / "parquet"):
        assert made.stat().st_uid == SERVICE_UID and stat.S_IMODE(made.stat().st_mode) == 0o700, made


def test_python_entrypoint_explains_an_unwritable_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "readonly"
    data.mkdir(mode=0o555)
    if os.geteuid() == 0:  # become an unrelated user, as a container started with `user:` would be
        result = _run_python_entrypoint(data, "true", uid=SERVICE_UID + 1)
    else:
        result = _run_python_entrypoint(data, "true")
    assert result.returncode == 1
    assert "is not writable by uid" in result.stderr and "chown -R" in result.stderr


def test_python_entrypoint_requires_a_command(tmp_path: Path) -> None:
    result = _run_python_entrypoint(tmp_path)
    assert result.returncode == 64
    assert "no command given" in result.stderr


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    servicer = health.HealthServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield port, servicer
    server.stop(None)


def _probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingestion.healthcheck", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "JUNJO_SESSION_SECRET": "s" * 40, **(env or {})},  # as in the container
    )


def test_healthcheck_exit_code_follows_serving_status(health_server: HealthServer) -> None:
    port, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    serving = _probe(f"-addr=127.0.0.1:{port}")
    assert serving.returncode == 0, serving.stderr
    assert "SERVING" in serving.stdout
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    not_serving = _probe(f"-addr=127.0.0.1:{port}")
    assert not_serving.returncode == 1
    assert "NOT_SERVING" in not_serving.stderr


def test_healthcheck_defaults_to_internal_grpc_port(health_server: HealthServer) -> None:
    port, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert _probe(env={"INTERNAL_GRPC_PORT": str(port)}).returncode == 0


def test_healthcheck_fails_fast_when_nothing_listens() -> None:
    result = _probe(f"-addr=127.0.0.1:{free_port()}", "--timeout", "1")
    assert result.returncode == 1
    assert "health check failed: UNAVAILABLE" in result.stderr or "DEADLINE_EXCEEDED" in result.stderr


def test_healthcheck_reports_the_cold_storage_service_where_there_is_one(health_server: HealthServer) -> None:
    port, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("cold_storage", health_pb2.HealthCheckResponse.NOT_SERVING)
    down = _probe(f"-addr=127.0.0.1:{port}")
    assert down.returncode == 1
    assert down.stderr.strip() == f"127.0.0.1:{port}: SERVING; cold_storage: NOT_SERVING"
    assert _probe(f"-addr=127.0.0.1:{port}", "--service", "").returncode == 0  # the overall status only
    servicer.set("cold_storage", health_pb2.HealthCheckResponse.SERVING)
    up = _probe(f"-addr=127.0.0.1:{port}")
    assert up.returncode == 0 and up.stdout.strip() == f"127.0.0.1:{port}: SERVING; cold_storage: SERVING"
