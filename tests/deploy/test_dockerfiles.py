"""The three Dockerfiles: hadolint-clean, pinned, multi-stage, healthy, and buildable from this tree.

No Docker engine runs here, so what a build would need is checked statically: every COPY source
exists and is not excluded by .dockerignore, entrypoints are executable, the Python images install
their lock file with hashes, and the ingestion image's trimmed lock file (requirements/ingestion.txt)
covers every third-party import ingestion makes.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.check_lock import pins, problems
from tests.support.procs import ROOT

DOCKERFILES = ("backend/Dockerfile", "ingestion/Dockerfile", "frontend/Dockerfile")
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / dockerfile).read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, args in instructions(dockerfile):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_passes(dockerfile: str) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", dockerfile], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_bases_pinned_and_multi_stage(dockerfile: str) -> None:
    froms = [args for keyword, args in instructions(dockerfile) if keyword == "FROM"]
    assert len(froms) >= 2, "builder and runtime stages"
    for args in froms:
        image = args.split()[0]
        assert re.search(r":\d+\.\d+\.\d+-", image), f"{image} is not pinned to a full version"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_runtime_stage_has_healthcheck_and_no_toolchain(dockerfile: str) -> None:
    runtime = stages(dockerfile)[-1]
    keywords = [k for k, _ in runtime]
    assert "HEALTHCHECK" in keywords
    assert "ENTRYPOINT" in keywords and "CMD" in keywords
    runs = " ".join(args for k, args in runtime if k == "RUN")
    for tool in ("apt-get install", "apk add", "gcc", "build-essential", "npm ", "pip install"):
        assert tool not in runs, f"runtime stage of {dockerfile} installs {tool!r}"


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_copy_sources_exist_in_the_build_context(dockerfile: str) -> None:
    patterns = _dockerignore_patterns()
    for keyword, args in instructions(dockerfile):
        if keyword != "COPY" or "--from=" in args:
            continue
        *sources, _dest = args.split()
        for source in sources:
            if source.startswith("--"):
                continue
            assert (ROOT / source).exists(), f"{dockerfile}: COPY {source} does not exist"
            assert not _ignored(source.rstrip("/"), patterns), f"{dockerfile}: {source} is in .dockerignore"


@pytest.mark.parametrize("script", ["deploy/python-entrypoint.sh", "frontend/docker-entrypoint.sh"])
def test_entrypoints_are_executable_in_git(script: str) -> None:
    mode = subprocess.run(
        ["git", "ls-files", "-s", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    assert mode == "100755", f"{script} must be committed executable (COPY keeps the mode)"


@pytest.mark.parametrize("dockerfile", ["backend/Dockerfile", "ingestion/Dockerfile"])
def test_python_images_install_lock_files_with_hashes(dockerfile: str) -> None:
    installs = [args for keyword, args in stages(dockerfile)[0] if keyword == "RUN" and "pip install" in args]
    assert installs, f"{dockerfile} installs nothing"
    for args in installs:
        for command in args.split("&&"):
            if "pip install" in command:
                assert "--require-hashes" in command and "--requirement requirements/" in command, command


def test_lock_files_hold_what_pyproject_pins(tmp_path: Path) -> None:
    assert problems() == []
    (tmp_path / "requirements").mkdir()
    for name in ("dev.txt", "backend.txt", "build.txt", "ingestion.txt"):
        (tmp_path / "requirements" / name).write_text((ROOT / "requirements" / name).read_text())
    text = (ROOT / "pyproject.toml").read_text().replace('"grpcio==1.85.1"', '"grpcio==1.85.4"')
    (tmp_path / "pyproject.toml").write_text(text)
    assert "requirements/dev.txt has grpcio 1.85.1, pyproject.toml pins 1.85.4" in problems(tmp_path)


def _third_party_imports(*packages: str) -> set[str]:
    local = {"ingestion", "junjo_common", "backend"}
    found: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found |= {n.split(".")[0] for n in names}
    return {n for n in found if n not in sys.stdlib_module_names and n not in local}


def test_ingestion_image_installs_everything_ingestion_imports() -> None:
    provided = set(pins((ROOT / "requirements" / "ingestion.txt").read_text().splitlines()))
    module_to_dists = md.packages_distributions()
    missing = {}
    for module in _third_party_imports("ingestion", "junjo_common"):
        dists = {d.lower().replace("_", "-") for d in module_to_dists.get(module, [])}
        assert dists, f"ingestion imports {module!r}, which no installed distribution provides"
        if not dists & provided:
            missing[module] = sorted(dists)
    assert not missing, f"add to requirements/ingestion.in, then `make lock`: {missing}"
