"""Parsers for health exports: JSON Lines, a JSON array and CSV, each optionally gzipped.

Every parser streams: it holds one chunk (or one record) at a time and feeds valid
records to a :class:`~noderr_deploy.health.Latest`, and every malformed record to
:class:`~noderr_deploy.health.Problems` as ``file:line: reason``.

The format comes from the extension (``.jsonl``/``.ndjson``, ``.json``, ``.csv``, each
optionally ``.gz``), else from the content: gzip by its magic bytes, then ``[`` is a
JSON array, ``{`` JSON Lines, anything else CSV. JSON Lines are parsed here; the JSON
array and CSV readers are :mod:`noderr_deploy.health_array` and
:mod:`noderr_deploy.health_csv`.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Annotated, Any

import msgspec

from noderr_deploy.errors import InputError
from noderr_deploy.health import HealthReport, HealthStatus, Latest, Metrics, Problems
from noderr_deploy.units import parse_time

CHUNK = 1 << 19
"""Bytes read at a time: enough to amortise the calls per chunk, while the records decoded
from one chunk (about 1.5 MB of objects) still fit in a core's L2 cache for latest-wins."""

BATCH = 4096
"""Records handed to :class:`Latest` at a time by the record-by-record parsers."""

PARALLEL_MIN_BYTES = 16 << 20
"""Plain JSON Lines files at least this big are split across processes."""

BOM = b"\xef\xbb\xbf"
STDIN = "-"

_DECODER = msgspec.json.Decoder(HealthReport)
_DECODE = _DECODER.decode
_DECODE_LINES = _DECODER.decode_lines


class _TextTimestampReport(msgspec.Struct, rename="camel", gc=False):
    """The record with its timestamp as any text, for what RFC 3339 decoding refused
    (``2026-01-31 12:00:00``, unix seconds as a string): ``parse_time`` reads it."""

    node_id: Annotated[str, msgspec.Meta(min_length=1)]
    version: Annotated[str, msgspec.Meta(min_length=1)]
    metrics: Metrics
    timestamp: str
    health_status: HealthStatus | None = None


_DECODE_LENIENT = msgspec.json.Decoder(_TextTimestampReport).decode


# -- sources -------------------------------------------------------------------------------


def expand(paths: Sequence[str | Path]) -> list[str | Path]:
    """Files to read in order: directories give every file inside (recursively, by name,
    hidden files skipped); ``-`` is stdin."""
    if not paths:
        raise InputError("no health export given (pass files, directories or - for stdin)")
    out: list[str | Path] = []
    for raw in paths:
        if str(raw) == STDIN:
            if STDIN in out:
                raise InputError("stdin (-) given more than once")
            out.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise InputError(f"{path}: directory holds no files")
            out.extend(files)
        elif path.is_file():
            out.append(path)
        elif path.exists():
            raise InputError(f"{path}: not a regular file")
        else:
            raise InputError(f"{path}: no such file or directory")
    return out


def read_source(
    source: str | Path,
    latest: Latest,
    problems: Problems,
    *,
    workers: int | None = None,
    stdin: Any = None,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Read one file (or stdin) into ``latest``; malformed records go to ``problems``.

    ``meanwhile()`` is called before reading, or while worker processes read.
    """
    if source == STDIN:
        meanwhile()
        raw = stdin if stdin is not None else sys.stdin.buffer
        _read_stream(_buffered(raw), "<stdin>", "", latest, problems)
        return
    path = Path(source)
    try:
        with path.open("rb") as stream:
            parts, size = _share(stream, path.name, workers)
            if parts > 1:
                from noderr_deploy.health_parallel import read_lines_parallel

                read_lines_parallel(path, size, parts, latest, problems, meanwhile=meanwhile)
                return
            meanwhile()
            _read_stream(stream, str(path), path.name, latest, problems)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def unreadable(path: Path, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot read: {exc.strerror or exc}")


def parallel_share(source: str | Path, workers: int | None = None) -> tuple[int, int]:
    """How many processes should read ``source``, and its size: more than one only for a
    plain (not gzipped) JSON Lines file of at least :data:`PARALLEL_MIN_BYTES`."""
    if source == STDIN:
        return 1, 0
    path = Path(source)
    try:
        with path.open("rb") as stream:
            return _share(stream, path.name, workers)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _share(stream: io.BufferedReader, filename: str, workers: int | None) -> tuple[int, int]:
    n = _workers(workers)
    if n < 2 or _format_by_name(filename) != "lines" or stream.peek(2)[:2] == b"\x1f\x8b":
        return 1, 0
    size = os.fstat(stream.fileno()).st_size
    return (n if size >= PARALLEL_MIN_BYTES else 1), size


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    return min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _buffered(raw: Any) -> io.BufferedReader:
    if isinstance(raw, io.BufferedReader):
        return raw
    return io.BufferedReader(raw)


def _format_by_name(filename: str) -> str | None:
    lower = filename.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    if lower.endswith((".jsonl", ".ndjson")):
        return "lines"
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".json"):
        return "json"  # an array, or JSON Lines when it starts with "{"
    return None


def _read_stream(
    raw: io.BufferedReader, name: str, filename: str, latest: Latest, problems: Problems
) -> None:
    stream: Any = raw
    if raw.peek(2)[:2] == b"\x1f\x8b":
        # Read with read1() below: a truncated gzip then still yields everything
        # before the cut, where read(n) would drop the last partial buffer.
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    try:
        head = stream.peek(3)[:3]
    except (EOFError, OSError, zlib.error) as exc:
        problems.add(name, 1, _gzip_reason(exc))
        return
    if head == BOM:
        stream.read(3)
    kind = _format_by_name(filename)
    if kind in (None, "json"):
        first = _first_byte(stream)
        if kind == "json":
            kind = "array" if first == b"[" else "lines"
        else:
            kind = {b"[": "array", b"{": "lines", b"": "lines"}.get(first, "csv")
    if kind == "lines":
        read_lines(stream, name, latest, problems)
    elif kind == "array":
        from noderr_deploy.health_array import read_array

        read_array(stream, name, latest, problems)
    else:
        from noderr_deploy.health_csv import read_csv

        read_csv(stream, name, latest, problems)


def _first_byte(stream: Any) -> bytes:
    try:
        head: bytes = stream.peek(CHUNK)
    except (EOFError, OSError, zlib.error):
        return b""
    stripped = head.lstrip()
    return stripped[:1]


def _gzip_reason(exc: BaseException) -> str:
    """Why reading stopped: a cut-off or corrupt gzip stream, or an I/O error."""
    if isinstance(exc, EOFError):
        return "truncated gzip data: the compressed file ended early"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip data: {exc}"
    return f"read error: {exc}"


# -- JSON Lines ----------------------------------------------------------------------------


def read_lines(
    stream: IO[bytes], name: str, latest: Latest, problems: Problems, *, end: int | None = None
) -> int:
    """Read JSON Lines from ``stream`` (up to byte ``end`` if given); return the lines read.

    Chunks are cut after their last newline and the rest of the line is carried over to
    the next chunk (a huge line is gathered whole). ``readline()`` would do the same, but
    it refills the stream's small buffer, after which ``read1()`` returns only what that
    buffer holds: chunks of 8 KB instead of :data:`CHUNK`.
    """
    line_no = 1
    remaining = end
    carried: list[bytes] = []  # the start of a line whose end is still to be read
    while True:
        piece = b""
        failure: BaseException | None = None
        try:
            size = CHUNK if remaining is None else min(CHUNK, remaining)
            piece = _read1(stream, size) if size else b""
        except (EOFError, OSError, zlib.error) as exc:
            failure = exc
        if remaining is not None:
            remaining -= len(piece)
        if failure is not None:
            # What was carried is a cut-off last line, not a record.
            problems.add(name, line_no, _gzip_reason(failure))
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


def _read1(stream: Any, size: int) -> bytes:
    read1 = getattr(stream, "read1", None)
    data: bytes = read1(size) if read1 is not None else stream.read(size)
    return data


def decode_lines(
    chunk: bytes, name: str, first_line: int, latest: Latest, problems: Problems
) -> int:
    """Decode whole lines into ``latest``; malformed ones go to ``problems`` with their line.
    Return the number of newlines in ``chunk``."""
    reports, newlines = decode_chunk(chunk, name, first_line, problems)
    latest.add_many(reports)
    return newlines


def decode_chunk(
    chunk: bytes, name: str, first_line: int, problems: Problems
) -> tuple[list[HealthReport], int]:
    """The valid records of whole lines, and the number of newlines in ``chunk``; malformed
    lines go to ``problems`` (``first_line`` is the number of the chunk's first line).

    The fast path decodes the whole chunk in one call; it is taken only when that call
    provably saw one record per line (see :func:`one_record_per_line`). Anything else is
    decoded line by line, which is what finds the line number of each malformed record.
    """
    if not chunk:
        return [], 0
    newlines = chunk.count(b"\n")
    try:
        reports = _DECODE_LINES(chunk)
    except (msgspec.DecodeError, UnicodeDecodeError):
        reports = None
    if reports is None or not one_record_per_line(chunk, newlines, len(reports)):
        lines = chunk.split(b"\n")
        if not lines[-1]:
            lines.pop()
        try:
            reports = list(map(_DECODE, lines))
        except (msgspec.DecodeError, UnicodeDecodeError):
            reports = _decode_each(lines, name, first_line, problems)
    return reports, newlines


def one_record_per_line(chunk: bytes, newlines: int, values: int) -> bool:
    """Whether ``chunk`` (holding ``newlines`` newlines), from which ``msgspec``'s
    ``decode_lines`` read ``values`` records, holds exactly one record on each line, as
    reading it line by line requires.

    ``decode_lines`` reads whitespace-separated JSON values: it accepts two records on one
    line, and a record spread over several lines. Neither can happen when every line starts
    with ``{`` and ends with ``}`` and the counts agree: inside a record a ``}`` (an object
    just closed) is never followed by ``{`` without a comma in between, so no record runs
    on past the end of a line, and with as many records as lines, none shares its line.
    Blank lines, ``\\r\\n`` endings or indentation fail this test and take the exact path.
    """
    lines = newlines + (not chunk.endswith(b"\n"))
    return (
        values == lines
        and chunk.startswith(b"{")
        and chunk.endswith((b"}\n", b"}"))
        and chunk.count(b"}\n{") == lines - 1
    )


def _decode_each(
    lines: list[bytes], name: str, first_line: int, problems: Problems
) -> list[HealthReport]:
    reports = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue  # a blank line is not a record
        report, reason = decode_record(line)
        if report is not None:
            reports.append(report)
        else:
            problems.add(name, first_line + offset, reason)
    return reports


def decode_record(raw: bytes) -> tuple[HealthReport | None, str]:
    """One JSON record: the report, or ``None`` and why it was refused."""
    try:
        return _DECODE(raw), ""
    except msgspec.ValidationError as exc:
        if _error_path(str(exc)) == "timestamp":
            return _lenient_timestamp(raw, exc)
        return None, _reason(str(exc))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return None, f"invalid UTF-8 (byte {bad.start + 1} of the record)"
        return None, _reason(str(exc))


def _lenient_timestamp(raw: bytes, exc: Exception) -> tuple[HealthReport | None, str]:
    try:
        report = _DECODE_LENIENT(raw)
    except msgspec.ValidationError as other:
        if _error_path(str(other)) == "timestamp":  # not text either: the first reason
            return None, _reason(str(exc))
        return None, _reason(str(other))  # another field is wrong too
    try:
        moment = parse_time(report.timestamp)
    except ValueError as bad:
        return None, f"timestamp: {bad}"
    return (
        HealthReport(
            node_id=report.node_id,
            version=report.version,
            metrics=report.metrics,
            timestamp=moment,
            health_status=report.health_status,
        ),
        "",
    )


_PATH = re.compile(r" - at `\$\.?(.*)`$")
_WORDS = {
    "`float`": "a number",
    "`int`": "an integer",
    "`str`": "a string",
    "`object`": "an object",
    "`array`": "an array",
    "`null`": "null",
    "`bool`": "a boolean",
    "`float | datetime`": "a datetime or a number",
}


def _error_path(message: str) -> str | None:
    match = _PATH.search(message)
    return match.group(1) if match else None


def _reason(message: str) -> str:
    """msgspec's message made operator-friendly: ``metrics.cpu: expected a number <= 100``."""
    path = _error_path(message)
    text = _PATH.sub("", message)
    for word, plain in _WORDS.items():
        text = text.replace(word, plain)
    text = re.sub(r"(\d+)\.0\b", r"\1", text)
    # msgspec counts bytes from 0; editors count from 1.
    text = re.sub(r"\(byte (\d+)\)", lambda m: f"(byte {int(m.group(1)) + 1})", text)
    missing = re.match(r"Object missing required field `(.*)`", text)
    if missing:
        text = f"missing field '{missing.group(1)}'"
    elif text.startswith("JSON is malformed: "):
        text = "bad JSON: " + text.removeprefix("JSON is malformed: ")
    elif text == "Input data was truncated":
        text = "bad JSON: the record is cut off"
    else:
        text = text[:1].lower() + text[1:]
    return f"{path}: {text}" if path else text
