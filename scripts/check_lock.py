"""Checks that the lock files in requirements/ hold every version pyproject.toml pins.

pyproject.toml says which packages we use (exact pins); requirements/*.txt are what `make`, CI and
the Dockerfiles install, with hashes. A pin changed in one and not the other would install something
other than what pyproject says, so `make` runs this before installing and stops with the fix
(`make lock`). Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """name -> version of every `name==version` requirement among `lines`."""
    found = {}
    for line in lines:
        match = _PIN.match(line.strip())
        if match:
            found[normalize(match.group(1))] = match.group(2)
    return found


def expected_locks(pyproject: dict) -> dict[str, dict[str, str]]:
    """lock file -> the pins pyproject.toml requires it to hold."""
    project = pyproject["project"]
    runtime = pins(project["dependencies"])
    dev = pins(project.get("optional-dependencies", {}).get("dev", []))
    build = pins(pyproject["build-system"]["requires"])
    return {"dev.txt": runtime | dev | build, "backend.txt": runtime, "build.txt": build}


def problems(root: Path = ROOT) -> list[str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    out = []
    for lock_name, wanted in expected_locks(pyproject).items():
        lock = root / "requirements" / lock_name
        if not lock.is_file():
            out.append(f"requirements/{lock_name} is missing")
            continue
        locked = pins(lock.read_text().splitlines())
        for name, version in sorted(wanted.items()):
            if locked.get(name) != version:
                have = locked.get(name, "nothing")
                out.append(f"requirements/{lock_name} has {name} {have}, pyproject.toml pins {version}")
    backend, ingestion = (root / "requirements" / name for name in ("backend.txt", "ingestion.txt"))
    if backend.is_file() and ingestion.is_file():  # the ingestion image: a subset, same versions
        backend_pins = pins(backend.read_text().splitlines())
        for name, version in sorted(pins(ingestion.read_text().splitlines()).items()):
            if backend_pins.get(name) != version:
                out.append(f"requirements/ingestion.txt has {name} {version}, backend.txt does not")
    return out


def main() -> int:
    found = problems()
    if found:
        print(f"lock files out of date ({'; '.join(found)}): run `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
