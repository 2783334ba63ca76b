"""docker-compose.yml: valid for docker-compose's own validator and faithful to the seed.

Every seed requirement (tests/deploy/seed.py) is checked on the normalized output of
`docker-compose config`, i.e. on what Docker would actually run, with a `.env` made from
.env.example the way a user makes it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import seed
from tests.deploy.compose_support import compose_config, compose_project
from tests.support.procs import ROOT


def user_env(**overrides: str) -> str:
    """.env.example with its placeholders replaced, as `make secrets` leaves it."""
    text = (ROOT / ".env.example").read_text()
    text = text.replace(
        "JUNJO_SESSION_SECRET=change-me-run-make-secrets",
        f"JUNJO_SESSION_SECRET={base64.b64encode(os.urandom(32)).decode()}",
    )
    text = text.replace(
        "JUNJO_SECURE_COOKIE_KEY=change-me-run-make-secrets",
        f"JUNJO_SECURE_COOKIE_KEY={base64.b64encode(os.urandom(32)).decode()}",
    )
    for name, value in overrides.items():
        text, count = re.subn(rf"^#? ?{name}=.*$", f"{name}={value}", text, flags=re.M)
        if count == 0:
            text += f"\n{name}={value}\n"
    return text


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compose_project(tmp_path_factory.mktemp("compose"), user_env())


@pytest.fixture(scope="module")
def config(project: Path) -> dict[str, Any]:
    return compose_config(project)


def test_service_and_container_names(config: dict[str, Any]) -> None:
    assert set(config["services"]) == set(seed.SERVICES)
    for name in seed.SERVICES:
        assert config["services"][name]["container_name"] == name
        assert config["services"][name]["restart"] == seed.RESTART


def test_published_ports(config: dict[str, Any]) -> None:
    for name, expected in seed.PORTS.items():
        ports = config["services"][name]["ports"]
        assert [(int(p["published"]), int(p["target"])) for p in ports] == expected, name


def test_environment_pins(config: dict[str, Any]) -> None:
    for name, pins in seed.ENVIRONMENT.items():
        environment = config["services"][name]["environment"]
        for key, value in {**pins, **seed.CONTRACT_ENVIRONMENT.get(name, {})}.items():
            assert environment.get(key) == value, f"{name}: {key}={environment.get(key)!r}, want {value!r}"


SECRETS = {"JUNJO_SESSION_SECRET", "JUNJO_SECURE_COOKIE_KEY", "JUNJO_INTERNAL_GRPC_TOKEN"}
FRONTEND_VARIABLES = {
    "JUNJO_ENV",
    "JUNJO_PROD_FRONTEND_URL",
    "JUNJO_PROD_BACKEND_URL",
    "JUNJO_PROD_INGESTION_URL",
}


def test_env_file_feeds_the_python_services_only(project: Path, config: dict[str, Any]) -> None:
    """docker-compose config inlines env_file: the .env's values reach backend and ingestion; the
    frontend gets the four variables its entrypoint reads and no secret."""
    for name in (seed.BACKEND, seed.INGESTION):
        environment = config["services"][name]["environment"]
        assert environment["JUNJO_ENV"] == "development", name
        assert environment["JUNJO_SESSION_SECRET"], name
    raw = (ROOT / "docker-compose.yml").read_text()
    assert raw.count(f"env_file:\n      - {seed.ENV_FILE}\n") == 2
    frontend = config["services"][seed.FRONTEND]["environment"]
    assert set(frontend) == FRONTEND_VARIABLES and frontend["JUNJO_ENV"] == "development"
    production = user_env(
        JUNJO_ENV="production",
        JUNJO_PROD_FRONTEND_URL="https://junjo.example.com",
        JUNJO_PROD_BACKEND_URL="https://api.junjo.example.com",
        JUNJO_PROD_INGESTION_URL="https://ingestion.junjo.example.com",
        OPENAI_API_KEY="sk-not-for-the-frontend",
    )
    prod = compose_config(compose_project(project.parent / "prod", production))
    frontend = prod["services"][seed.FRONTEND]["environment"]
    assert frontend["JUNJO_PROD_BACKEND_URL"] == "https://api.junjo.example.com"
    assert "sk-not-for-the-frontend" not in json.dumps(frontend)


def test_services_run_without_privileges(project: Path) -> None:
    """no-new-privileges and no capability beyond what each needs; read-only root filesystems
    everywhere (scratch and generated configuration on tmpfs, data on the volume)."""
    merged = compose_config(project, "docker-compose.yml", "deploy/docker-compose.caddy.yml")
    needed = {
        seed.BACKEND: {"CHOWN", "DAC_OVERRIDE", "SETUID", "SETGID"},  # the entrypoint's chown + setpriv
        seed.INGESTION: {"CHOWN", "DAC_OVERRIDE", "SETUID", "SETGID"},
        seed.FRONTEND: {"CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"},  # nginx master
        "caddy": {"NET_BIND_SERVICE"},
    }
    for name, caps in needed.items():
        service = merged["services"][name]
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["cap_drop"] == ["ALL"], name
        assert set(service["cap_add"]) == caps, name
    for name in (seed.BACKEND, seed.INGESTION, "caddy"):
        service = merged["services"][name]
        assert service["read_only"] is True, name
        assert any(t.startswith("/tmp:") for t in service["tmpfs"]), name
    frontend = merged["services"][seed.FRONTEND]
    assert frontend["read_only"] is True
    # Only what the entrypoint (/run/junjo) and nginx (pid in /run, temp files) write.
    assert sorted(t.split(":")[0] for t in frontend["tmpfs"]) == ["/run", "/var/cache/nginx"]
    for name in (seed.BACKEND, seed.INGESTION):  # besides the root: the data volume only
        volumes = merged["services"][name]["volumes"]
        assert [v.split(":")[1] for v in volumes] == ["/app/.dbdata"], name
    assert "volumes" not in frontend


def test_caddy_gets_no_secrets_and_is_the_only_trusted_proxy(project: Path) -> None:
    merged = compose_config(project, "docker-compose.yml", "deploy/docker-compose.caddy.yml")
    caddy = merged["services"]["caddy"]
    assert set(caddy["environment"]) == {"JUNJO_DOMAIN", "JUNJO_ACME_EMAIL", "CLOUDFLARE_API_TOKEN"}
    assert not SECRETS & set(caddy["environment"])
    address = ipaddress.ip_address(caddy["networks"][seed.NETWORK_KEY]["ipv4_address"])
    backend = merged["services"][seed.BACKEND]["environment"]
    assert backend["FORWARDED_ALLOW_IPS"] == str(address)
    assert backend["JUNJO_SESSION_SECRET"]  # the overlay adds to the backend's environment
    (pool,) = merged["networks"][seed.NETWORK_KEY]["ipam"]["config"]
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])  # never handed to another container
    assert merged["networks"][seed.NETWORK_KEY]["name"] == seed.NETWORK_NAME
    assert merged["networks"][seed.NETWORK_KEY]["driver"] == seed.NETWORK_DRIVER


def test_data_volume_default_and_override(project: Path, config: dict[str, Any], tmp_path: Path) -> None:
    raw = (ROOT / "docker-compose.yml").read_text()
    assert raw.count(f"- {seed.DATA_VOLUME}\n") == len(seed.SERVICES_WITH_DATA)
    for name in seed.SERVICES:
        volumes = config["services"][name].get("volumes", [])
        if name in seed.SERVICES_WITH_DATA:
            assert volumes == [f"{project / '.dbdata'}:{seed.DATA_MOUNT}:rw"], name
        else:
            assert volumes == [], name
    moved = compose_config(compose_project(tmp_path, user_env(JUNJO_HOST_DB_DATA_PATH="/mnt/junjo-data")))
    for name in seed.SERVICES_WITH_DATA:
        assert moved["services"][name]["volumes"] == [f"/mnt/junjo-data:{seed.DATA_MOUNT}:rw"]


def test_network(config: dict[str, Any]) -> None:
    wanted = {"name": seed.NETWORK_NAME, "driver": seed.NETWORK_DRIVER}
    assert config["networks"] == {seed.NETWORK_KEY: wanted}
    for name in seed.SERVICES:
        assert list(config["services"][name]["networks"]) == [seed.NETWORK_KEY], name


def test_depends_on(config: dict[str, Any]) -> None:
    for name, wanted in seed.DEPENDS_ON.items():
        got = {dep: spec["condition"] for dep, spec in config["services"][name]["depends_on"].items()}
        assert got == wanted, name


def test_ingestion_healthcheck_probes_internal_port(config: dict[str, Any]) -> None:
    check = config["services"][seed.HEALTHCHECK_SERVICE]["healthcheck"]
    for key, value in seed.HEALTHCHECK_TIMINGS.items():
        assert check[key] == value, key
    assert check["test"][:4] == ["CMD", "python", "-m", "ingestion.healthcheck"]
    assert check["test"][4] == f"-addr=localhost:{seed.HEALTHCHECK_PORT}"


def test_images_are_built_here_and_replaceable(project: Path, config: dict[str, Any], tmp_path: Path) -> None:
    dockerfiles = {
        seed.BACKEND: "backend/Dockerfile",
        seed.INGESTION: "ingestion/Dockerfile",
        seed.FRONTEND: "frontend/Dockerfile",
    }
    for name, dockerfile in dockerfiles.items():
        service = config["services"][name]
        assert service["build"] == {"context": str(project), "dockerfile": dockerfile}
        assert (ROOT / dockerfile).is_file()
        assert service["image"].startswith("junjo-ai-studio-python-")
    registry = compose_config(
        compose_project(tmp_path, user_env(JUNJO_BACKEND_IMAGE="ghcr.io/acme/junjo-backend:1.2.3"))
    )
    assert registry["services"][seed.BACKEND]["image"] == "ghcr.io/acme/junjo-backend:1.2.3"


def test_memory_limits_fit_a_1gb_vm(config: dict[str, Any]) -> None:
    def mib(value: str | int) -> float:
        text = str(value).lower()
        units = {"k": 1 / 1024, "m": 1, "g": 1024}
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else int(text) / 2**20

    limits = {name: mib(config["services"][name]["mem_limit"]) for name in seed.SERVICES}
    assert all(limit > 0 for limit in limits.values())
    # Leave >= 250 MiB of a 1 GiB VM for the kernel, dockerd/containerd and Caddy.
    assert sum(limits.values()) <= 1024 - 250, limits


def test_caddy_overlay_joins_the_network(project: Path) -> None:
    merged = compose_config(project, "docker-compose.yml", "deploy/docker-compose.caddy.yml")
    caddy = merged["services"]["caddy"]
    assert list(caddy["networks"]) == [seed.NETWORK_KEY]
    assert {int(p["published"]) for p in caddy["ports"]} == {80, 443}
    assert f"{project / 'Caddyfile'}:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert set(merged["services"]) == {*seed.SERVICES, "caddy"}
