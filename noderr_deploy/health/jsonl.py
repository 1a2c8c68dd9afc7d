"""The JSON Lines reader: chunks of whole lines, decoded in bulk where that is provably
exact (:func:`noderr_deploy.health.decode.decode_chunk`)."""

from __future__ import annotations

import zlib
from typing import IO, Any

from noderr_deploy.health.decode import decode_chunk, name_future
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.losses import lose_rest
from noderr_deploy.health.problems import Problems


def read_lines(
    stream: IO[bytes],
    name: str,
    latest: Latest,
    problems: Problems,
    *,
    chunk_size: int,
    end: int | None = None,
    cr_lines: bool = False,
) -> int:
    """Read JSON Lines from ``stream`` in chunks of about ``chunk_size`` bytes (up to byte
    ``end`` if given); return the lines read. A read that fails (a cut-off or corrupt gzip
    stream, an I/O error) loses the rest: that is counted as lost, not as a record.

    Chunks are cut after their last newline and the rest of the line is carried over to
    the next chunk (a huge line is gathered whole). ``readline()`` would do the same, but
    it refills the stream's small buffer, after which ``read1()`` returns only what that
    buffer holds: chunks of 8 KB instead of ``chunk_size``.

    ``cr_lines``: the lines end with CR alone (old Mac line endings); they are read as
    lines all the same (a CR inside a JSON record can only be a space between tokens).
    """
    line_no = 1
    remaining = end
    carried: list[bytes] = []  # the start of a line whose end is still to be read
    while True:
        piece = b""
        failure: BaseException | None = None
        try:
            size = chunk_size if remaining is None else min(chunk_size, remaining)
            piece = read1(stream, size) if size else b""
            if cr_lines:
                piece = piece.replace(b"\r", b"\n")
        except (EOFError, OSError, zlib.error) as exc:
            failure = exc
        if remaining is not None:
            remaining -= len(piece)
        if failure is not None:
            # What was carried is a cut-off last line, not a record.
            lose_rest(problems, name, line_no, failure, stream, read=sum(map(len, carried)))
            return line_no - 1
        if not piece:  # the end: a last line without a newline is still a record
            if carried:
                line_no += decode_lines(b"".join(carried), name, line_no, latest, problems)
            return line_no - 1
        cut = piece.rfind(b"\n") + 1
        if not cut:
            carried.append(piece)
            continue
        chunk = piece[:cut] if cut < len(piece) else piece
        if carried:
            chunk = b"".join([*carried, chunk])
            carried.clear()
        if cut < len(piece):
            carried.append(piece[cut:])
        line_no += decode_lines(chunk, name, line_no, latest, problems)


def read1(stream: Any, size: int) -> bytes:
    reader = getattr(stream, "read1", None)
    data: bytes = reader(size) if reader is not None else stream.read(size)
    return data


def decode_lines(
    chunk: bytes, name: str, first_line: int, latest: Latest, problems: Problems
) -> int:
    """Decode whole lines into ``latest``; malformed ones go to ``problems`` with their line.
    Return the number of newlines in ``chunk``."""
    reports, newlines = decode_chunk(chunk, name, first_line, problems, latest.rules.unit)
    future = latest.future
    latest.add_many(reports)
    if latest.future > future and not problems.sighted:  # where the first future ones are
        name_future(chunk, name, first_line, latest, problems, count=latest.future - future)
    return newlines
