"""Serves the built frontend (frontend/dist) for `make run`, like nginx does in the container.

- SPA fallback: any path that is not a file gets index.html (client-side routing).
- /config.js is generated: `window.runtimeConfig = {"API_HOST": ...}` (the backend URL).
- /assets/* (content-hashed by Vite) is cached for a year; index.html and config.js never.
Standard library only; binds 127.0.0.1; stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import signal
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import unquote, urlsplit

LONG_CACHE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


class SpaHandler(BaseHTTPRequestHandler):
    server_version = "junjo-static"

    def __init__(self, *args: object, root: Path, config_js: bytes, **kwargs: object) -> None:
        self.root = root
        self.config_js = config_js
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _resolve(self, url_path: str) -> Path | None:
        relative = unquote(urlsplit(url_path).path).lstrip("/")
        candidate = (self.root / relative).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None  # path traversal
        return candidate if candidate.is_file() else None

    def _send(self, body: bytes, content_type: str, cache: str, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/config.js":
            self._send(self.config_js, "application/javascript; charset=utf-8", NO_CACHE, head)
            return
        file = self._resolve(path)
        if file is None:
            if path.startswith("/assets/"):
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            file = self.root / "index.html"
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/javascript":
            content_type += "; charset=utf-8"
        cache = LONG_CACHE if path.startswith("/assets/") else NO_CACHE
        self._send(file.read_bytes(), content_type, cache, head)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)


def config_js(api_host: str) -> bytes:
    return f"window.runtimeConfig = {json.dumps({'API_HOST': api_host})};\n".encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("frontend/dist"))
    parser.add_argument("--port", type=int, default=5153)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-host", default="http://localhost:1323")
    args = parser.parse_args(argv)
    root = args.dir.resolve()
    if not (root / "index.html").is_file():
        print(f"static_server: {root}/index.html not found (build the frontend first)", file=sys.stderr)
        return 2
    handler = partial(SpaHandler, root=root, config_js=config_js(args.api_host))
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.daemon_threads = True

    def stop(_sig: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving {root} on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
