"""The frontend container's web server: frontend/nginx.conf + docker-entrypoint.sh on a real nginx.

Serves the built app (frontend/dist) and checks what a browser relies on: SPA fallback for client
routes, the runtime config.js, caching (hashed assets for a year, index.html/config.js never stale),
gzip, and the security headers with a CSP whose connect-src is the configured API origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.nginx_support import Nginx, web_root

PROD_ENV = {
    "JUNJO_ENV": "production",
    "JUNJO_PROD_FRONTEND_URL": "https://junjo.example.com",
    "JUNJO_PROD_BACKEND_URL": "https://api.junjo.example.com/",
    "JUNJO_PROD_INGESTION_URL": "https://ingestion.junjo.example.com",
}


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    tmp = tmp_path_factory.mktemp("nginx")
    server = Nginx(tmp / "prefix", web_root(tmp), PROD_ENV).start()
    yield server
    server.stop()


def hashed_asset(html: Path) -> str:
    scripts = sorted((html / "assets").glob("*.js"), key=lambda p: p.stat().st_size, reverse=True)
    assert scripts, "the built app has hashed JS assets"
    return f"/assets/{scripts[0].name}"


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    server = Nginx(tmp_path / "prefix", web_root(tmp_path), {})
    server.configure()
    result = server.test_config()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_index_and_spa_fallback_are_never_cached(nginx: Nginx) -> None:
    index = httpx.get(f"{nginx.url}/")
    assert index.status_code == 200
    assert '<script src="/config.js"></script>' in index.text
    for route in ("/logs/my-service", "/traces/svc/0123456789abcdef0123456789abcdef", "/api-keys"):
        response = httpx.get(nginx.url + route)
        assert response.status_code == 200, route
        assert response.text == index.text, route
        assert response.headers["cache-control"] == "no-cache", route
    assert index.headers["cache-control"] == "no-cache"


def test_config_js_carries_the_backend_url(nginx: Nginx) -> None:
    response = httpx.get(f"{nginx.url}/config.js")
    assert response.status_code == 200
    assert response.text == 'window.runtimeConfig = { API_HOST: "https://api.junjo.example.com" };\n'
    assert response.headers["cache-control"] == "no-cache"
    assert "javascript" in response.headers["content-type"]


def test_hashed_assets_cached_for_a_year_and_gzipped(nginx: Nginx) -> None:
    asset = hashed_asset(nginx.html)
    response = httpx.get(nginx.url + asset, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert "javascript" in response.headers["content-type"]
    assert response.content == (nginx.html / asset.lstrip("/")).read_bytes()


def test_missing_asset_is_404_not_the_app_shell(nginx: Nginx) -> None:
    response = httpx.get(f"{nginx.url}/assets/index-deadbeef.js")
    assert response.status_code == 404
    assert '<div id="root">' not in response.text


def test_security_headers_on_every_response(nginx: Nginx) -> None:
    for path in ("/", "/config.js", hashed_asset(nginx.html), "/assets/missing.js", "/deep/route"):
        headers = httpx.get(nginx.url + path).headers
        csp = headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}
        assert directives["connect-src"] == ["'self'", "https://api.junjo.example.com"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["object-src"] == ["'none'"], path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert headers["x-frame-options"] == "DENY", path
        assert "server" not in headers or "nginx/" not in headers["server"], path


def test_development_csp_allows_the_local_api(tmp_path: Path) -> None:
    server = Nginx(tmp_path / "prefix", web_root(tmp_path), {"JUNJO_ENV": "development"}).start()
    try:
        response = httpx.get(f"{server.url}/config.js")
        assert 'API_HOST: "http://localhost:1323"' in response.text
        assert "connect-src 'self' http://localhost:1323;" in response.headers["content-security-policy"]
    finally:
        server.stop()


def test_serves_from_a_read_only_root_filesystem(tmp_path: Path) -> None:
    """compose runs the frontend with `read_only: true` and tmpfs on /run and /var/cache/nginx: the
    entrypoint and nginx start and serve with only those writable."""
    html = web_root(tmp_path)
    files_before = sorted((p.relative_to(html), p.stat().st_mtime_ns) for p in html.rglob("*"))
    server = Nginx(tmp_path / "prefix", html, PROD_ENV).start(read_only=True)
    try:
        response = httpx.get(f"{server.url}/config.js")
        assert response.status_code == 200
        assert 'API_HOST: "https://api.junjo.example.com"' in response.text
        csp = response.headers["content-security-policy"]
        assert "connect-src 'self' https://api.junjo.example.com;" in csp
        assert httpx.get(f"{server.url}/deep/route").status_code == 200
    finally:
        server.stop()
    # Everything was written to the (now gone) tmpfs mounts, nothing to the web root or prefix.
    assert sorted((p.relative_to(html), p.stat().st_mtime_ns) for p in html.rglob("*")) == files_before
    assert not any(server.runtime.iterdir())
