"""Small real HTTP servers on 127.0.0.1 for RPC failure modes and request counting.

- :class:`SilentServer` accepts connections and never answers (a hung node).
- :class:`CannedServer` answers every POST with one fixed status and body, counting hits.
- :class:`CountingProxy` forwards every POST to a real node and records each request's
  JSON-RPC methods, so a test can count the HTTP requests a command makes.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class _Background:
    url: str

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SilentServer(_Background):
    """Accepts TCP connections, reads what is sent, and never writes a byte back."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections = 0
        self._sock.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(conn)  # keep it open: the client waits for an answer

    def close(self) -> None:
        self._stop.set()
        # Close the socket only once the accept loop has left it.
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


class _Server(_Background):
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CannedServer(_Server):
    """Answers every POST with ``status`` and ``body``; ``hits`` counts them."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status = status
        self.body = body
        self.hits = 0
        owner = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                self._body()
                owner.hits += 1
                self._reply(owner.status, owner.body)

        super().__init__(Handler)


class CountingProxy(_Server):
    """Forwards POSTs to ``target``; ``requests`` holds each request's JSON-RPC methods."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[list[str]] = []
        owner = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                body = self._body()
                sent = json.loads(body)
                calls = sent if isinstance(sent, list) else [sent]
                owner.requests.append([c["method"] for c in calls])
                request = urllib.request.Request(
                    owner.target, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    self._reply(response.status, response.read())

        super().__init__(Handler)


class ScriptedServer(_Server):
    """Answers each POST with ``answer(request)`` -> ``(status, body)``, where ``request`` is
    the decoded JSON-RPC batch; ``requests`` holds every batch received."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[Any] = []
        owner = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                sent = json.loads(self._body())
                owner.requests.append(sent)
                status, body = owner.answer(sent)
                self._reply(status, body)

        super().__init__(Handler)


class TrickleServer(_Background):
    """Sends a valid HTTP reply ``delay`` seconds per byte: the headers (``headers=True``)
    or only the body. Each connection gets its own thread, so a client's retry is seen."""

    def __init__(self, body: bytes, *, delay: float = 0.2, headers: bool = False) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.body = body
        self.delay = delay
        self.slow_headers = headers
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        try:
            conn.recv(65536)
            slow, fast = (head + self.body, b"") if self.slow_headers else (self.body, head)
            conn.sendall(fast)
            for i in range(len(slow)):
                if self._stop.wait(self.delay):
                    break
                conn.sendall(slow[i : i + 1])
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()
