"""Keep secrets out of messages: RPC and registry URLs often carry credentials or API keys."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

# A path segment that looks like a key: long, and mixing letters and digits
# (Alchemy /v2/<key>, Infura /v3/<key>, QuickNode /<token>/).
_KEY_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")
_SECRET_PARAMS = re.compile(r"key|token|secret|password|auth|sig", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Return ``url`` with user info, key-like path segments and secret query values masked.

    >>> redact_url("https://user:pw@eth.example/v2/abcDEF1234567890xyz?apikey=s3cr3t&x=1")
    'https://***@eth.example/v2/***?apikey=***&x=1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.scheme and not parts.netloc:
        return url
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


def redact_text(text: str, *urls: str | None) -> str:
    """Replace every occurrence of each given URL in ``text`` by its redacted form."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
    return text
