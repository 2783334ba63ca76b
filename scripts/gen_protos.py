"""Regenerates junjo_common/proto_gen from proto/*.proto (one command: `make protos`).

Imports in the generated gRPC modules are rewritten to package-relative form so the stubs
live inside junjo_common instead of on the top-level import path.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "junjo_common" / "proto_gen"


def generate(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.glob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *protos,
        ]
    )
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    for path in out_dir.glob("*_pb2_grpc.py"):
        text = re.sub(r"^import (\w+_pb2) as", r"from . import \1 as", path.read_text(), flags=re.M)
        path.write_text(text)
    banner = '"""Generated from proto/ by scripts/gen_protos.py; do not edit."""\n'
    (out_dir / "__init__.py").write_text(banner)


def generated_files(out_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out_dir.iterdir()) if p.is_file()}


def main() -> None:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            if generated_files(Path(tmp)) != generated_files(OUT_DIR):
                raise SystemExit("junjo_common/proto_gen is stale: run `make protos`")
        return
    generate(OUT_DIR)


if __name__ == "__main__":
    main()
