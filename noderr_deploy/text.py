"""Text from outside, made safe to show a person: the one escaper of the package.

Node ids, file names, version strings, image tags and server messages are data: on a
terminal they must not move the cursor, recolour the screen, reorder the line (bidi
controls) or forge a table row (newlines). :func:`printable` escapes every character
Python does not call printable (``str.isprintable``: the C0 and C1 controls, DEL, format
characters such as the bidi overrides and zero-width marks, line and paragraph
separators, spaces other than U+0020, private-use and unassigned code points) the way
``repr`` would (``\\n``, ``\\x1b``, ``\\u202e``), and every character the output's
encoding cannot hold, so that writing never fails either. A lone surrogate (a byte the
locale could not decode, kept by ``surrogateescape``) is shown as the byte it stands for
(``\\xff``). A backslash is doubled, as ``repr`` does, so that an escape shown always
stands for the character it names: the id typed as ``a\\x1b`` is shown ``a\\\\x1b``, the id
ESC ``a`` is shown ``\\x1ba``. JSON output keeps the exact strings.

Two depths, one rule each. :func:`printable` is for one value from outside. A line we
compose (a message, a summary) holds values already escaped that way, or quoted with
``repr`` (which doubles backslashes too), so :func:`sanitized` escapes only what is still
unprintable in it, as a safety net, and leaves its backslashes alone: escaping them again
would double every escape the values carry. :func:`one_line` is :func:`sanitized` for a
one-line message, cut with a note of how much was left out; :func:`clipped` is
:func:`printable` cut short with ``...`` (a value quoted inside a message).
"""

from __future__ import annotations

from collections.abc import Callable

TRUNCATE_AT = 500
"""Characters of foreign text kept in a one-line message; the rest is counted."""


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return repr(char)[1:-1]  # \n, \t, \x1b, \x9b
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str, encoding: str | None = None) -> str:
    """One value from outside, for a person: every unprintable character escaped, every
    backslash doubled, and every character ``encoding`` cannot encode shown as
    ``\\uXXXX`` (or ``\\U...``).

    Printable text without a backslash is unchanged (encodable, or ASCII).
    """
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return sanitized(text, encoding)


def sanitized(text: str, encoding: str | None = None) -> str:
    """A line we composed, for a person: what is still unprintable in it escaped, and what
    ``encoding`` cannot hold; its backslashes are left alone (see the module's text)."""
    safe = (
        text if text.isprintable() else "".join(c if c.isprintable() else _escape(c) for c in text)
    )
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


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: not when it holds a lone surrogate, which is how
    argument bytes the locale could not decode arrive (``surrogateescape``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def one_line(text: str, limit: int = TRUNCATE_AT) -> str:
    """A message for one line: :func:`sanitized`, and cut after ``limit`` characters with
    a note of how much was left out."""
    safe = sanitized(text)
    if len(safe) <= limit:
        return safe
    return _cut(text, limit, sanitized)


def _more(n: int) -> str:
    return f"{n} more character" + ("" if n == 1 else "s")


def clipped(text: str, limit: int = 200) -> str:
    """Foreign text quoted inside a message: escaped, cut to about ``limit`` characters
    with a note of how many characters of the text were left out. Only the start of
    ``text`` is escaped, so a 200 kB reply costs nothing."""
    safe = printable(text[: limit + 1])
    if len(safe) <= limit and len(text) <= limit:
        return safe
    return _cut(text, limit, printable)


def _cut(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """The first characters of ``text`` whose escapes fit in ``limit``, then a note of how
    many characters of ``text`` were left out: never half an escape."""
    pieces, length = [], 0
    for char in text[:limit]:  # escaping may lengthen a character: count what fits
        piece = escape(char)
        if length + len(piece) > limit:
            break
        pieces.append(piece)
        length += len(piece)
    return f"{''.join(pieces)}... ({_more(len(text) - len(pieces))})"
