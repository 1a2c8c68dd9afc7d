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
:func:`resolve_block` for the chain id and the block every read is pinned to. The settings
and values a command checks before it connects are in :mod:`noderr_deploy.chain.settings`;
the deadline and the HTTP transport in :mod:`noderr_deploy.chain.transport`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from noderr_deploy.chain.settings import (
    BlockRef,
    ChainSettings,
    check_timeout,
    parse_endpoint,
)
from noderr_deploy.chain.transport import (
    Deadline,
    HttpTransport,
    Transport,
    TransportFailure,
)
from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.redact import scrub
from noderr_deploy.text import clipped

MAX_ATTEMPTS = 3
_STATE_CHANGING = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})
"""Never sent twice unless the first attempt cannot have reached the node."""
_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{1,64}$")
_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


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
        return clipped(scrub(str(text), self.url), limit)

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
            except TransportFailure as failure:
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
