"""What a failed read loses: why it stopped (a cut-off or corrupt gzip stream, an I/O
error), and how much of the file is left unread after that point, for every reader of
health files (JSON Lines, JSON arrays, CSV)."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import IO

from noderr_deploy.health.problems import Problems


def gzip_reason(exc: BaseException) -> str:
    """Why reading stopped: a cut-off or corrupt gzip stream, or an I/O error."""
    if isinstance(exc, EOFError):
        return "truncated gzip data: the compressed file ended early"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip data: {exc}"
    return f"read error: {exc}"


def _checksum_failed(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "crc" in text or "length" in text


def lose_rest(
    problems: Problems,
    name: str,
    line: int,
    exc: BaseException,
    stream: IO[bytes],
    *,
    read: int = 0,
) -> None:
    """Count what a failed read loses from ``line`` on: ``read`` bytes of a cut-off record
    already in hand, and what is left of the file after the point of failure (compressed
    bytes, for a gzip stream)."""
    if isinstance(exc, zlib.error) or (isinstance(exc, gzip.BadGzipFile) and _checksum_failed(exc)):
        # Corrupt compressed data (unlike a cut-off file) may have decoded into records
        # that look valid and are wrong before the damage was noticed.
        problems.damaged += 1
    problems.lose(
        name, line, gzip_reason(exc), size=read + unread_bytes(stream), records=1 if read else 0
    )


def unread_bytes(stream: IO[bytes]) -> int:
    """Bytes of the file under ``stream`` (the compressed file, for a gzip stream) after its
    current position; 0 when that cannot be known (a pipe)."""
    raw = getattr(stream, "fileobj", None) or stream
    try:
        left = os.fstat(raw.fileno()).st_size - raw.tell()
    except (OSError, ValueError, AttributeError):
        return 0
    # The gzip reader holds compressed bytes it has read but not yet used: they are lost
    # too. (CPython's GzipFile keeps them in a padded buffer; without one, this is 0.)
    padded = getattr(getattr(getattr(stream, "_buffer", None), "raw", None), "_fp", None)
    length, used = getattr(padded, "_length", None), getattr(padded, "_read", None)
    held = length - used if isinstance(length, int) and isinstance(used, int) else 0
    return max(0, left + held)
