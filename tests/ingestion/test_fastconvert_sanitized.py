"""The compiled fast path under AddressSanitizer and UndefinedBehaviorSanitizer.

It parses hostile bytes from the network, so an out-of-bounds read or undefined behaviour must
fail the suite, not wait for a crash in production. The C source is compiled here with
`-fsanitize=address,undefined` and test_fastconvert.py (differential, mutation and hostile-shape
tests) runs in a subprocess with that build swapped in for the regular one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SWAP_PLUGIN = '''
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("ingestion._fastconvert", os.environ["SANITIZED_SO"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import ingestion
sys.modules["ingestion._fastconvert"] = ingestion._fastconvert = module
import ingestion.convert
assert ingestion.convert._fastconvert is module, "the sanitized build is not the one in use"
'''


def _runtime(name: str) -> str:
    return subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_fast_path_is_clean_under_address_and_undefined_behaviour_sanitizers(tmp_path: Path) -> None:
    so = tmp_path / f"_fastconvert{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-O1", "-fno-omit-frame-pointer",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-std=c11",
                    f"-I{sysconfig.get_paths()['include']}", str(ROOT / "ingestion" / "_fastconvert.c"),
                    "-o", str(so)], check=True)
    (tmp_path / "sanitized_swap.py").write_text(SWAP_PLUGIN)
    env = {**os.environ, "SANITIZED_SO": str(so), "PYTHONPATH": f"{tmp_path}:{ROOT}",
           "LD_PRELOAD": f"{_runtime('libasan.so')} {_runtime('libubsan.so')}",
           "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "sanitized_swap", "-p", "no:cacheprovider", "-q",
         "-k", "not sanitizers", str(ROOT / "tests" / "ingestion" / "test_fastconvert.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout and "AddressSanitizer" not in run.stderr, report
    assert "runtime error" not in run.stderr, report
