"""frontend/nginx.conf run by the Debian nginx binary, unprivileged-style, under a private prefix.

The config file is the exact server block the frontend image installs as conf.d/default.conf. For
a test it is wrapped in a minimal main config (pid, temp paths and logs inside the prefix) and only
its `listen` line, web root and runtime directory are rewritten: loopback on a random port, a temp
web root, `<prefix>/run/junjo`. The runtime files are written by the real
frontend/docker-entrypoint.sh, as in the container. `start(read_only=True)` runs the entrypoint and
nginx as the container does, in a private mount namespace (`unshare`) where the prefix and the web
root are read-only and only `<prefix>/run` and `<prefix>/cache` are tmpfs mounts, like compose's
`read_only: true` with tmpfs on /run and /var/cache/nginx.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from tests.support.procs import ROOT, free_port, port_open

NGINX_CONF = ROOT / "frontend" / "nginx.conf"
ENTRYPOINT = ROOT / "frontend" / "docker-entrypoint.sh"
DIST = ROOT / "frontend" / "dist"

FIXTURE_INDEX = """<!doctype html><html><head><script src="/config.js"></script>
<script type="module" src="/assets/index-3f9a1c2e.js"></script></head>
<body><div id="root"></div></body></html>
"""


def web_root(tmp: Path) -> Path:
    """A copy of the built app (frontend/dist, as `make frontend` leaves it) to serve and modify.

    Before the app is built, a two-file stand-in with the same shape (index.html + hashed asset).
    """
    html = tmp / "html"
    if (DIST / "index.html").is_file():
        shutil.copytree(DIST, html)
    else:
        (html / "assets").mkdir(parents=True)
        (html / "index.html").write_text(FIXTURE_INDEX)
        (html / "assets" / "index-3f9a1c2e.js").write_text("console.log('junjo');\n" * 200)
    return html


def entrypoint_env(runtime: Path, env: Mapping[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUNJO_")}
    return {**clean, "JUNJO_RUNTIME_DIR": str(runtime), **env}


def run_entrypoint(runtime: Path, env: Mapping[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *command],
        capture_output=True,
        text=True,
        timeout=30,
        env=entrypoint_env(runtime, env),
    )


class Nginx:
    """frontend/nginx.conf on 127.0.0.1:<port> serving `html`; `start()` runs the entrypoint first."""

    def __init__(self, prefix: Path, html: Path, env: Mapping[str, str]) -> None:
        self.prefix, self.html, self.env = prefix, html, dict(env)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_dir = prefix / "conf"
        self.runtime = prefix / "run" / "junjo"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, run_entrypoint_now: bool = True) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(parents=True, exist_ok=True)
        (self.prefix / "cache").mkdir(exist_ok=True)
        if run_entrypoint_now:
            result = run_entrypoint(self.runtime, self.env)
            if result.returncode != 0:
                raise AssertionError(f"entrypoint failed: {result.stderr}")
        server = NGINX_CONF.read_text()
        server, listens = re.subn(
            r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{self.port};", server, flags=re.M
        )
        server, roots = re.subn(
            r"^(\s*)root /usr/share/nginx/html;$", rf"\1root {self.html};", server, flags=re.M
        )
        assert listens == 1 and roots == 1, "frontend/nginx.conf must keep `listen 80;` and the nginx root"
        server, runtimes = re.subn(
            r"^(\s*)(include|root) /run/junjo\b", rf"\1\2 {self.runtime}", server, flags=re.M
        )
        assert runtimes == 2, "frontend/nginx.conf includes and serves from /run/junjo"
        (self.conf_dir / "frontend.conf").write_text(server)
        tmp = self.prefix / "cache"
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 temp dirs
        (self.conf_dir / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {self.prefix}/run/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include frontend.conf;
}}
""")

    def _args(self) -> list[str]:
        return ["nginx", "-p", str(self.prefix), "-c", str(self.conf_dir / "nginx.conf"), "-e", "stderr"]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._args(), "-t"], capture_output=True, text=True, timeout=30)

    def start(self, read_only: bool = False) -> Nginx:
        self.configure(run_entrypoint_now=not read_only)
        log = (self.prefix / "nginx.log").open("ab")  # opened before any mount: stays writable
        command = [*self._args(), "-g", "daemon off;"]
        if read_only:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "/bin/sh", "-c", self._read_only_start(command)],
                stdout=log,
                stderr=log,
                env=entrypoint_env(self.runtime, self.env),
            )
        else:
            self.proc = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        for _ in range(200):
            if port_open(self.port):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"nginx did not start:\n{(self.prefix / 'nginx.log').read_text()}")

    def _read_only_start(self, command: list[str]) -> str:
        """Shell run in the new mount namespace: the container's layout, then the entrypoint
        execs nginx (so the process started is nginx's master)."""
        read_only = [self.prefix, self.html]
        lines = ["set -e"]
        lines += [f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))}" for p in read_only]
        lines += [f"mount -o remount,bind,ro {shlex.quote(str(p))}" for p in read_only]
        lines += [
            f"mount -t tmpfs -o size=1m,mode=0755 tmpfs {shlex.quote(str(self.prefix / 'run'))}",
            f"mount -t tmpfs -o size=8m tmpfs {shlex.quote(str(self.prefix / 'cache'))}",
            f"exec /bin/sh {shlex.quote(str(ENTRYPOINT))} {shlex.join(command)}",
        ]
        return "\n".join(lines)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
