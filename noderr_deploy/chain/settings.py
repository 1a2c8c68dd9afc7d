"""What a command knows about the chain before it sends anything: the settings from flags,
environment and tiers.yaml, and the values given there (a block, a timeout, an address, the
RPC URL), each checked into one :class:`~noderr_deploy.errors.UsageError` when it is wrong.

Nothing here touches the network (:mod:`noderr_deploy.chain.rpc` does).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from noderr_deploy.errors import UsageError
from noderr_deploy.redact import redact_endpoint
from noderr_deploy.text import clipped
from noderr_deploy.units import check_ascii_number

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
"""``--timeout`` above this is refused: a budget nobody means is a typo (``1e308``)."""
MAX_BLOCK = 2**64 - 1
"""Block numbers are 64-bit quantities on every Ethereum client."""
BLOCK_TAGS = ("latest", "safe", "finalized", "earliest")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{0,15}):")

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
        return redact_endpoint(self.rpc_url)


def parse_block(text: str) -> BlockRef:
    """``latest``/``safe``/``finalized``/``earliest``, a decimal number or a 0x hex number."""
    value = text.strip().lower()
    if value in BLOCK_TAGS:
        return value
    shown = clipped(text, 40)
    try:
        check_ascii_number(value)  # int() would read a full-width 5 (U+FF15) as 5
        number = int(value, 16) if value.startswith("0x") else int(value, 10)
    except ValueError:
        raise UsageError(
            f"--block '{shown}': use latest, safe, finalized, earliest or a block number"
        ) from None
    if number < 0:
        raise UsageError(f"--block '{shown}': a block number cannot be negative")
    if number > MAX_BLOCK:
        raise UsageError(f"--block '{shown}': beyond any chain's range (at most 2^64 - 1)")
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
            f"malformed {what} '{clipped(text, 80)}': expected 0x followed by 40 hex digits"
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


def check_rpc_url(url: str) -> None:
    """A :class:`UsageError` unless ``url`` is an http(s) URL with a valid host and port."""
    parse_endpoint(url)
