"""docker-compose.scale.yml and deploy/Caddyfile.scale: valid for docker-compose's validator and
Debian's caddy, and shaped as the scale-out mode promises: two backends and two ingesters behind
Caddy, sharing PostgreSQL and a bucket, and no disk shared between any two services."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from backend.settings import Settings as BackendSettings
from ingestion.settings import Settings as IngestionSettings
from tests.deploy.caddy_support import adapt, caddy
from tests.deploy.compose_support import compose_config, compose_project
from tests.deploy.test_compose import user_env
from tests.support.procs import ROOT

SCALE = "docker-compose.scale.yml"
CADDYFILE = ROOT / "deploy" / "Caddyfile.scale"
BACKENDS = ("junjo-backend-1", "junjo-backend-2")
INGESTERS = ("junjo-ingestion-1", "junjo-ingestion-2")
PYTHON_SERVICES = (*BACKENDS, *INGESTERS)
SCALE_SECRETS = {
    "JUNJO_POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
    "AWS_ACCESS_KEY_ID": "junjo",
    "AWS_SECRET_ACCESS_KEY": "fedcba9876543210fedcba9876543210",
}
# Read by something other than the services' settings: uvicorn, and the object-store variables.
OTHER_READERS = {
    "FORWARDED_ALLOW_IPS",
    "JUNJO_OBJECT_STORE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "JUNJO_POSTGRES_PASSWORD",
}
PRODUCTION_ENV = {"JUNJO_DOMAIN": "junjo.example.com", "JUNJO_ACME_EMAIL": "ops@example.com"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compose_project(tmp_path_factory.mktemp("scale"), user_env(**SCALE_SECRETS))


@pytest.fixture(scope="module")
def config(project: Path) -> dict[str, Any]:
    return compose_config(project, SCALE)


def test_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {
        *PYTHON_SERVICES,
        "junjo-frontend",
        "junjo-caddy",
        "junjo-postgres",
        "junjo-s3",
        "junjo-s3-bucket",
    }
    assert all(config["services"][name]["container_name"] == name for name in config["services"])


def test_backends_share_postgres_bucket_and_every_ingester(config: dict[str, Any]) -> None:
    environments = [config["services"][name]["environment"] for name in BACKENDS]
    assert environments[0] == environments[1]  # same URL, secrets (one .env), targets and bucket
    env = environments[0]
    url = urlsplit(env["JUNJO_DATABASE_URL"])
    assert (url.scheme, url.hostname, url.path) == ("postgresql+psycopg", "junjo-postgres", "/junjo")
    assert url.password == SCALE_SECRETS["JUNJO_POSTGRES_PASSWORD"]
    assert env["INGESTION_TARGETS"] == ",".join(f"{name}:50052" for name in INGESTERS)
    assert env["HOT_TIER_TRANSFER"] == "stream"
    assert env["JUNJO_SESSION_SECRET"] and env["JUNJO_SECURE_COOKIE_KEY"]
    assert env["JUNJO_OBJECT_STORE_URL"].startswith("s3://")
    for name in INGESTERS:
        ingester = config["services"][name]["environment"]
        assert ingester["JUNJO_OBJECT_STORE_URL"] == env["JUNJO_OBJECT_STORE_URL"]
        assert ingester["AWS_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"] == "http://junjo-s3:9000"
    assert config["services"]["junjo-postgres"]["environment"]["POSTGRES_PASSWORD"] == url.password


def test_every_variable_pinned_is_one_a_service_reads(config: dict[str, Any]) -> None:
    """A misspelt variable in the compose file would be silently ignored by the service."""
    dotenv = {line.split("=", 1)[0] for line in user_env(**SCALE_SECRETS).splitlines() if "=" in line}
    backend = {name.upper() for name in BackendSettings.model_fields}
    ingestion = {name.upper() for name in IngestionSettings.model_fields}
    for name in PYTHON_SERVICES:
        known = (backend if name in BACKENDS else ingestion) | OTHER_READERS
        pinned = set(config["services"][name]["environment"]) - dotenv
        assert pinned and pinned <= known, (name, sorted(pinned - known))


def test_no_disk_is_shared_between_services(config: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]  # docker-compose v1 prints `source:target[:mode]`
            if source.startswith("/"):
                assert volume.endswith(":ro"), f"{name} writes to the host path {source}"
                continue
            assert source not in seen, f"{name} shares {source} with {seen[source]}"
            seen[source] = name
    assert all(name in seen.values() for name in PYTHON_SERVICES)  # each keeps its own (WAL, scratch)


def test_secrets_reach_only_the_services_that_use_them(config: dict[str, Any]) -> None:
    for name in ("junjo-frontend", "junjo-caddy", "junjo-postgres", "junjo-s3"):
        environment = config["services"][name].get("environment", {})
        assert "JUNJO_SESSION_SECRET" not in environment and "JUNJO_SECURE_COOKIE_KEY" not in environment
        assert "env_file" not in config["services"][name]


@pytest.mark.parametrize("missing", sorted(SCALE_SECRETS))
def test_missing_secret_is_refused_by_name(tmp_path: Path, missing: str) -> None:
    project = compose_project(tmp_path, user_env(**{k: v for k, v in SCALE_SECRETS.items() if k != missing}))
    result = subprocess.run(
        ["docker-compose", "-f", SCALE, "config"], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and missing in result.stderr


def test_caddyfile_validates_and_balances_every_role() -> None:
    result = caddy("validate", CADDYFILE, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    upstreams: dict[tuple[str, ...], list[str]] = {}

    def walk(routes: list[dict[str, Any]], hosts: tuple[str, ...]) -> None:
        for route in routes:
            inner = hosts
            for matcher in route.get("match", []):
                inner = tuple(matcher.get("host", inner)) + tuple(matcher.get("path", ()))
            for handler in route.get("handle", []):
                if handler["handler"] == "subroute":
                    walk(handler.get("routes", []), inner)
                elif handler["handler"] == "reverse_proxy":
                    upstreams[inner] = sorted(u["dial"] for u in handler["upstreams"])

    for server in adapt(CADDYFILE, PRODUCTION_ENV)["apps"]["http"]["servers"].values():
        walk(server["routes"], ())
    assert sorted(upstreams.values()) == sorted(
        [
            ["junjo-backend-1:1323", "junjo-backend-2:1323"],
            ["junjo-ingestion-1:4318", "junjo-ingestion-2:4318"],
            ["junjo-ingestion-1:50051", "junjo-ingestion-2:50051"],
            ["junjo-frontend:80"],
        ]
    )
