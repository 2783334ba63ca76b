"""Run the Debian `caddy` binary on our Caddyfiles: adapt to JSON, validate, and read the routing.

`proxies()` reduces an adapted config to what matters for Junjo: which upstream each public host
reaches and over which transport, so the production and loopback Caddyfiles can be compared.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.procs import ROOT

CADDYFILE = ROOT / "Caddyfile"
LOCAL_CADDYFILE = ROOT / "deploy" / "Caddyfile.local"
DNS_CADDYFILE = ROOT / "deploy" / "Caddyfile.dns-cloudflare"


def caddy(command: str, config: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["caddy", command, "--adapter", "caddyfile", "--config", str(config)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def adapt(config: Path, env: Mapping[str, str]) -> dict[str, Any]:
    result = caddy("adapt", config, env)
    if result.returncode != 0:
        raise AssertionError(f"caddy adapt {config.name} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def proxies(config: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """{role: (upstream dial, transport versions)} with role `api`, `ingestion`, `ingestion-http`
    or `frontend`.

    The role is decided by the innermost host matcher above the reverse_proxy handler: a single
    `api.` or `ingestion.` host, else the site's fallback (`frontend`); under `ingestion.`, a
    path matcher of exactly `/v1/traces` (OTLP/HTTP) makes it `ingestion-http`.
    """
    found: dict[str, tuple[str, tuple[str, ...]]] = {}

    def walk(routes: list[dict[str, Any]], hosts: list[str], paths: list[str]) -> None:
        for route in routes:
            inner_hosts, inner_paths = hosts, paths
            for matcher in route.get("match", []):
                inner_hosts = matcher.get("host", inner_hosts)
                inner_paths = matcher.get("path", inner_paths)
            for handler in route.get("handle", []):
                if handler["handler"] == "subroute":
                    walk(handler.get("routes", []), inner_hosts, inner_paths)
                elif handler["handler"] == "reverse_proxy":
                    role = "frontend"
                    if len(inner_hosts) == 1 and inner_hosts[0].split(".")[0] in ("api", "ingestion"):
                        role = inner_hosts[0].split(".")[0]
                    if role == "ingestion" and inner_paths == ["/v1/traces"]:
                        role = "ingestion-http"
                    dial = handler["upstreams"][0]["dial"]
                    versions = tuple(handler.get("transport", {}).get("versions", ()))
                    assert role not in found, f"two proxies for {role}"
                    found[role] = (dial, versions)

    for server in config["apps"]["http"]["servers"].values():
        walk(server["routes"], [], [])
    return found
