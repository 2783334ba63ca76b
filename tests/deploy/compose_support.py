"""Run Debian's docker-compose (v1) `config` on our compose files in a scratch project directory.

No Docker engine runs here, so `docker-compose config` is the parser/validator: it interpolates
variables from the project's `.env`, merges override files and prints the normalized YAML. The
YAML is turned into JSON with the system python3 that runs docker-compose (its python3-yaml
dependency), so the project venv needs no YAML library.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.procs import ROOT

_YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def compose_project(tmp: Path, env_text: str) -> Path:
    """A scratch project: the compose files at their repo-relative paths plus the given `.env`."""
    project = tmp / "project"
    (project / "deploy").mkdir(parents=True)
    shutil.copy(ROOT / "docker-compose.yml", project / "docker-compose.yml")
    shutil.copy(ROOT / "deploy" / "docker-compose.caddy.yml", project / "deploy" / "docker-compose.caddy.yml")
    shutil.copy(ROOT / "docker-compose.scale.yml", project / "docker-compose.scale.yml")
    shutil.copy(ROOT / "deploy" / "Caddyfile.scale", project / "deploy" / "Caddyfile.scale")
    (project / ".env").write_text(env_text)
    return project


def compose_config(project: Path, *files: str) -> dict[str, Any]:
    """`docker-compose -f ... config` parsed; raises with docker-compose's message on failure."""
    args = ["docker-compose"]
    for name in files or ("docker-compose.yml",):
        args += ["-f", name]
    result = subprocess.run([*args, "config"], cwd=project, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"docker-compose config failed:\n{result.stderr}")
    converted = subprocess.run(
        ["/usr/bin/python3", "-c", _YAML_TO_JSON],
        input=result.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(converted.stdout)
