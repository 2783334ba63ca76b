"""frontend/nginx.conf run by the Debian nginx binary, unprivileged-style, under a private prefix.

The config file is the exact server block the frontend image installs as conf.d/default.conf. For
a test it is wrapped in a minimal main config (pid, temp paths and logs inside the prefix) and only
its `listen` and `root` lines are rewritten: loopback on a random port, and a temp web root. The
runtime include is written by the real frontend/docker-entrypoint.sh, as in the container.
"""

from __future__ import annotations

import os
import re
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


def run_entrypoint(
    html: Path, runtime_conf: Path, env: Mapping[str, str], *command: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUNJO_")}
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *command],
        capture_output=True,
        text=True,
        timeout=30,
        env={**clean, "JUNJO_HTML_DIR": str(html), "JUNJO_NGINX_RUNTIME_CONF": str(runtime_conf), **env},
    )


class Nginx:
    """frontend/nginx.conf on 127.0.0.1:<port> serving `html`; `start()` runs the entrypoint first."""

    def __init__(self, prefix: Path, html: Path, env: Mapping[str, str]) -> None:
        self.prefix, self.html, self.env = prefix, html, dict(env)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_dir = prefix / "conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.prefix / "tmp").mkdir(exist_ok=True)
        result = run_entrypoint(self.html, self.conf_dir / "junjo-runtime.conf", self.env)
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
        (self.conf_dir / "frontend.conf").write_text(server)
        tmp = self.prefix / "tmp"
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the 0700 temp dirs
        (self.conf_dir / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {self.prefix}/nginx.pid;
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

    def start(self) -> Nginx:
        self.configure()
        log = (self.prefix / "nginx.log").open("ab")
        self.proc = subprocess.Popen([*self._args(), "-g", "daemon off;"], stdout=log, stderr=log)
        log.close()
        for _ in range(200):
            if port_open(self.port):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"nginx did not start:\n{(self.prefix / 'nginx.log').read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
