"""README's deployment section only names files and variables that exist.

Instructions that point at a renamed file or an unknown variable fail the user on a VM, far from
this repository's tests; this keeps the prose honest.
"""

from __future__ import annotations

import re

from tests.support.procs import ROOT


def deployment_section() -> str:
    text = (ROOT / "README.md").read_text()
    assert "\n## Deployment\n" in text, "README.md needs a `## Deployment` section"
    return text.split("\n## Deployment\n", 1)[1]


def test_every_file_the_deployment_section_names_exists() -> None:
    section = deployment_section()
    named = set(
        re.findall(
            r"`((?:deploy|backend|ingestion|frontend)/[\w./-]+|docker-compose\.yml|"
            r"Caddyfile|\.env\.example)`",
            section,
        )
    )
    assert {"docker-compose.yml", "Caddyfile", ".env.example", "deploy/docker-compose.caddy.yml"} <= named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"README names files that do not exist: {missing}"


def test_every_variable_the_deployment_section_names_is_in_env_example() -> None:
    env_example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", env_example, flags=re.M))
    named = set(
        re.findall(
            r"\b((?:JUNJO|OPENAI|GEMINI|ANTHROPIC|CLOUDFLARE|BACKPRESSURE)_[A-Z0-9_]+)\b",
            deployment_section(),
        )
    )
    named = {n for n in named if not n.endswith("_")}  # `JUNJO_PROD_*_URL`-style families
    unknown = sorted(named - documented)
    assert not unknown, f"README uses variables .env.example does not document: {unknown}"
