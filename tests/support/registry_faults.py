"""Registries that misbehave, on 127.0.0.1, for the push tests.

- :func:`silent_registry`: a socket that accepts connections and never answers.
- :func:`refusing_registry`: a proxy in front of the real test registry that passes every
  request through but refuses the manifest of tags matching a pattern (a push that fails
  part-way, after the registry took the first tag).
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.components import free_port


@contextmanager
def silent_registry() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a listener that accepts and then says nothing, ever."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(connection)  # held open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


@contextmanager
def refusing_registry(upstream: str, refuse: str) -> Iterator[str]:
    """A proxy to ``upstream`` (host:port) refusing ``PUT .../manifests/<tag>`` for tags
    matching the regex ``refuse`` with the registry's own ``DENIED`` error."""
    pattern = re.compile(refuse)
    host, _, port = upstream.partition(":")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _body(self) -> bytes | None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _forward(self) -> None:
            match = re.search(r"/manifests/([^/?]+)$", self.path)
            if self.command == "PUT" and match and pattern.search(match.group(1)):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = b'{"errors":[{"code":"DENIED","message":"tag is protected"}]}'
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            body = self._body()
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            skip = ("host", "transfer-encoding", "content-length")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            headers["Host"] = upstream
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() in ("content-length", "transfer-encoding", "connection"):
                    continue
                local = self.headers.get("Host") or upstream
                self.send_header(
                    key, value.replace(upstream, local) if key.lower() == "location" else value
                )
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
