"""The transport under :class:`~noderr_deploy.chain.rpc.RpcClient`: one time budget for a
whole command (:class:`Deadline`), enforced byte by byte on the socket, and an HTTP POST
over the standard library's ``http.client`` that reuses its connection.

A failed attempt is a :class:`TransportFailure` that says whether retrying is safe; the
client decides whether to retry.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from noderr_deploy.chain.settings import Endpoint
from noderr_deploy.text import clipped

if TYPE_CHECKING:
    import http.client
    import socket

MAX_REPLY_BYTES = 32 * 1024 * 1024
_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class Deadline:
    """``seconds`` from its creation: the budget of every request of one command."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    end: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not self.end:
            self.end = self.clock() + self.seconds

    def remaining(self) -> float:
        return self.end - self.clock()


class _DeadlineReader(io.RawIOBase):
    """A socket's receiving side where every read waits at most until the deadline."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._owner.sock
        remaining = self._owner.deadline.remaining()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._owner.release()


class _DeadlineSocket:
    """What ``http.client`` uses of a socket, each operation bounded by the deadline.

    Like a real socket's ``makefile``, an open reader keeps the socket open after
    ``close()`` (``http.client`` closes the connection before the body is read when the
    server says it will close).
    """

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self._readers = 0
        self._closed = False

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def sendall(self, data: bytes) -> None:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)  # since 3.5 a bound on the whole sendall
        self.sock.sendall(data)

    def release(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self.sock.close()


class TransportFailure(Exception):
    """One failed attempt; ``retry``: "never", "unsent" (the node cannot have acted on the
    request: safe for any method) or "idempotent" (safe for reads only)."""

    def __init__(self, reason: str, retry: str = "never", *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.timeout = timeout


class Transport(Protocol):
    """Sends one request body and returns the reply body (raising :class:`TransportFailure`)."""

    def __call__(self, body: bytes, deadline: Deadline) -> bytes: ...


class HttpTransport:
    """POSTs to one :class:`Endpoint` with ``http.client``, reusing the connection."""

    def __init__(self, endpoint: Endpoint, max_bytes: int = MAX_REPLY_BYTES) -> None:
        self.endpoint = endpoint
        self.max_bytes = max_bytes
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self, deadline: Deadline) -> http.client.HTTPConnection:
        import http.client

        e = self.endpoint
        timeout = max(deadline.remaining(), 0.001)
        conn: http.client.HTTPConnection
        if e.https:
            conn = http.client.HTTPSConnection(e.host, e.port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(e.host, e.port, timeout=timeout)
        conn.connect()
        conn.sock = _DeadlineSocket(conn.sock, deadline)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __call__(self, body: bytes, deadline: Deadline) -> bytes:
        import http.client
        import socket
        import ssl

        reused = self._conn is not None
        sent = False
        try:
            if self._conn is None:
                self._conn = self._connect(deadline)
            else:
                self._conn.sock.deadline = deadline  # type: ignore[union-attr]
            conn = self._conn
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "noderr-deploy",
            }
            if self.endpoint.authorization:
                headers["Authorization"] = self.endpoint.authorization
            conn.request("POST", self.endpoint.target, body, headers)
            sent = True
            response = conn.getresponse()
            return self._read(response)
        except TransportFailure:
            self.close()
            raise
        except TimeoutError:
            self.close()
            raise TransportFailure("no answer", timeout=True) from None
        except ConnectionRefusedError:
            self.close()
            raise TransportFailure("connection refused", "unsent") from None
        except socket.gaierror:
            self.close()
            raise TransportFailure("unknown host") from None
        except ssl.SSLError as exc:
            self.close()
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise TransportFailure(f"TLS failed ({clipped(str(reason), 60)})") from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            # A kept-alive connection the node closed meanwhile never got the request.
            retry = "unsent" if reused and not sent else "idempotent"
            raise TransportFailure("connection closed by the server", retry) from None
        except http.client.HTTPException as exc:
            self.close()
            raise TransportFailure(f"malformed HTTP response ({type(exc).__name__})") from None
        except OSError as exc:
            self.close()
            raise TransportFailure(
                f"connection failed ({type(exc).__name__})", "idempotent"
            ) from None

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        status = response.status
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise TransportFailure(self._too_large())
        chunks = []
        size = 0
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise TransportFailure(self._too_large())
            chunks.append(chunk)
        if response.will_close:
            self.close()
        if status != 200:
            retry = "idempotent" if status in _RETRY_STATUS else "never"
            if status == 429:
                retry = "unsent"  # rate limited: not acted on
            raise TransportFailure(f"HTTP {status}", retry)
        return b"".join(chunks)

    def _too_large(self) -> str:
        mb, rest = divmod(self.max_bytes, 1024 * 1024)
        if rest:
            return f"a reply over {self.max_bytes} bytes"
        return f"a reply larger than {mb} MB"
