"""Node-id lists: one id per line, checked and bucketed byte-exact, on every core.

Only the line terminator (``\\n`` or ``\\r\\n``) is stripped: a lone ``\\r``, spaces and
anything else stay part of the id, as the services hash it. Every line must hold an id:
an empty line, and so an empty input (a file of no lines), or invalid UTF-8 is an
:class:`~noderr_deploy.errors.InputError` naming the line.

Large inputs are cut into byte ranges at line ends and hashed on every core. With this
package's C extension (:data:`noderr_deploy.keccak.bucket_lines`) each range is hashed by
a thread that releases the GIL, while this thread checks the UTF-8 and looks for
repeated ids. Without it, forked worker processes hash the ranges with safe-pysha3 (whose
Keccak holds the GIL for short inputs); they inherit the data through ``fork`` instead of
pickling it, and send back one byte per id (its bucket) or just 100 counts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from noderr_deploy.cohorts import bucket_of_bytes, buckets_of, count_buckets
from noderr_deploy.errors import InputError, closed_stdin
from noderr_deploy.keccak import bucket_lines, has_repeats

STDIN = "-"
PARALLEL_MIN_BYTES = 1 << 20
"""Below about 80,000 ids, forking workers costs more than it saves."""
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class IdScan:
    """The result of checking and bucketing a list of ids."""

    total: int
    bucket_counts: list[int]
    """Ids per bucket 0..99."""
    ids: list[bytes] | None = None
    """Each id as UTF-8 bytes, in order (only when rows were asked for)."""
    buckets: bytes | None = None
    """Each id's bucket, one byte per id (only when rows were asked for)."""
    repeated: dict[bytes, int] | None = None
    """Ids given more than once, with how many times more (None when none is)."""

    @property
    def repeats(self) -> int:
        """Lines that repeat an earlier line's id."""
        return sum(self.repeated.values()) if self.repeated else 0

    def unique_bucket_counts(self) -> list[int]:
        """Ids per bucket with every repeated id counted once."""
        counts = list(self.bucket_counts)
        for raw, extra in (self.repeated or {}).items():
            counts[bucket_of_bytes(raw)] -= extra
        return counts


@dataclass(frozen=True)
class _Chunk:
    lines: int
    counts: list[int]
    buckets: bytes | None
    problem: tuple[int, str] | None
    """(0-based line within the chunk, message) of the chunk's first bad line."""


def read_input(name: str, stdin: IO[bytes] | None = None) -> tuple[bytes, str]:
    """The bytes of ``name`` (``-`` is stdin) and the name to use in messages."""
    if not name:
        raise InputError("--file: the path is empty (give a file, or '-' for stdin)")
    if name == STDIN:
        if stdin is None:
            raise closed_stdin()
        return stdin.read(), "<stdin>"
    try:
        return Path(name).read_bytes(), name
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None


def split_lines(data: bytes) -> list[bytes]:
    """Lines without their ``\\n`` or ``\\r\\n``; a final terminator does not add a line."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if b"\r" in data:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines


def input_warnings(data: bytes, source: str) -> list[str]:
    """Things in an otherwise valid input an operator probably did not mean."""
    if data.startswith(_BOM):
        return [
            f"{source}:1: starts with a UTF-8 byte order mark; it is hashed as part of"
            " the first id (the services would see the same bytes only if they were sent them)"
        ]
    return []


def scan_ids(
    data: bytes,
    source: str,
    *,
    keep_rows: bool,
    workers: int | None = None,
    parallel_min_bytes: int = PARALLEL_MIN_BYTES,
) -> IdScan:
    """Check every line of ``data`` and bucket it; raise :class:`InputError` on the first bad line.

    ``workers`` defaults to the cores this process may use; inputs smaller than
    ``parallel_min_bytes`` are done in this process.
    """
    if not data:
        # The one rule: every line holds an id. An empty input is a file of no lines, so it
        # fails as a file of blank lines does, instead of reporting a rollout of 0 nodes.
        raise InputError(f"{source}: empty input (no node ids; one node id per line)")
    count = workers or _usable_cores()
    if bucket_lines is not None:
        return _scan_threads(data, source, keep_rows, count, parallel_min_bytes)
    ranges = [(0, len(data))]
    if len(data) >= parallel_min_bytes and count > 1 and _can_fork():
        ranges = _ranges(data, count) or ranges
    if len(ranges) == 1:
        chunks = [_scan(data, keep_rows)]
    else:
        chunks = _scan_parallel(data, ranges, keep_rows)
    for (start, _end), chunk in zip(ranges, chunks, strict=True):
        if chunk.problem is not None:
            index, message = chunk.problem
            line = data.count(b"\n", 0, start) + index + 1
            raise InputError(_problem(data, source, line, message))
    counts = [sum(column) for column in zip(*(c.counts for c in chunks), strict=True)]
    total = sum(c.lines for c in chunks)
    lines = split_lines(data)
    repeated = _repeated(lines)
    if not keep_rows:
        return IdScan(total=total, bucket_counts=counts, repeated=repeated)
    buckets = b"".join(c.buckets or b"" for c in chunks)
    return IdScan(total, counts, lines, buckets, repeated)


def _scan_threads(
    data: bytes, source: str, keep_rows: bool, count: int, parallel_min_bytes: int
) -> IdScan:
    """:func:`scan_ids` with the C extension: one thread per range hashes without the GIL;
    this thread meanwhile checks the UTF-8, splits the lines and looks for repeats."""
    import threading

    assert bucket_lines is not None and has_repeats is not None
    ranges = [(0, len(data))]
    if len(data) >= parallel_min_bytes and count > 1:
        ranges = _ranges(data, count) or ranges
    results: list[tuple[int, list[int], bytes | None, int, bytes | None] | None]
    results = [None] * len(ranges)
    failures: list[BaseException] = []

    def work(k: int) -> None:
        start, end = ranges[k]
        try:
            results[k] = bucket_lines(data, start, end, keep_rows, True)
        except BaseException as exc:  # MemoryError: raised again in this thread, below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(len(ranges))]
    for thread in threads:
        thread.start()
    utf8 = _utf8_problem(data)
    lines = split_lines(data) if keep_rows else None
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    problems = [] if utf8 is None else [utf8]
    for (start, _end), result in zip(ranges, results, strict=True):
        assert result is not None
        if result[3] >= 0:
            problems.append(
                (data.count(b"\n", 0, start) + result[3], "empty line (one node id per line)")
            )
    if problems:
        index, message = min(problems)
        raise InputError(_problem(data, source, index + 1, message))
    done = [r for r in results if r is not None]
    counts = [sum(column) for column in zip(*(r[1] for r in done), strict=True)]
    total = sum(r[0] for r in done)
    repeated = None
    # Distinct digest prefixes prove the ids distinct, without a set of a million ids; equal
    # ones (a repeat, or once in 2^64 / n^2 a shared prefix) are settled on the ids.
    if has_repeats(*(r[4] or b"" for r in done)):
        repeated = _repeated(lines if lines is not None else split_lines(data))
    if not keep_rows:
        return IdScan(total=total, bucket_counts=counts, repeated=repeated)
    buckets = b"".join(r[2] or b"" for r in done)
    return IdScan(total, counts, lines, buckets, repeated)


def _utf8_problem(data: bytes) -> tuple[int, str] | None:
    """(0-based line, message) of the first invalid UTF-8 in ``data``, or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        return (
            data.count(b"\n", 0, exc.start),
            f"invalid UTF-8 at byte {exc.start - line_start + 1} of the line ({exc.reason})",
        )
    return None


def _problem(data: bytes, source: str, line: int, message: str) -> str:
    if line == 1 and data.startswith(_UTF16_BOMS) and "UTF-8" in message:
        message += (
            "; the input starts with a UTF-16 byte order mark: convert it to UTF-8 first"
            " (iconv -f UTF-16 -t UTF-8)"
        )
    return f"{source}:{line}: {message}"


def _repeated(lines: list[bytes]) -> dict[bytes, int] | None:
    """Ids that occur more than once, with their extra occurrences (None: all distinct)."""
    if len(set(lines)) == len(lines):
        return None
    from collections import Counter

    return {raw: n - 1 for raw, n in Counter(lines).items() if n > 1}


def _scan(data: bytes, keep_rows: bool) -> _Chunk:
    problem = _utf8_problem(data)
    lines = split_lines(data)
    if b"" in lines:
        index = lines.index(b"")
        if problem is None or index < problem[0]:
            problem = (index, "empty line (one node id per line)")
    if problem is not None:
        return _Chunk(0, [], None, problem)
    buckets = buckets_of(lines)
    return _Chunk(len(lines), count_buckets(buckets), buckets if keep_rows else None, None)


# Set in the parent just before forking, so that workers read the input from memory they
# inherited instead of receiving a pickled copy.
_SHARED = b""


def _scan_range(task: tuple[int, int, bool]) -> _Chunk:
    start, end, keep_rows = task
    return _scan(_SHARED[start:end], keep_rows)


def _scan_parallel(data: bytes, ranges: Sequence[tuple[int, int]], keep_rows: bool) -> list[_Chunk]:
    import multiprocessing

    global _SHARED  # noqa: PLW0603 - see _SHARED
    _SHARED = data
    try:
        with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
            return pool.map(_scan_range, [(s, e, keep_rows) for s, e in ranges], chunksize=1)
    finally:
        _SHARED = b""


def _ranges(data: bytes, parts: int) -> list[tuple[int, int]]:
    """About equal byte ranges of ``data``, each ending just after a ``\\n`` (or at the end)."""
    size = len(data)
    bounds = [0]
    for k in range(1, parts):
        cut = data.find(b"\n", max(bounds[-1], size * k // parts))
        if cut == -1:
            break
        if cut + 1 < size:
            bounds.append(cut + 1)
    bounds.append(size)
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i] < bounds[i + 1]]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
