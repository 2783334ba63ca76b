"""The VM deployment without containers: Caddy (deploy/Caddyfile.local) in front of the real stack.

Everything runs as it would behind Caddy on a VM, minus TLS, on loopback with random ports and
JUNJO_ENV=production: `python -m backend` and `python -m ingestion` (tests.support.stack), the
built UI served by nginx with frontend/nginx.conf and config.js written by the frontend image's
entrypoint, and Caddy routing by subdomain (`api.` -> backend, `ingestion.` -> h2c ingestion and
its `/v1/traces` -> OTLP/HTTP, anything else -> frontend). Chromium resolves *.localhost to
127.0.0.1 by itself; Python clients dial 127.0.0.1 and name the virtual host (Host header / gRPC
authority).

Through Caddy only: create the first user and an API key over REST, send spans with the real
OTLPSpanExporter over the h2c route, flush, find them through the API and on disk where the data
path variables say, then sign into the UI in headless Chromium and see the service listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from playwright.sync_api import Page, sync_playwright

from backend.accounts.throttle import PAIR_LIMIT
from tests.deploy.caddy_support import LOCAL_CADDYFILE
from tests.deploy.nginx_support import DIST, Nginx, web_root
from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient
from tests.support.chromium import launch_chromium
from tests.support.procs import ROOT, free_port, port_open
from tests.support.stack import Stack, setup_code, start_backend, start_ingestion

pytestmark = pytest.mark.e2e

DOMAIN = "junjo.localhost"
CADDY_ADDRESS = "127.0.0.1"  # Caddy dials the backend from here
SERVICE_NAME = "caddy-loopback-service"


@dataclass
class Deployment:
    stack: Stack
    caddy_port: int
    frontend: Nginx

    def url(self, subdomain: str = "") -> str:
        host = f"{subdomain}.{DOMAIN}" if subdomain else DOMAIN
        return f"http://{host}:{self.caddy_port}"

    def host(self, subdomain: str) -> str:
        return f"{subdomain}.{DOMAIN}:{self.caddy_port}"

    def api(self, local_address: str | None = None) -> ApiClient:
        """REST client that reaches the backend only through Caddy's `api.` virtual host
        (from `local_address`, a 127.0.0.x of the test's choosing, when given)."""
        client = ApiClient(
            f"http://127.0.0.1:{self.caddy_port}", origin=self.url(), local_address=local_address
        )
        client.http.headers["Host"] = self.host("api")
        return client


def start_caddy(tmp: Path, port: int, upstreams: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JUNJO_CADDY_PORT": str(port),
        "JUNJO_DOMAIN": DOMAIN,
        "XDG_DATA_HOME": str(tmp / "caddy-data"),
        "XDG_CONFIG_HOME": str(tmp / "caddy-config"),
        **upstreams,
    }
    log = (tmp / "caddy.log").open("ab")
    proc = subprocess.Popen(
        ["caddy", "run", "--adapter", "caddyfile", "--config", str(LOCAL_CADDYFILE)],
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
    return proc


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    assert (DIST / "index.html").is_file(), "build the UI first: make frontend"
    tmp = tmp_path_factory.mktemp("loopback")
    caddy_port = free_port()
    urls = {
        "JUNJO_ENV": "production",
        "JUNJO_PROD_FRONTEND_URL": f"http://{DOMAIN}:{caddy_port}",
        "JUNJO_PROD_BACKEND_URL": f"http://api.{DOMAIN}:{caddy_port}",
        "JUNJO_PROD_INGESTION_URL": f"http://ingestion.{DOMAIN}:{caddy_port}",
    }
    # JUNJO_ALLOW_ORIGINS unset: production derives it from JUNJO_PROD_FRONTEND_URL.
    # FORWARDED_ALLOW_IPS names Caddy's address, as deploy/docker-compose.caddy.yml does.
    stack = Stack(
        tmp / "dbdata", extra_env={**urls, "JUNJO_ALLOW_ORIGINS": "", "FORWARDED_ALLOW_IPS": CADDY_ADDRESS}
    )
    frontend = Nginx(tmp / "nginx", web_root(tmp), urls)
    caddy: subprocess.Popen[bytes] | None = None
    try:
        start_backend(stack, tmp / "logs")
        start_ingestion(stack, tmp / "logs")
        frontend.start()
        caddy = start_caddy(
            tmp,
            caddy_port,
            {
                "JUNJO_BACKEND_UPSTREAM": f"127.0.0.1:{stack.http_port}",
                "JUNJO_INGESTION_UPSTREAM": f"127.0.0.1:{stack.otlp_port}",
                "JUNJO_INGESTION_HTTP_UPSTREAM": f"127.0.0.1:{stack.otlp_http_port}",
                "JUNJO_FRONTEND_UPSTREAM": f"127.0.0.1:{frontend.port}",
            },
        )
        for _ in range(600):
            if port_open(caddy_port) or caddy.poll() is not None:
                break
            time.sleep(0.05)
        assert port_open(caddy_port), (tmp / "caddy.log").read_text()
        yield Deployment(stack, caddy_port, frontend)
    finally:
        if caddy is not None:
            caddy.terminate()
            caddy.wait(10)
        frontend.stop()
        stack.stop()


def test_caddy_routes_each_subdomain(deployment: Deployment) -> None:
    via_caddy = f"http://127.0.0.1:{deployment.caddy_port}"
    health = httpx.get(f"{via_caddy}/health", headers={"Host": deployment.host("api")})
    assert health.status_code == 200
    ui = httpx.get(f"{via_caddy}/config.js", headers={"Host": f"{DOMAIN}:{deployment.caddy_port}"})
    assert ui.status_code == 200
    assert ui.text == f'window.runtimeConfig = {{ API_HOST: "{deployment.url("api")}" }};\n'
    assert f"connect-src 'self' {deployment.url('api')};" in ui.headers["content-security-policy"]
    spa = httpx.get(f"{via_caddy}/logs/anything", headers={"Host": f"{DOMAIN}:{deployment.caddy_port}"})
    assert spa.status_code == 200 and '<div id="root">' in spa.text


def export_spans(deployment: Deployment, api_key: str | None, count: int) -> tuple[SpanExportResult, str]:
    """Real SDK spans sent by the real OTLP gRPC exporter to Caddy's `ingestion.` virtual host.

    Returns the exporter's result and the trace id (hex)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("caddy-loopback")
    with tracer.start_as_current_span("workflow") as root:
        root.set_attribute("junjo.span_type", "workflow")
        trace_id = f"{root.get_span_context().trace_id:032x}"
        for i in range(count - 1):
            with tracer.start_as_current_span(f"node-{i}"):
                pass
    provider.shutdown()
    exporter = OTLPSpanExporter(
        endpoint=f"127.0.0.1:{deployment.caddy_port}",
        insecure=True,
        timeout=30,
        headers={"x-junjo-api-key": api_key} if api_key else None,
        channel_options=(("grpc.default_authority", deployment.host("ingestion")),),
    )
    try:
        return exporter.export(memory.get_finished_spans()), trace_id
    finally:
        exporter.shutdown()


@pytest.fixture(scope="module")
def session_cookie(deployment: Deployment) -> str:
    """The first user, created through Caddy; returns its session cookie (`name=value`)."""
    with deployment.api() as api:
        body = {
            "email": DEFAULT_EMAIL,
            "password": DEFAULT_PASSWORD,
            "setup_code": setup_code(deployment.stack),
        }
        response = api.http.post("/users/create-first-user", json=body)
        assert response.status_code == 200, response.text
        # The production cookie is Secure; httpx keeps Secure cookies for https only, so carry it.
        assert "secure" in response.headers["set-cookie"].lower()
        return response.headers["set-cookie"].split(";")[0]


@pytest.fixture(scope="module")
def exported(deployment: Deployment, session_cookie: str) -> str:
    """Five spans of SERVICE_NAME sent through Caddy with an API key made through Caddy; the trace id."""
    with deployment.api() as api:
        api.http.headers["Cookie"] = session_cookie
        key = api.create_api_key("caddy loopback")
    assert export_spans(deployment, None, 1)[0] == SpanExportResult.FAILURE  # no key: refused
    result, trace_id = export_spans(deployment, key, 5)
    assert result == SpanExportResult.SUCCESS
    return trace_id


def test_otlp_through_caddy_h2c_is_stored_and_queryable(
    deployment: Deployment, session_cookie: str, exported: str
) -> None:
    """Acknowledged spans are queryable at once (hot snapshot), then from Parquet after a flush,
    and every file is where the data path variables put it (not under the services' defaults)."""
    env = deployment.stack.env()
    spans_url = f"/api/v1/observability/services/{SERVICE_NAME}/spans"
    with deployment.api() as api:
        api.http.headers["Cookie"] = session_cookie
        hot = api.http.get(spans_url)
        assert hot.status_code == 200 and len(hot.json()) == 5, hot.text
        assert Path(env["SNAPSHOT_PATH"]).is_file()
        flushed = api.http.post("/api/admin/flush-wal")
        assert flushed.status_code == 200, flushed.text
        services = api.http.get("/api/v1/observability/services")
        assert services.status_code == 200 and SERVICE_NAME in services.json()
        cold = api.http.get(spans_url)
        assert cold.status_code == 200
        assert sorted(s["span_id"] for s in cold.json()) == sorted(s["span_id"] for s in hot.json())

    assert list(Path(env["PARQUET_OUTPUT_DIR"]).rglob("*.parquet"))
    assert Path(env["JUNJO_PARQUET_STORAGE_PATH"]) == Path(env["PARQUET_OUTPUT_DIR"])
    assert Path(env["WAL_DIR"]).is_dir()
    assert Path(env["JUNJO_SQLITE_PATH"]).is_file() and Path(env["JUNJO_METADATA_DB_PATH"]).is_file()
    assert deployment.stack.data_dir != ROOT / ".dbdata"


def _recorded_spans(service: str, names: tuple[str, ...]) -> tuple[list, str]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("caddy-loopback")
    with tracer.start_as_current_span(names[0]) as root:
        trace_id = f"{root.get_span_context().trace_id:032x}"
        for name in names[1:]:
            with tracer.start_as_current_span(name):
                pass
    provider.shutdown()
    return list(memory.get_finished_spans()), trace_id


def test_otlp_http_through_caddy_over_http1_and_http2(deployment: Deployment, session_cookie: str) -> None:
    """`ingestion.`'s /v1/traces reaches OTLP/HTTP: the real Python exporter (HTTP/1.1, gzip) and
    curl over HTTP/2 (h2c); both traces are then queryable through the API. gRPC on the same host
    is covered by the tests above."""
    with deployment.api() as api:
        api.http.headers["Cookie"] = session_cookie
        key = api.create_api_key("caddy otlp/http")
    via_caddy = f"http://127.0.0.1:{deployment.caddy_port}/v1/traces"
    host = deployment.host("ingestion")
    http1_spans, http1_trace = _recorded_spans("caddy-otlp-http", ("http1-root", "http1-child"))
    unauthorized = HttpSpanExporter(endpoint=via_caddy, headers={"Host": host}, timeout=30)
    assert unauthorized.export(http1_spans) == SpanExportResult.FAILURE
    exporter = HttpSpanExporter(
        endpoint=via_caddy,
        headers={"Host": host, "x-junjo-api-key": key},
        compression=Compression.Gzip,
        timeout=30,
    )
    assert exporter.export(http1_spans) == SpanExportResult.SUCCESS
    exporter.shutdown()

    http2_spans, http2_trace = _recorded_spans("caddy-otlp-http", ("http2-root",))
    body = deployment.stack.data_dir / "http2-body.pb"
    body.write_bytes(encode_spans(http2_spans).SerializeToString())
    curl = subprocess.run(
        [
            "curl",
            "-sS",
            "--http2-prior-knowledge",
            "--resolve",
            f"{host}:127.0.0.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "-H",
            "Content-Type: application/x-protobuf",
            "-H",
            f"x-junjo-api-key: {key}",
            "--data-binary",
            f"@{body}",
            f"{deployment.url('ingestion')}/v1/traces",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert curl.stdout == "2 200", curl.stdout + curl.stderr

    with deployment.api() as api:
        api.http.headers["Cookie"] = session_cookie
        for trace_id, names in ((http1_trace, {"http1-root", "http1-child"}), (http2_trace, {"http2-root"})):
            spans = api.http.get(f"/api/v1/observability/traces/{trace_id}/spans")
            assert spans.status_code == 200, spans.text
            assert {s["name"] for s in spans.json()} == names


def test_sign_in_through_caddy_in_chromium(deployment: Deployment, exported: str) -> None:
    """Sign in on the UI origin, then the app (under nginx's CSP) calls the API origin with the
    session cookie: the service list, the trace page and the workflow debugger render, with no
    CSP or CORS error in the console."""
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page: Page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(deployment.url() + "/")
            page.locator("input[type=email]").fill(DEFAULT_EMAIL)
            page.locator("input[type=password]").fill(DEFAULT_PASSWORD)
            page.locator("form button[type=submit]").click()
            page.get_by_text(SERVICE_NAME).first.wait_for(timeout=30_000)  # the services list
            cookies = browser.contexts[0].cookies(deployment.url("api"))
            assert cookies and all(c["secure"] and c["httpOnly"] for c in cookies)
            page.goto(f"{deployment.url()}/traces/{SERVICE_NAME}/{exported}")
            page.get_by_role("tree").get_by_text("node-3").first.wait_for(timeout=30_000)
            # The page's own fetch to the API origin (CSP connect-src, CORS with credentials).
            workflow_span = page.evaluate(
                "async ([api, trace]) => (await (await fetch("
                "`${api}/api/v1/observability/traces/${trace}/spans`, {credentials: 'include'})"
                ").json()).find(s => !s.parent_span_id).span_id",
                [deployment.url("api"), exported],
            )
            page.goto(f"{deployment.url()}/workflows/{SERVICE_NAME}/{exported}/{workflow_span}")
            page.get_by_text("node-3").first.wait_for(timeout=30_000)
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    assert not [p for p in problems if "Content Security Policy" in p or "CORS" in p], problems


def test_ingestion_healthcheck_probe_against_the_real_service(deployment: Deployment) -> None:
    """The compose healthcheck command, with the service's own environment (as in the container)."""
    env = {**os.environ, **deployment.stack.env()}
    address = f"-addr=127.0.0.1:{deployment.stack.internal_port}"
    probe = [sys.executable, "-m", "ingestion.healthcheck", address]
    serving = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
    assert serving.returncode == 0 and "SERVING" in serving.stdout, serving.stderr
    stranger = subprocess.run(
        probe, env={**env, "JUNJO_INTERNAL_GRPC_TOKEN": "t" * 40}, capture_output=True, text=True, timeout=30
    )
    assert stranger.returncode == 1 and "UNAUTHENTICATED" in stranger.stderr


def test_sign_in_throttle_sees_real_client_addresses_through_caddy(
    deployment: Deployment, session_cookie: str
) -> None:
    """Caddy replaces a client's X-Forwarded-For with the address it sees and the backend trusts
    that header from Caddy only: an attacker can neither pose as many clients nor lock the owner,
    who comes from another address, out of their account."""
    owner = {"email": "owner@example.com", "password": "owner's password"}
    wrong = {**owner, "password": "a wrong guess"}
    with deployment.api() as admin:
        admin.http.headers["Cookie"] = session_cookie
        assert admin.http.post("/users", json=owner).status_code == 200
    with deployment.api(local_address="127.0.0.2") as usual:
        assert usual.http.post("/sign-in", json=owner).status_code == 200
    with deployment.api(local_address="127.0.0.3") as attacker:
        for i in range(PAIR_LIMIT.max_failures):
            forged = {"X-Forwarded-For": f"198.51.100.{i}"}
            assert attacker.http.post("/sign-in", json=wrong, headers=forged).status_code == 401
        assert attacker.http.post("/sign-in", json=owner).status_code == 429
    # Straight to the backend from an address that is not Caddy's: the forged header is ignored too.
    with ApiClient(deployment.stack.http_url, origin=deployment.url(), local_address="127.0.0.3") as direct:
        forged = {"X-Forwarded-For": "198.51.100.200"}
        assert direct.http.post("/sign-in", json=owner, headers=forged).status_code == 429
    with deployment.api(local_address="127.0.0.2") as usual:
        assert usual.http.post("/sign-in", json=owner).status_code == 200
