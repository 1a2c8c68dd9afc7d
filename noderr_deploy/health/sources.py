"""Which files to read, and which reader each one needs.

The format comes from the extension (``.jsonl``/``.ndjson``, ``.json``, ``.csv``, each
optionally ``.gz``), else from the content: gzip by its magic bytes, then ``[`` is a
JSON array, ``{`` JSON Lines, anything else CSV. Every reader streams: it holds one chunk
(or one record) at a time, feeds valid records to a
:class:`~noderr_deploy.health.model.Latest`, and every malformed record to
:class:`~noderr_deploy.health.model.Problems` as ``file:line: reason``.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from noderr_deploy.errors import InputError, closed_stdin
from noderr_deploy.health.decode import BOM, gzip_reason
from noderr_deploy.health.jsonl import CHUNK, read_lines
from noderr_deploy.health.model import Latest, Problems

PARALLEL_MIN_BYTES = 16 << 20
"""Plain JSON Lines files at least this big are split across processes."""


STDIN = "-"


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
        if stdin is None:
            raise closed_stdin()
        _read_stream(_buffered(stdin), "<stdin>", "", latest, problems)
        return
    path = Path(source)
    try:
        with path.open("rb") as stream:
            parts, size = _share(stream, path.name, workers)
            if parts > 1:
                from noderr_deploy.health.parallel import read_lines_parallel

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
        problems.add(name, 1, gzip_reason(exc))
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
        from noderr_deploy.health.array import read_array

        read_array(stream, name, latest, problems)
    else:
        from noderr_deploy.health.csvfile import read_csv

        read_csv(stream, name, latest, problems)


def _first_byte(stream: Any) -> bytes:
    try:
        head: bytes = stream.peek(CHUNK)
    except (EOFError, OSError, zlib.error):
        return b""
    stripped = head.lstrip()
    return stripped[:1]
