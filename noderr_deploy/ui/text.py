"""Text from outside, made safe to show a person.

Node ids, file names, version strings, image tags and server messages are data: on a
terminal they must not move the cursor, recolour the screen, reorder the line (bidi
controls) or forge a table row (newlines). :func:`printable` escapes every such
character the way Python's ``repr`` would (``\\n``, ``\\x1b``, ``\\u202e``), and every
character the output's encoding cannot hold, so that writing never fails either.
A lone surrogate (a byte the locale could not decode, kept by ``surrogateescape``) is
shown as the byte it stands for (``\\xff``). JSON output keeps the exact strings.
"""

from __future__ import annotations

import re

# Characters that change how a terminal draws what follows, beyond the C0/C1 controls:
# bidi embeddings, overrides and isolates, zero-width marks, the BOM, line and paragraph
# separators.
_FORMAT = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_FORMAT}\\ud800-\\udfff]")

TRUNCATE_AT = 500
"""Characters of foreign text kept in a one-line message; the rest is counted."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    return repr(char)[1:-1] if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, encoding: str | None = None) -> str:
    """``text`` with every control, format and undecodable character escaped, and every
    character ``encoding`` cannot encode shown as ``\\uXXXX`` (or ``\\U...``)."""
    safe = _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text
    if encoding is None or safe.isascii():
        return safe
    try:
        safe.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "".join(_encodable(char, encoding) for char in safe)
    return safe


def _encodable(char: str, encoding: str) -> str:
    try:
        char.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        code = ord(char)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


def one_line(text: str, limit: int = TRUNCATE_AT) -> str:
    """Foreign text for a one-line message: escaped, and cut after ``limit`` characters
    with a note of how much was left out."""
    safe = printable(text)
    if len(safe) <= limit:
        return safe
    return f"{safe[:limit]}... ({len(safe) - limit} more characters)"
