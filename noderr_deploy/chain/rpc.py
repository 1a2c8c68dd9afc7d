"""JSON-RPC access to the chain: one small client, one time budget, answers matched by id.

Every command that talks to a node does it through one :class:`RpcClient`:

- **One deadline for the whole command** (:class:`Deadline`, ``--timeout``): connecting,
  sending, waiting for headers and reading the body all count against it, byte by byte, so
  a node that trickles its reply or its headers fails at the deadline, not after it.
- **One HTTP POST per batch**, over the standard library's ``http.client`` (cheaper to
  import than ``requests``, and far cheaper than web3, which the read-only commands never
  import). The connection is kept open between the batches of a command.
- **Replies matched to requests by id**, each entry checked for shape; a reply that does
  not answer exactly the questions asked is a :class:`~noderr_deploy.errors.ChainError`.
- **Replies capped** at :data:`MAX_REPLY_BYTES`.
- **Retries only where safe**: at most :data:`MAX_ATTEMPTS` attempts, after a refused or
  dropped connection or HTTP 429/5xx, and for methods that change state (sending a
  transaction) only when the request cannot have been acted on (refused, 429).
- **The URL is never shown** beyond ``scheme://host[:port]`` (:func:`redact_endpoint`),
  and text that comes back from the node is scrubbed of the URL's secret parts and made
  printable before it reaches a message.

API for other modules: :func:`connect` (or ``RpcClient(url, deadline=...)``),
:meth:`RpcClient.batch`, :meth:`RpcClient.request`, :meth:`RpcClient.call`;
:func:`resolve_block` for the chain id and the block every read is pinned to.
"""

from __future__ import annotations

import io
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.redact import printable, redact_endpoint, scrub
from noderr_deploy.units import check_ascii_number

if TYPE_CHECKING:
    import http.client
    import socket

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
"""``--timeout`` above this is refused: a budget nobody means is a typo (``1e308``)."""
MAX_ATTEMPTS = 3
MAX_REPLY_BYTES = 32 * 1024 * 1024
MAX_BLOCK = 2**64 - 1
"""Block numbers are 64-bit quantities on every Ethereum client."""
BLOCK_TAGS = ("latest", "safe", "finalized", "earliest")
_RETRY_STATUS = {429, 500, 502, 503, 504}
_STATE_CHANGING = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})
"""Never sent twice unless the first attempt cannot have reached the node."""
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{1,64}$")
_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{0,15}):")

BlockRef = int | str
"""A block number, or one of :data:`BLOCK_TAGS`."""


# ---- settings and values from the command line ----


@dataclass(frozen=True)
class ChainSettings:
    """Where and how to read the VersionBeacon, resolved once from flags, env and tiers.yaml."""

    rpc_url: str
    beacon_address: str
    """Checksummed."""
    chain_id: int | None = None
    """When set, ``eth_chainId`` must equal it."""
    block: BlockRef = "latest"
    timeout: float = DEFAULT_TIMEOUT
    """Seconds for all RPC requests of one command together."""

    @property
    def redacted_url(self) -> str:
        return redact_endpoint(self.rpc_url)


def parse_block(text: str) -> BlockRef:
    """``latest``/``safe``/``finalized``/``earliest``, a decimal number or a 0x hex number."""
    value = text.strip().lower()
    if value in BLOCK_TAGS:
        return value
    shown = printable(text, 40)
    try:
        check_ascii_number(value)  # int() would read a full-width 5 (U+FF15) as 5
        number = int(value, 16) if value.startswith("0x") else int(value, 10)
    except ValueError:
        raise UsageError(
            f"--block {shown!r}: use latest, safe, finalized, earliest or a block number"
        ) from None
    if number < 0:
        raise UsageError(f"--block {shown!r}: a block number cannot be negative")
    if number > MAX_BLOCK:
        raise UsageError(f"--block {shown!r}: beyond any chain's range (at most 2^64 - 1)")
    return number


def check_timeout(seconds: float, flag: str = "--timeout") -> float:
    """``seconds`` if it is a usable budget (finite, > 0, at most :data:`MAX_TIMEOUT`)."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise UsageError(
            f"{flag} {seconds:g}: give a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
        )
    return seconds


def checksum_address(text: str, what: str = "beacon address") -> str:
    """The EIP-55 checksummed form of ``text``; a malformed address is a :class:`UsageError`.

    All-lowercase and all-uppercase hex are accepted as is; mixed case must carry a valid
    checksum (a typo in a checksummed address is caught rather than silently read).
    """
    from noderr_deploy.keccak import keccak256

    value = text.strip()
    if not _ADDRESS.match(value):
        raise UsageError(
            f"malformed {what} {printable(text, 80)!r}: expected 0x followed by 40 hex digits"
        )
    digits = value[2:]
    lower = digits.lower()
    hashed = keccak256(lower.encode("ascii")).hex()
    checksummed = "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, hashed[:40], strict=True)
    )
    if digits not in (lower, digits.upper()) and value != checksummed:
        raise UsageError(
            f"malformed {what} {text!r}: bad EIP-55 checksum (did you mean {checksummed}?)"
        )
    return checksummed


@dataclass(frozen=True)
class Endpoint:
    """A parsed http(s) JSON-RPC URL: where to connect and what to send."""

    url: str
    https: bool
    host: str
    port: int
    target: str
    """Path and query, as sent in the request line."""
    authorization: str | None
    """A Basic ``Authorization`` header from the URL's user info."""

    @property
    def shown(self) -> str:
        return redact_endpoint(self.url)


_USERINFO_HINT = (
    " (if it carries user:password, percent-encode '/', '?', '#' and '@' in them);"
    " the URL is not shown, as it may hold a key"
)


def parse_endpoint(url: str) -> Endpoint:
    """``url`` as an :class:`Endpoint`, or a :class:`UsageError` that never quotes it.

    Whitespace or control characters anywhere (a trailing newline from ``$(cat key)``), a
    scheme other than http/https, a missing or malformed host or port, and an ``@`` after
    the host (user info holding ``/``, ``?`` or ``#``) are refused.
    """
    from urllib.parse import unquote, urlsplit

    if any(c.isspace() or not c.isprintable() for c in url):
        raise UsageError(
            "the RPC URL contains whitespace or a control character (a trailing newline?);"
            " the URL is not shown, as it may hold a key"
        )
    scheme = _SCHEME.match(url)
    if scheme is None or not url[scheme.end() :].startswith("//"):
        raise UsageError("the RPC URL does not start with http:// or https://")
    if scheme[1].lower() not in ("http", "https"):
        raise UsageError(
            f"the RPC URL's scheme {scheme[1].lower()!r} is not http or https"
            " (websocket and IPC endpoints are not supported)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UsageError(
            "the RPC URL's host or port does not parse (a port is a number in 1..65535)"
            + _USERINFO_HINT
        ) from None
    if redact_endpoint(url).startswith("<") or not parts.hostname:
        raise UsageError("the RPC URL has no valid host" + _USERINFO_HINT)
    if port == 0:
        raise UsageError("the RPC URL's port 0 is not a port")
    https = parts.scheme.lower() == "https"
    authorization = None
    if "@" in parts.netloc:
        import base64

        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        token = f"{unquote(user)}:{unquote(password)}".encode()
        authorization = "Basic " + base64.b64encode(token).decode("ascii")
    host = parts.hostname
    return Endpoint(
        url=url,
        https=https,
        host=host,
        port=port or (443 if https else 80),
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        authorization=authorization,
    )


# ---- the time budget ----


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


# ---- the transport ----


class _Failure(Exception):
    """One failed attempt; ``retry``: "never", "unsent" (the node cannot have acted on the
    request: safe for any method) or "idempotent" (safe for reads only)."""

    def __init__(self, reason: str, retry: str = "never", *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.timeout = timeout


class Transport(Protocol):
    """Sends one request body and returns the reply body (raising :class:`_Failure`)."""

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
        except _Failure:
            self.close()
            raise
        except TimeoutError:
            self.close()
            raise _Failure("no answer", timeout=True) from None
        except ConnectionRefusedError:
            self.close()
            raise _Failure("connection refused", "unsent") from None
        except socket.gaierror:
            self.close()
            raise _Failure("unknown host") from None
        except ssl.SSLError as exc:
            self.close()
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise _Failure(f"TLS failed ({printable(str(reason), 60)})") from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            # A kept-alive connection the node closed meanwhile never got the request.
            retry = "unsent" if reused and not sent else "idempotent"
            raise _Failure("connection closed by the server", retry) from None
        except http.client.HTTPException as exc:
            self.close()
            raise _Failure(f"malformed HTTP response ({type(exc).__name__})") from None
        except OSError as exc:
            self.close()
            raise _Failure(f"connection failed ({type(exc).__name__})", "idempotent") from None

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        status = response.status
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise _Failure(self._too_large())
        chunks = []
        size = 0
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise _Failure(self._too_large())
            chunks.append(chunk)
        if response.will_close:
            self.close()
        if status != 200:
            retry = "idempotent" if status in _RETRY_STATUS else "never"
            if status == 429:
                retry = "unsent"  # rate limited: not acted on
            raise _Failure(f"HTTP {status}", retry)
        return b"".join(chunks)

    def _too_large(self) -> str:
        mb, rest = divmod(self.max_bytes, 1024 * 1024)
        if rest:
            return f"a reply over {self.max_bytes} bytes"
        return f"a reply larger than {mb} MB"


# ---- the client ----


@dataclass(frozen=True)
class Reply:
    """One answered call of a batch: its ``result``, or the node's ``error`` message
    (scrubbed of the URL's secrets and made printable)."""

    result: Any = None
    error: str | None = None
    code: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Call = tuple[str, Sequence[Any]]
"""A JSON-RPC method and its params."""


class RpcClient:
    """JSON-RPC to one endpoint within one :class:`Deadline`.

    ``RpcClient(url, deadline=Deadline(10))``; ``transport`` defaults to
    :class:`HttpTransport` (tests may pass another); ``sleep`` waits between attempts.
    """

    def __init__(
        self,
        url: str,
        *,
        deadline: Deadline,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.endpoint = parse_endpoint(url)
        self.deadline = deadline
        self.transport: Transport = transport or HttpTransport(self.endpoint)
        self.sleep = sleep
        self.requests_sent = 0
        """HTTP requests made so far (a batch is one)."""
        self._next_id = 1

    @property
    def redacted_url(self) -> str:
        """``scheme://host[:port]``, plus ``/***`` when the URL held more."""
        return self.endpoint.shown

    @property
    def timeout(self) -> float:
        return self.deadline.seconds

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def text_from_node(self, text: object, limit: int = 200) -> str:
        """Text the node sent, fit for a message: no secret of the URL, printable."""
        return printable(scrub(str(text), self.url), limit)

    def batch(self, calls: Sequence[Call], what: str) -> list[Reply]:
        """Send ``calls`` in one HTTP POST; one :class:`Reply` per call, in the calls' order.

        The reply must hold exactly one well-formed entry per id sent; anything else (ids
        missing, repeated, foreign or extra, entries that are not objects or hold neither
        or both of ``result`` and ``error``) is a :class:`ChainError` naming the endpoint.
        ``what`` names the calls in messages.
        """
        ids = list(range(self._next_id, self._next_id + len(calls)))
        self._next_id += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": list(params)}
            for i, (method, params) in zip(ids, calls, strict=True)
        ]
        body = json.dumps(payload, separators=(",", ":")).encode()
        safe = not any(method in _STATE_CHANGING for method, _ in calls)
        reply = self._decode(self._post(body, what, safe=safe), what)
        if isinstance(reply, dict) and "error" in reply:
            # A server that answers a batch with one error object (e.g. batches disabled).
            raise ChainError(
                f"RPC {self.redacted_url} rejected the request for {what}:"
                f" {self._error_text(reply['error'], what)}"
            )
        if not isinstance(reply, list):
            raise self.malformed(what, "something that is not a JSON-RPC batch reply")
        by_id: dict[int, Reply] = {}
        wanted = set(ids)
        for entry in reply:
            if not isinstance(entry, dict):
                raise self.malformed(what, "a batch entry that is not an object")
            key = entry.get("id")
            if type(key) is not int or key not in wanted or key in by_id:
                raise ChainError(
                    f"RPC {self.redacted_url} answered a batch with ids that do not match the"
                    f" request (reading {what})"
                )
            by_id[key] = self._entry(entry, what)
        if len(by_id) != len(ids):
            raise ChainError(
                f"RPC {self.redacted_url} answered a batch with ids that do not match the"
                f" request (reading {what})"
            )
        return [by_id[i] for i in ids]

    def request(self, method: str, params: Sequence[Any], what: str) -> Any:
        """One call (a batch of one); its ``result``, or a :class:`ChainError` naming ``what``."""
        (reply,) = self.batch([(method, params)], what)
        if not reply.ok:
            raise ChainError(f"{what} failed on {self.redacted_url}: {reply.error}")
        return reply.result

    def call(self, to: str, data: bytes, *, block: BlockRef, what: str) -> bytes:
        """``eth_call`` of ``data`` on ``to`` at ``block``; the returned bytes."""
        tag = hex(block) if isinstance(block, int) else block
        result = self.request("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag], what)
        return self.data(result, what)

    def data(self, value: Any, what: str) -> bytes:
        """A ``0x`` hex data string from the node as bytes (else a :class:`ChainError`)."""
        if not isinstance(value, str) or not _DATA.match(value):
            raise self.malformed(what, "a result that is not 0x-prefixed hex data")
        return bytes.fromhex(value[2:])

    def quantity(self, value: Any, what: str) -> int:
        """A ``0x`` hex quantity from the node as an int (else a :class:`ChainError`)."""
        if not isinstance(value, str) or not _QUANTITY.match(value):
            raise self.malformed(what, "a value that is not a hex quantity")
        return int(value, 16)

    def malformed(self, what: str, detail: str) -> ChainError:
        """The error for a reply about ``what`` that is not what JSON-RPC promises."""
        return ChainError(
            f"RPC {self.redacted_url} answered {what} with {detail}"
            " (is this an Ethereum JSON-RPC endpoint?)"
        )

    def _error_text(self, error: Any, what: str) -> str:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise self.malformed(what, "an error that has no message")
        return self.text_from_node(error["message"])

    def _entry(self, entry: dict[str, Any], what: str) -> Reply:
        has_result, has_error = "result" in entry, "error" in entry
        if has_result == has_error:
            raise self.malformed(what, "a batch entry with neither or both result and error")
        if has_result:
            return Reply(result=entry["result"])
        error = entry["error"]
        message = self._error_text(error, what)
        code = error.get("code")
        return Reply(error=message, code=code if type(code) is int else None)

    def _decode(self, body: bytes, what: str) -> Any:
        def refuse(name: str) -> Any:
            raise ValueError(name)

        if _too_deep(body):
            # The C decoder recurses per level: deep enough, it overflows the C stack and
            # kills the process (a RecursionError is not guaranteed).
            raise self.malformed(what, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return json.loads(body, parse_constant=refuse)
        except (ValueError, RecursionError):
            raise self.malformed(what, "something that is not JSON") from None

    def _post(self, body: bytes, what: str, *, safe: bool) -> bytes:
        attempts = 0
        last = "time budget used up"
        while attempts < MAX_ATTEMPTS:
            if self.deadline.remaining() <= 0:
                if attempts == 0:
                    raise self._no_answer(what)
                break
            attempts += 1
            self.requests_sent += 1
            try:
                return self.transport(body, self.deadline)
            except _Failure as failure:
                if failure.timeout:
                    raise self._no_answer(what) from None
                last = failure.reason
                allowed = failure.retry == "unsent" or (safe and failure.retry == "idempotent")
                if not allowed:
                    message = (
                        f"RPC {self.redacted_url} answered {failure.reason} (reading {what})"
                        if failure.reason.startswith(("HTTP", "malformed", "a reply"))
                        else f"RPC {self.redacted_url}: {failure.reason} (reading {what})"
                    )
                    raise ChainError(message) from None
            if attempts < MAX_ATTEMPTS:
                self.sleep(min(0.2 * 2 ** (attempts - 1), max(0.0, self.deadline.remaining())))
        raise ChainError(
            f"RPC {self.redacted_url} unreachable (reading {what}): {last}"
            f" after {attempts} attempt(s)"
        )

    def _no_answer(self, what: str) -> ChainError:
        return ChainError(
            f"RPC {self.redacted_url}: no answer within {self.deadline.seconds:g} s"
            f" (reading {what}; raise --timeout or NODERR_RPC_TIMEOUT)"
        )


MAX_JSON_DEPTH = 64
"""A JSON-RPC reply of the reads nests 4 levels; anything past this is hostile."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_NESTING = re.compile(rb"[\[\]{}]")


def _too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` opens more than ``limit`` arrays/objects inside each other (brackets
    within strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_NESTING.finditer(_JSON_STRING.sub(b"", body)):
        if match[0] in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def check_rpc_url(url: str) -> None:
    """A :class:`UsageError` unless ``url`` is an http(s) URL with a valid host and port."""
    parse_endpoint(url)


def connect(
    settings: ChainSettings, *, deadline: Deadline | None = None, transport: Transport | None = None
) -> RpcClient:
    """A client for ``settings.rpc_url``; its deadline starts now unless one is given."""
    return RpcClient(
        settings.rpc_url,
        deadline=deadline or Deadline(check_timeout(settings.timeout)),
        transport=transport,
    )


# ---- the block every read is pinned to ----


@dataclass(frozen=True)
class BlockInfo:
    """The block every value of one command was read at."""

    number: int
    time: datetime
    """The block's timestamp: "now" on chain."""


def timestamp(seconds: int, what: str) -> datetime:
    """Unix ``seconds`` as aware UTC, or a :class:`ChainError` when it is past year 9999."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ChainError(
            f"{what} is {seconds} s after 1970, beyond the year 9999: it cannot be shown"
        ) from None


def resolve_block(
    client: RpcClient, block: BlockRef, chain_id: int | None
) -> tuple[int, BlockInfo]:
    """The chain id (checked when one is expected) and ``block`` resolved to a number and time.

    Both in one HTTP request.
    """
    tag = hex(block) if isinstance(block, int) else block
    chain_reply, block_reply = client.batch(
        [("eth_chainId", []), ("eth_getBlockByNumber", [tag, False])],
        "the chain id and block",
    )
    if not chain_reply.ok:
        raise ChainError(f"eth_chainId failed on {client.redacted_url}: {chain_reply.error}")
    actual = client.quantity(chain_reply.result, "the chain id")
    if chain_id is not None and actual != chain_id:
        raise ChainError(
            f"RPC {client.redacted_url} serves chain {actual}, not the expected chain {chain_id}"
            " (--chain-id / NODERR_CHAIN_ID / beacon.chain_id)"
        )
    if not block_reply.ok:
        raise ChainError(
            f"eth_getBlockByNumber({tag}) failed on {client.redacted_url}: {block_reply.error}"
        )
    header = block_reply.result
    if header is None:
        if isinstance(block, int):
            raise UsageError(f"--block {block}: no such block on chain {actual} yet")
        raise ChainError(f"chain {actual} has no {block!r} block yet")
    if not isinstance(header, dict):
        raise client.malformed("the block", "a block that is not an object")
    number = client.quantity(header.get("number"), "the block's number")
    if isinstance(block, int) and number != block:
        raise ChainError(
            f"RPC {client.redacted_url} answered block {number} when asked for block {block}"
        )
    seconds = client.quantity(header.get("timestamp"), "the block's timestamp")
    return actual, BlockInfo(number=number, time=timestamp(seconds, f"block {number}'s time"))
