"""Caddyfiles: valid for Debian's caddy, routing like the seed (api. / ingestion. h2c / fallback)
plus OTLP/HTTP's `/v1/traces` on ingestion. to port 4318.

The loopback variant must route exactly like the production file (same roles and transports), so
the Caddy-fronted loopback test exercises the production routing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.caddy_support import CADDYFILE, DNS_CADDYFILE, LOCAL_CADDYFILE, adapt, caddy, proxies

PRODUCTION_ENV = {"JUNJO_DOMAIN": "junjo.example.com", "JUNJO_ACME_EMAIL": "ops@example.com"}


@pytest.mark.parametrize(
    ("config", "env"),
    [(CADDYFILE, PRODUCTION_ENV), (LOCAL_CADDYFILE, {})],
    ids=["Caddyfile", "Caddyfile.local"],
)
def test_caddy_validate(config: Path, env: dict[str, str]) -> None:
    result = caddy("validate", config, env)
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_production_routing_matches_the_seed() -> None:
    config = adapt(CADDYFILE, PRODUCTION_ENV)
    assert proxies(config) == {
        "api": ("junjo-ai-studio-backend:1323", ()),
        "ingestion": ("junjo-ai-studio-ingestion:50051", ("h2c", "2")),
        "ingestion-http": ("junjo-ai-studio-ingestion:4318", ()),
        "frontend": ("junjo-ai-studio-frontend:80", ()),
    }
    server = next(iter(config["apps"]["http"]["servers"].values()))
    site_hosts = server["routes"][0]["match"][0]["host"]
    assert site_hosts == ["junjo.example.com", "api.junjo.example.com", "ingestion.junjo.example.com"]
    # Automatic HTTPS stays on: no listener on plain :80 only, no automatic_https.disable.
    assert server["listen"] == [":443"]
    assert "automatic_https" not in server
    policies = config["apps"]["tls"]["automation"]["policies"]
    assert any(issuer.get("email") == "ops@example.com" for p in policies for issuer in p["issuers"])


def test_upstreams_follow_the_environment() -> None:
    env = {
        **PRODUCTION_ENV,
        "JUNJO_BACKEND_UPSTREAM": "localhost:1323",
        "JUNJO_INGESTION_UPSTREAM": "localhost:50051",
        "JUNJO_INGESTION_HTTP_UPSTREAM": "localhost:4318",
        "JUNJO_FRONTEND_UPSTREAM": "localhost:5153",
    }
    assert proxies(adapt(CADDYFILE, env)) == {
        "api": ("localhost:1323", ()),
        "ingestion": ("localhost:50051", ("h2c", "2")),
        "ingestion-http": ("localhost:4318", ()),
        "frontend": ("localhost:5153", ()),
    }


def test_local_variant_routes_like_production_on_loopback_http() -> None:
    config = adapt(LOCAL_CADDYFILE, {"JUNJO_CADDY_PORT": "18080"})
    production = proxies(adapt(CADDYFILE, PRODUCTION_ENV))
    local = proxies(config)
    assert set(local) == set(production)
    for role, (_dial, versions) in production.items():
        assert local[role][1] == versions, role
    server = next(iter(config["apps"]["http"]["servers"].values()))
    assert server["listen"] == ["127.0.0.1:18080"]
    assert server["automatic_https"]["disable"] is True
    assert server["protocols"] == ["h1", "h2c"]
    assert "admin" in config and config["admin"]["disabled"] is True


def test_dns_challenge_variant(tmp_path: Path) -> None:
    text = DNS_CADDYFILE.read_text()
    dns_line = "dns cloudflare {env.CLOUDFLARE_API_TOKEN}"
    assert dns_line in text
    # Debian's caddy has no Cloudflare plugin: it must say so, and everything else must be valid.
    missing = caddy("adapt", DNS_CADDYFILE, PRODUCTION_ENV)
    assert missing.returncode != 0 and "dns.providers.cloudflare" in missing.stderr
    stripped = tmp_path / "Caddyfile.dns-stripped"
    stripped.write_text(text.replace(dns_line, ""))
    config = adapt(stripped, PRODUCTION_ENV)
    server = next(iter(config["apps"]["http"]["servers"].values()))
    assert server["routes"][0]["match"][0]["host"] == ["junjo.example.com", "*.junjo.example.com"]
    assert proxies(config) == proxies(adapt(CADDYFILE, PRODUCTION_ENV))
