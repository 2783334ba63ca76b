"""Real service processes on loopback for integration and end-to-end tests."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_sender(module: str, *args: str, timeout: float = 120.0) -> Any:
    """Runs `python -m <module> <args>` (a telemetry sender: its own process, because the
    OpenTelemetry tracer provider is process-global) and returns its last stdout line as JSON."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise AssertionError(f"{module} exited with {out.returncode}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# Below Linux's ephemeral range (32768-60999). A port the OS hands out for port 0 is one of its
# ephemeral ports: once the probe closes it, any outgoing connection can take it before the
# service binds it, and the service then fails to start. The ports are handed out in a shuffled
# order, each once per pass, so the several ports a stack asks for before starting never repeat.
_TEST_PORTS = range(20_000, 32_768)
_port_order = itertools.cycle(random.sample(_TEST_PORTS, len(_TEST_PORTS)))


def free_port() -> int:
    """A port nothing listens on (all interfaces), outside the range outgoing connections use."""
    for _ in range(len(_TEST_PORTS)):
        port = next(_port_order)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_TEST_PORTS.start}-{_TEST_PORTS.stop - 1}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


# Allocator settings a service chooses for itself at start (its allocators module). The test
# runner's own process gets them set as soon as it imports a service module, and a child that
# inherited them would run on the other service's allocator, not its own.
_PROCESS_OWN_VARIABLES = ("ARROW_DEFAULT_MEMORY_POOL", "MIMALLOC_")


def _inheritable_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_PROCESS_OWN_VARIABLES)}


class ServiceProcess:
    """A `python -m <module> [args]` child with its own environment and a log file.

    The log is kept so a failing test can show what the service said.
    """

    def __init__(self, module: str, env: Mapping[str, str], log_path: Path, args: Sequence[str] = ()) -> None:
        self.module = module
        self.args = list(args)
        self.log_path = log_path
        self._env = {**_inheritable_environment(), **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], cwd=ROOT, env=self._env, stdout=log, stderr=log
        )
        log.close()
        return self

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self.proc.returncode}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.module} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
