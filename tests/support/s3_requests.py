"""An HTTP proxy on loopback in front of the S3 server that records every request it forwards
(method, object key, Range header), so tests can count what a query asked the bucket for, and
that can refuse connections for a while (`refuse()` / `accept()`) as an unreachable bucket does.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from tests.support.procs import free_port

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass(frozen=True)
class S3Request:
    method: str
    key: str  # the path after the bucket, without the query string
    range: str | None  # "bytes=a-b" as sent, or None for a whole object

    def reads_footer_of(self, key: str, size: int) -> bool:
        """Whether this GET reads the last bytes of object `key` (`size` bytes): where a Parquet
        footer is. A whole-object GET does too."""
        if self.method != "GET" or self.key != key:
            return False
        if self.range is None:
            return True
        first, _, last = self.range.removeprefix("bytes=").partition("-")
        if not first:  # "bytes=-N": the last N bytes
            return True
        return not last or int(last) >= size - 1


class RecordingS3Proxy:
    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.requests: list[S3Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self.accept()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accept(self) -> None:
        """Listen (again) on the same port."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                super().finish()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urlsplit(self.path).path
                key = unquote(path.lstrip("/").partition("/")[2])
                with proxy._lock:
                    proxy.requests.append(S3Request(self.command, key, self.headers.get("Range")))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                reply = upstream.getresponse()
                data = reply.read()
                self.send_response(reply.status, reply.reason)
                for name, value in reply.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                declared = reply.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", declared or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def refuse(self) -> None:
        """Stop listening: new connections are refused, open ones are dropped."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:  # connections the clients keep alive end too
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def take(self) -> list[S3Request]:
        """The requests recorded since the last call."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def close(self) -> None:
        self.refuse()
