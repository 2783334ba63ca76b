"""The compiled parts of ingestion under AddressSanitizer and UndefinedBehaviorSanitizer.

The OTLP fast path parses hostile bytes from the network and the segment reader copies by
positions into buffers, so an out-of-bounds access or undefined behaviour must fail the suite, not
wait for a crash in production. Each C source is compiled here with `-fsanitize=address,undefined`
and its tests (differential, mutation, hostile-shape and bad-argument tests) run in a subprocess
with that build swapped in for the regular one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SWAP_PLUGIN = """
import importlib.util, os, sys
import ingestion
name = os.environ["SANITIZED_MODULE"]
spec = importlib.util.spec_from_file_location(f"ingestion.{name}", os.environ["SANITIZED_SO"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.modules[f"ingestion.{name}"] = module
setattr(ingestion, name, module)
import ingestion.convert, ingestion.wal_read
in_use = {"_fastconvert": lambda: ingestion.convert._fastconvert,
          "_segread": lambda: sys.modules["ingestion._segread"]}[name]()
assert in_use is module, "the sanitized build is not the one in use"
if name == "_segread":
    assert ingestion.wal_read.gather is module.gather, "the sanitized reader is not the one in use"
"""


def _runtime(name: str) -> str:
    return subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("module", "tests"), [("_fastconvert", "test_fastconvert.py"), ("_segread", "test_wal_read.py")]
)
def test_compiled_code_is_clean_under_address_and_undefined_behaviour_sanitizers(
    tmp_path: Path, module: str, tests: str
) -> None:
    so = tmp_path / f"{module}{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-g",
            "-O1",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-std=c11",
            "-D_GNU_SOURCE",
            f"-I{sysconfig.get_paths()['include']}",
            str(ROOT / "ingestion" / f"{module}.c"),
            "-o",
            str(so),
        ],
        check=True,
    )
    (tmp_path / "sanitized_swap.py").write_text(SWAP_PLUGIN)
    env = {
        **os.environ,
        "SANITIZED_SO": str(so),
        "SANITIZED_MODULE": module,
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "LD_PRELOAD": f"{_runtime('libasan.so')} {_runtime('libubsan.so')}",
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "sanitized_swap",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "not sanitizers",
            str(ROOT / "tests" / "ingestion" / tests),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout and "AddressSanitizer" not in run.stderr, report
    assert "runtime error" not in run.stderr, report
