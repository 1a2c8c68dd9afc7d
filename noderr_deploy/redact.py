"""Keep secrets out of messages: RPC and registry URLs often carry credentials or API keys."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "***"

# A path segment that looks like a key: long, and mixing letters and digits
# (Alchemy /v2/<key>, Infura /v3/<key>, QuickNode /<token>/).
_KEY_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")
_SECRET_PARAMS = re.compile(r"key|token|secret|password|auth|sig", re.IGNORECASE)
# What a host may be spelled with: a DNS name, an IPv4 address or a bracketed IPv6 one.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")
UNPARSABLE_ENDPOINT = "<an RPC URL that does not parse; not shown>"


def redact_url(url: str) -> str:
    """Return ``url`` with user info, key-like path segments and secret query values masked.

    >>> redact_url("https://user:pw@eth.example/v2/abcDEF1234567890xyz?apikey=s3cr3t&x=1")
    'https://***@eth.example/v2/***?apikey=***&x=1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.netloc:
        return mask_credentials(url)  # u:pw@ghcr.io/x: user info without a scheme
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    path = "/".join(
        REDACTED if _KEY_SEGMENT.match(segment) else segment for segment in parts.path.split("/")
    )
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, path, query, ""))


# User info with a password before an '@' (at the start, or after a '/', a blank or a
# '='), and the value
# of a password=... pair: how credentials stand in text that is not a URL.
_USER_INFO = re.compile(r"(^|[\s/=])[^\s/@:]*:[^\s/@]*@")
_PASSWORD_PAIR = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_credentials(text: str) -> str:
    """``text`` (a name that may be a mistyped URL or DSN) with user info and password
    values masked: ``postgresql:/u:pw@host/db`` shows ``postgresql:/***@host/db``.

    >>> mask_credentials("u:pw@ghcr.io/x password=s3 port=1")
    '***@ghcr.io/x password=*** port=1'
    """
    text = _USER_INFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _PASSWORD_PAIR.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_endpoint(url: str) -> str:
    """An RPC endpoint as ``scheme://host[:port]``, plus ``/***`` when anything else was there.

    Nothing but the scheme, host and port ever shows: user info, path, query and fragment
    are where providers put keys (``/v2/<key>``, ``?apikey=``, JWTs, base64 tokens), and no
    pattern can tell every key from a harmless path. A URL whose host or port does not
    parse is not shown at all (:data:`UNPARSABLE_ENDPOINT`): its user info may hold ``/``,
    ``?`` or ``#``, which moves the secret into what would look like the host.

    >>> redact_endpoint("https://user:pw@eth.example:8545/v2/abcDEF1234567890xyz?apikey=s")
    'https://eth.example:8545/***'
    >>> redact_endpoint("http://127.0.0.1:8545")
    'http://127.0.0.1:8545'
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return UNPARSABLE_ENDPOINT
    host = parts.netloc.rsplit("@", 1)[-1]
    if port is not None:
        host = host.rsplit(":", 1)[0]
    scheme = parts.scheme.lower()
    if (
        scheme not in ("http", "https")
        or not _HOST.match(host)
        or "@" in f"{parts.path}{parts.query}{parts.fragment}"
    ):
        return UNPARSABLE_ENDPOINT
    shown = f"{scheme}://{host.lower()}" + (f":{port}" if port is not None else "")
    hidden = "@" in parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment
    return shown + ("/" + REDACTED if hidden or url.endswith(("?", "#")) else "")


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that may be secret (user info, path, query, fragment and their
    pieces), longest first: what :func:`scrub` removes from text that came back from
    the endpoint."""
    pieces = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        pieces.update((userinfo, *userinfo.split(":")))
        # The forms a server may echo it in: percent-decoded, and as the Basic
        # Authorization header carries it (base64 of the decoded user:password).
        decoded = unquote(userinfo)
        pieces.update((decoded, *decoded.split(":")))
        basic = base64.b64encode(decoded.encode("utf-8", "surrogateescape")).decode("ascii")
        pieces.update((basic, basic.rstrip("=")))
    for part in (parts.path, parts.query, parts.fragment):
        pieces.add(part)
        pieces.update(re.split(r"[/?#&=;,]", part))
    # Short pieces ("v2", "1") are not secrets and would garble the text if replaced.
    return sorted((p for p in pieces if len(p) >= 6), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` (e.g. a server's error message) with ``url`` and its secret parts masked."""
    for secret in url_secrets(url):
        text = text.replace(secret, REDACTED)
    return text


def redact_text(text: str, *urls: str | None) -> str:
    """Replace every occurrence of each given URL in ``text`` by its redacted form."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
    return text
