"""Reading one large JSON Lines file on several cores.

The file is cut into byte ranges at line boundaries. This process reads the first
range while forked workers read the others; each returns its latest report per node,
which are merged in file order so that a tie still goes to the record read later.
Line numbers in problems are shifted by the lines of the ranges before them.
"""

from __future__ import annotations

import gc
import multiprocessing
import operator
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import msgspec

from noderr_deploy.health import HealthReport, Latest, Problems

_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[HealthReport]).decode
_NODE_ID = operator.attrgetter("node_id")


FIRST_SHARE = 0.9
"""The first range, read by this process, is this fraction of an equal share: this
process also runs the caller's set-up meanwhile, and merges at the end."""


def split_points(path: Path, size: int, parts: int, first_share: float = 1.0) -> list[int]:
    """Offsets ``[0, ..., size]`` cutting the file into ``parts`` ranges of whole lines; the
    first range is ``first_share`` of an equal share, the others split the rest evenly."""
    first = int(size / parts * first_share)
    points = [0]
    with path.open("rb") as stream:
        for k in range(1, parts):
            stream.seek(first + (size - first) * (k - 1) // (parts - 1))
            stream.readline()
            offset = stream.tell()
            if points[-1] < offset < size:
                points.append(offset)
    points.append(size)
    return points


def read_range(path: Path, start: int, end: int) -> tuple[Latest, Problems, int]:
    """Read the lines in bytes ``[start, end)``: (latest per node, problems, lines read).

    Problems carry line numbers counted from the start of the range.
    """
    from noderr_deploy.health_formats import BOM, read_lines

    latest = Latest()
    problems = Problems()
    name = str(path)
    with path.open("rb") as stream:
        stream.seek(start)
        if start == 0 and stream.peek(3)[:3] == BOM:
            stream.read(3)
            start = 3
        lines = read_lines(stream, name, latest, problems, end=end - start)
    return latest, problems, lines


_KEPT: list[Latest] = []
"""A worker's reports, kept alive until it exits: freeing 100,000 reports before the
result is sent would only delay it."""


def _worker(path: Path, start: int, end: int) -> tuple[bytes, bytes, int, Problems, int]:
    """Read a range; return its latest reports (msgpack), their cohort buckets (one byte
    per report, in the same order), the records read, the problems and the lines read."""
    from noderr_deploy.cohorts import buckets_of

    gc.disable()  # the worker only allocates acyclic records, then exits
    latest, problems, lines = read_range(path, start, end)
    latest.normalise()
    _KEPT.append(latest)
    reports = list(latest.by_node.values())
    # Hashing the node ids here keeps keccak off the parent's path once the reading ends.
    buckets = buckets_of(node.encode("utf-8") for node in latest.by_node)
    return _ENCODE(reports), buckets, latest.records, problems, lines


def read_lines_parallel(
    path: Path,
    size: int,
    parts: int,
    latest: Latest,
    problems: Problems,
    *,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Read ``path`` in ``parts`` processes and merge into ``latest`` and ``problems``.

    ``meanwhile()`` runs here once the workers have started.
    """
    points = split_points(path, size, parts, FIRST_SHARE)
    if len(points) <= 2 or "fork" not in multiprocessing.get_all_start_methods():
        meanwhile()
        mine, found, _ = read_range(path, 0, size)
        latest.merge(mine)
        problems.extend(found)
        return
    context = multiprocessing.get_context("fork")
    enabled = gc.isenabled()
    gc.disable()
    pool = ProcessPoolExecutor(len(points) - 2, mp_context=context)
    try:
        futures = [
            pool.submit(_worker, path, points[i], points[i + 1]) for i in range(1, len(points) - 1)
        ]
        meanwhile()
        mine, found, line_offset = read_range(path, points[0], points[1])
        latest.merge(mine)
        problems.extend(found)
        for future in futures:
            encoded, buckets, records, found, lines = future.result()
            reports = _DECODE(encoded)
            # The worker's range comes after everything merged so far: its reports are
            # read later and win ties.
            before = latest.records
            latest.add_many(reports)
            latest.records = before + records
            latest.buckets.update(zip(map(_NODE_ID, reports), buckets, strict=True))
            problems.extend(found, line_offset)
            line_offset += lines
    finally:
        # Do not wait for the workers to exit (they free their memory first).
        pool.shutdown(wait=False, cancel_futures=True)
        if enabled:
            gc.enable()
