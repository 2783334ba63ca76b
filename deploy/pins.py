"""Print the pinned requirements one service image installs, taken from pyproject.toml.

pyproject.toml is the single place versions are pinned; the Dockerfiles call this script in their
builder stage so an image can never drift from what the tests ran against. The ingestion image
installs only what ingestion (and junjo_common) import, which keeps it small; a test checks that
this list covers every third-party import of the service.

`build` prints [build-system].requires instead: what compiling ingestion's C fast path needs.

Usage: python deploy/pins.py backend|ingestion|build [pyproject.toml]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# Distribution names (as written in pyproject.toml) each image installs; None means "all of them".
SERVICE_PACKAGES: dict[str, frozenset[str] | None] = {
    "backend": None,
    "ingestion": frozenset(
        {
            "grpcio",
            "grpcio-health-checking",
            "protobuf",
            "opentelemetry-proto",
            "pyarrow",
            "orjson",
            "structlog",
            "pydantic",
            "pydantic-settings",
            "python-dotenv",
            "psutil",
            "uvicorn",
            "starlette",
            "googleapis-common-protos",
        }
    ),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"unparsable requirement {requirement!r}")
    return match.group(0).lower().replace("_", "-")


def pinned_requirements(service: str, pyproject: Path) -> list[str]:
    """The `name==version` lines of pyproject's [project].dependencies the service needs (or of
    [build-system].requires for `build`)."""
    config = tomllib.loads(pyproject.read_text())
    if service == "build":
        dependencies: list[str] = config["build-system"]["requires"]
        wanted: frozenset[str] | None = None
    elif service in SERVICE_PACKAGES:
        dependencies = config["project"]["dependencies"]
        wanted = SERVICE_PACKAGES[service]
    else:
        raise ValueError(f"unknown service {service!r}; expected build or one of {sorted(SERVICE_PACKAGES)}")
    chosen = [d for d in dependencies if wanted is None or requirement_name(d) in wanted]
    if wanted is not None:
        missing = wanted - {requirement_name(d) for d in chosen}
        if missing:
            raise ValueError(f"{service}: not pinned in pyproject.toml: {sorted(missing)}")
    unpinned = [d for d in chosen if "==" not in d]
    if unpinned:
        raise ValueError(f"{service}: requirements must be pinned with ==: {unpinned}")
    return chosen


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    pyproject = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        lines = pinned_requirements(argv[1], pyproject)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
