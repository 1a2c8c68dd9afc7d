"""JSON-RPC access to the chain: settings, one bounded connection, batched requests.

Every read of a command goes through one :class:`RpcClient`, whose ``--timeout`` is a
budget for the whole command (each HTTP request gets what is left of it), with at most
three attempts per request and only for errors that a retry can fix (connection refused or
reset, HTTP 429/5xx). A node that accepts the connection and never answers therefore fails
within the budget, never after web3's default of 5 attempts x 30 s.

web3 costs ~0.8 s to import: it is imported only when a client is created.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.redact import redact_text, redact_url

DEFAULT_TIMEOUT = 10.0
MAX_ATTEMPTS = 3
BLOCK_TAGS = ("latest", "safe", "finalized", "earliest")
_RETRY_STATUS = {429, 500, 502, 503, 504}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

BlockRef = int | str
"""A block number, or one of :data:`BLOCK_TAGS`."""


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
        return redact_url(self.rpc_url)


def parse_block(text: str) -> BlockRef:
    """``latest``/``safe``/``finalized``/``earliest``, a decimal number or a 0x hex number."""
    value = text.strip().lower()
    if value in BLOCK_TAGS:
        return value
    try:
        number = int(value, 16) if value.startswith("0x") else int(value, 10)
    except ValueError:
        raise UsageError(
            f"--block {text!r}: use latest, safe, finalized, earliest or a block number"
        ) from None
    if number < 0:
        raise UsageError(f"--block {text!r}: a block number cannot be negative")
    return number


def checksum_address(text: str, what: str = "beacon address") -> str:
    """The EIP-55 checksummed form of ``text``; a malformed address is a :class:`UsageError`.

    All-lowercase and all-uppercase hex are accepted as is; mixed case must carry a valid
    checksum (a typo in a checksummed address is caught rather than silently read).
    """
    from noderr_deploy.keccak import keccak256

    value = text.strip()
    if not _ADDRESS.match(value):
        raise UsageError(f"malformed {what} {text!r}: expected 0x followed by 40 hex digits")
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
class BlockInfo:
    """The block every value of one command was read at."""

    number: int
    time: datetime
    """The block's timestamp: "now" on chain."""


@dataclass
class RpcClient:
    """Sends JSON-RPC batches to one endpoint within one time budget.

    ``send`` is the transport: it takes a list of ``(method, params)`` and a timeout and
    returns the decoded JSON reply. :func:`connect` wires web3's ``HTTPProvider``.
    """

    url: str
    timeout: float
    send: Callable[[list[tuple[str, list[Any]]], float], Any]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    requests_sent: int = 0
    """HTTP requests made so far (a batch is one)."""
    _deadline: float | None = field(default=None, repr=False)

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    def _remaining(self) -> float:
        if self._deadline is None:
            self._deadline = self.clock() + self.timeout
        return self._deadline - self.clock()

    def batch(self, calls: Sequence[tuple[str, list[Any]]], what: str) -> list[dict[str, Any]]:
        """Send ``calls`` in one HTTP request; return one raw JSON-RPC response per call.

        Entries may carry an ``error``: the caller maps each to a message. ``what`` names the
        calls for messages about the request as a whole.
        """
        payload = list(calls)
        reply = self._post(payload, what)
        if isinstance(reply, dict) and "error" in reply:
            # A server that answers a batch with one error object (e.g. batches disabled).
            raise ChainError(
                f"RPC {self.redacted_url} rejected the request for {what}:"
                f" {self.message_of(reply['error'])}"
            )
        if not isinstance(reply, list) or len(reply) != len(payload):
            raise ChainError(
                f"RPC {self.redacted_url} answered the request for {what} with something that"
                " is not a JSON-RPC batch reply (is this an Ethereum JSON-RPC endpoint?)"
            )
        return [entry if isinstance(entry, dict) else {"error": entry} for entry in reply]

    def call(self, method: str, params: list[Any], what: str) -> Any:
        """One call in a batch of one; its ``result``, or a :class:`ChainError` naming ``what``."""
        (entry,) = self.batch([(method, params)], what)
        if "error" in entry:
            raise ChainError(f"{what} failed on {self.redacted_url}: {self.message_of(entry)}")
        return entry.get("result")

    def message_of(self, entry: Any) -> str:
        """The redacted error message of a failed batch entry (or of a bare error object)."""
        error = entry.get("error", entry) if isinstance(entry, dict) else entry
        text = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        return redact_text(text, self.url)

    def _post(self, payload: list[tuple[str, list[Any]]], what: str) -> Any:
        import requests

        last: Exception | None = None
        attempts = 0
        for attempt in range(MAX_ATTEMPTS):
            remaining = self._remaining()
            if remaining <= 0:
                break
            attempts += 1
            self.requests_sent += 1
            try:
                return self.send(payload, remaining)
            except requests.Timeout:
                # The request was given the whole remaining budget: nothing is left to retry.
                raise ChainError(
                    f"RPC {self.redacted_url} did not answer within {self.timeout:g} s"
                    f" (reading {what}; raise --timeout or NODERR_RPC_TIMEOUT)"
                ) from None
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status not in _RETRY_STATUS:
                    raise ChainError(
                        f"RPC {self.redacted_url} answered HTTP {status} (reading {what})"
                    ) from None
                last = exc
            except requests.ConnectionError as exc:
                last = exc
            except requests.RequestException as exc:
                raise ChainError(
                    f"RPC {self.redacted_url}: request failed"
                    f" ({type(exc).__name__}, reading {what})"
                ) from None
            except ValueError:
                raise ChainError(
                    f"RPC {self.redacted_url} answered with something that is not JSON"
                    f" (reading {what}; is this an Ethereum JSON-RPC endpoint?)"
                ) from None
            if attempt < MAX_ATTEMPTS - 1:
                self.sleep(min(0.2 * 2**attempt, max(0.0, self._remaining())))
        raise ChainError(
            f"RPC {self.redacted_url} unreachable (reading {what}):"
            f" {_reason(last)} after {attempts} attempt(s)"
        )


def _reason(exc: Exception | None) -> str:
    import requests

    if exc is None:
        return "time budget used up"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection reset" in text or "Connection aborted" in text:
        return "connection closed by the server"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return "connection failed"


def check_rpc_url(url: str) -> None:
    """A :class:`UsageError` unless ``url`` is an http(s) URL with a host (and a valid port)."""
    from urllib.parse import urlsplit

    shown = redact_url(url)
    if not url.startswith(("http://", "https://")):
        raise UsageError(
            f"RPC URL {shown!r} is not an http:// or https:// URL"
            " (websocket and IPC endpoints are not supported)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"RPC URL {shown!r} is malformed: {exc}") from None
    if not parts.hostname or " " in parts.netloc:
        raise UsageError(f"RPC URL {shown!r} has no valid host")
    if port == 0:
        raise UsageError(f"RPC URL {shown!r}: port 0 is not a port")


def connect(settings: ChainSettings, *, clock: Callable[[], float] = time.monotonic) -> RpcClient:
    """A client for ``settings.rpc_url`` over web3's ``HTTPProvider``.

    web3's own retries are off (they do not cover batches, and their defaults can hang for
    minutes); :class:`RpcClient` retries within the ``--timeout`` budget instead.
    """
    url = settings.rpc_url
    check_rpc_url(url)
    from web3 import HTTPProvider
    from web3.types import RPCEndpoint

    class BudgetedHTTPProvider(HTTPProvider):
        """Gives each request what is left of the command's budget as its socket timeout."""

        budget = settings.timeout

        def get_request_kwargs(self) -> dict[str, Any]:
            kwargs = dict(super().get_request_kwargs())
            kwargs["timeout"] = max(self.budget, 0.001)
            return kwargs

    provider = BudgetedHTTPProvider(
        url,
        request_kwargs={"timeout": settings.timeout},
        exception_retry_configuration=None,
    )

    def send(payload: list[tuple[str, list[Any]]], timeout: float) -> Any:
        provider.budget = timeout
        # web3 sorts the answers by request id, i.e. back into the order of the calls. A
        # reply without ids makes it warn on stderr; the length check in batch() covers that.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return provider.make_batch_request([(RPCEndpoint(m), p) for m, p in payload])

    return RpcClient(url=url, timeout=settings.timeout, send=send, clock=clock)


def resolve_block(
    client: RpcClient, block: BlockRef, chain_id: int | None
) -> tuple[int, BlockInfo]:
    """The chain id (checked when one is expected) and ``block`` resolved to a number and time.

    Both in one HTTP request.
    """
    tag = hex(block) if isinstance(block, int) else block
    chain_entry, block_entry = client.batch(
        [("eth_chainId", []), ("eth_getBlockByNumber", [tag, False])],
        "the chain id and block",
    )
    if "error" in chain_entry:
        raise ChainError(
            f"eth_chainId failed on {client.redacted_url}: {client.message_of(chain_entry)}"
        )
    actual = int(chain_entry["result"], 16)
    if chain_id is not None and actual != chain_id:
        raise ChainError(
            f"RPC {client.redacted_url} serves chain {actual}, not the expected chain {chain_id}"
            " (--chain-id / NODERR_CHAIN_ID / beacon.chain_id)"
        )
    if "error" in block_entry:
        raise ChainError(
            f"eth_getBlockByNumber({tag}) failed on {client.redacted_url}:"
            f" {client.message_of(block_entry)}"
        )
    header = block_entry.get("result")
    if header is None:
        if isinstance(block, int):
            raise UsageError(f"--block {block}: no such block on chain {actual} yet")
        raise ChainError(f"chain {actual} has no {block!r} block yet")
    return actual, BlockInfo(
        number=int(header["number"], 16),
        time=datetime.fromtimestamp(int(header["timestamp"], 16), tz=UTC),
    )
