"""Reading one large JSON Lines file on several cores.

The file is cut into segments of whole lines (about :data:`SEGMENT` bytes each). Two
processes share the segments by meeting in the middle: this process claims them from the
front (after the caller's set-up has run), a forked worker from the back, one segment at
a time under a lock. Neither idles while the other still has work, whatever else the
machine is running. With more processes the file is first split into regions, one per
pair.

A process reading from the back decodes each segment's chunks last first and feeds them
to :meth:`Latest.add_earlier`. Each process returns its latest report per node; these
are merged in file order, so a tie still goes to the record read later. Problems are
numbered from the start of their segment, then shifted by the lines before it.
"""

from __future__ import annotations

import gc
import itertools
import mmap
import multiprocessing
import operator
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec

from noderr_deploy.health import HealthReport, Latest, Problems

_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[HealthReport]).decode
_NODE_ID = operator.attrgetter("node_id")

SEGMENT = 4 << 20
"""Bytes per segment: small enough that the two processes finish within a few tens of
milliseconds of each other, large enough that claiming one costs nothing."""

RESERVE = 1
"""How many segments a worker leaves to this process at the end, to read while the worker
encodes and sends its result (which then arrives about when this process is done)."""


def split_points(path: Path, size: int, parts: int) -> list[int]:
    """Offsets ``[0, ..., size]`` cutting the file into about ``parts`` ranges of whole lines
    (fewer when lines are longer than a range)."""
    points = [0]
    with path.open("rb") as stream:
        for k in range(1, parts):
            stream.seek(size * k // parts)
            stream.readline()
            offset = stream.tell()
            if points[-1] < offset < size:
                points.append(offset)
    points.append(size)
    return points


class Claims:
    """Which segments are still to be read, shared by forked processes: per region, the
    first one left (claimed from the front) and the one after the last one left (claimed
    from the back)."""

    def __init__(self, regions: list[tuple[int, int]], *, reserve: int = 0) -> None:
        context = multiprocessing.get_context("fork")
        self._bounds = context.RawArray("q", [bound for region in regions for bound in region])
        self._lock = context.Lock()
        self._reserve = reserve

    def take(self, region: int, front: bool) -> int | None:
        """Claim the next segment of ``region`` from its front or its back (None: all gone).
        The last ``reserve`` segments of a region are left to its front taker."""
        low, high = 2 * region, 2 * region + 1
        with self._lock:
            left = self._bounds[high] - self._bounds[low]
            if left <= (0 if front else self._reserve):
                return None
            if front:
                self._bounds[low] += 1
                return int(self._bounds[low] - 1)
            self._bounds[high] -= 1
            return int(self._bounds[high])


@dataclass
class Segment:
    """What reading one segment found: its newlines, and its problems numbered from the
    segment's first line."""

    index: int
    newlines: int
    problems: Problems


@dataclass(frozen=True)
class Taker:
    """One of the processes sharing a file: it claims segments of ``region`` from the
    front or the back, and hashes the node ids whose ``hash() % takers`` is ``index``."""

    index: int
    takers: int

    @property
    def region(self) -> int:
        return self.index // 2

    @property
    def front(self) -> bool:
        return self.index % 2 == 0


def read_claimed(
    path: Path, points: list[int], claims: Claims, taker: Taker, latest: Latest
) -> list[Segment]:
    """Read the segments ``taker`` claims into ``latest``, hashing its share of the new node
    ids after each one (so that hashing is shared out as fairly as reading)."""
    name = str(path)
    done: list[Segment] = []
    hashed = len(latest.by_node)
    with path.open("rb") as stream:
        while (index := claims.take(taker.region, taker.front)) is not None:
            start, end = points[index], points[index + 1]
            read = _read_forwards if taker.front else _read_backwards
            done.append(read(stream, name, (index, start, end), latest))
            hashed = _hash_share(latest, hashed, taker)
    return done


def _read_forwards(
    stream: IO[bytes], name: str, segment: tuple[int, int, int], latest: Latest
) -> Segment:
    from noderr_deploy.health_formats import BOM, read_lines

    index, start, end = segment
    stream.seek(start)
    if start == 0:
        head = stream.read(3)
        if head == BOM:
            start = 3
        stream.seek(start)
    problems = Problems()
    newlines = read_lines(stream, name, latest, problems, end=end - start)
    return Segment(index, newlines, problems)


def _read_backwards(
    stream: IO[bytes], name: str, segment: tuple[int, int, int], latest: Latest
) -> Segment:
    """Read a segment whose later records are all in ``latest`` already: its chunks are
    decoded last first and fed with :meth:`Latest.add_earlier`."""
    from noderr_deploy.health_formats import BOM, CHUNK, decode_chunk

    index, start, end = segment
    stream.seek(start)
    data = stream.read(end - start)
    chunks = []
    position = 3 if start == 0 and data.startswith(BOM) else 0
    while position < len(data):
        cut = data.find(b"\n", position + CHUNK - 1) + 1 or len(data)
        chunks.append((position, cut))
        position = cut
    newlines = 0
    found: list[tuple[int, Problems]] = []
    for position, cut in reversed(chunks):
        problems = Problems()
        reports, count = decode_chunk(data[position:cut], name, 1, problems)
        latest.add_earlier(reports)
        newlines += count
        if problems.count:
            found.append((data.count(b"\n", 0, position), problems))
    in_order = Problems()
    for offset, problems in reversed(found):
        in_order.extend(problems, offset)
    return Segment(index, newlines, in_order)


def _hash_share(latest: Latest, hashed: int, taker: Taker) -> int:
    """Compute the cohort buckets of the taker's share of the node ids kept after the first
    ``hashed`` (a dict keeps its keys in insertion order, and ``Latest`` never removes one);
    return how many node ids are kept now. Every forked process splits the ids the same
    way (they share the string hash seed); evaluation hashes those nobody did."""
    from noderr_deploy.cohorts import buckets_of

    if len(latest.by_node) == hashed:
        return hashed
    mine = [
        node
        for node in itertools.islice(latest.by_node, hashed, None)
        if hash(node) % taker.takers == taker.index
    ]
    latest.buckets.update(zip(mine, buckets_of(n.encode("utf-8") for n in mine), strict=True))
    return len(latest.by_node)


@dataclass
class _Shared:
    """Set up before the workers are forked, which inherit it (a lock cannot be pickled
    into a task): the claims, the segment offsets, and one shared memory area per worker
    to send its result through (a pipe moves 10 MB in 64 KB steps, each a context switch)."""

    claims: Claims
    points: list[int]
    areas: list[mmap.mmap | None]


AREA = 256 << 20
"""Size of a worker's shared memory area (room for about 2.5 million nodes): address space
only, pages are used when written. A larger result goes through the pipe."""


def _area() -> mmap.mmap | None:
    try:
        return mmap.mmap(-1, AREA)  # anonymous and shared: forked workers write into it
    except OSError:  # no room for the mapping: results go through the pipe
        return None


_STATE: list[_Shared] = []

_KEPT: list[Latest] = []
"""A worker's reports, kept alive until it exits: freeing 100,000 reports before the
result is sent would only delay it."""


def _worker(path: Path, taker: Taker) -> tuple[bytes | int, dict[str, int], int, list[Segment]]:
    """Read claimed segments; return the latest reports (msgpack, or its length in the
    worker's shared memory area), the buckets hashed, the records read and the segments."""
    gc.disable()  # the worker only allocates acyclic records, then exits
    shared = _STATE[-1]
    latest = Latest()
    segments = read_claimed(path, shared.points, shared.claims, taker, latest)
    latest.normalise()
    _KEPT.append(latest)
    encoded = _ENCODE(list(latest.by_node.values()))
    area = shared.areas[taker.index - 1]
    if area is not None and len(encoded) <= len(area):
        area[: len(encoded)] = encoded
        return len(encoded), latest.buckets, latest.records, segments
    return encoded, latest.buckets, latest.records, segments


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
    points = split_points(path, size, max(parts, -(-size // SEGMENT)))
    count = len(points) - 1
    if count < 2 or parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
        parts = 1
    # Taker t reads region t // 2, from the front when t is even: taker 0 is this process.
    regions = _regions(count, parts)
    claims = Claims(regions, reserve=RESERVE)
    if parts == 1:
        meanwhile()
        segments = read_claimed(path, points, claims, Taker(0, 1), latest)
        _add_problems(problems, segments)
        return
    enabled = gc.isenabled()
    gc.disable()
    areas = [_area() for _ in range(1, parts)]
    _STATE.append(_Shared(claims, points, areas))
    pool = ProcessPoolExecutor(parts - 1, mp_context=multiprocessing.get_context("fork"))
    try:
        futures: list[Future[Any]] = [
            pool.submit(_worker, path, Taker(t, parts)) for t in range(1, parts)
        ]
        meanwhile()
        mine = Latest()
        segments = read_claimed(path, points, claims, Taker(0, parts), mine)
        latest.merge(mine)
        for future, area in zip(futures, areas, strict=True):
            result, buckets, records, found = future.result()
            if isinstance(result, int):
                assert area is not None
                with memoryview(area) as view:
                    reports = _DECODE(view[:result])
            else:
                reports = _DECODE(result)
            # Each taker's segments come after everything merged so far: its reports
            # are read later and win ties.
            before = latest.records
            latest.add_many(reports)
            latest.records = before + records
            latest.buckets.update(buckets)
            segments += found
        _add_problems(problems, segments)
    finally:
        # Do not wait for the workers to exit (they free their memory first).
        pool.shutdown(wait=False, cancel_futures=True)
        _STATE.pop()
        for area in areas:
            if area is not None:
                area.close()
        if enabled:
            gc.enable()


def _regions(segments: int, parts: int) -> list[tuple[int, int]]:
    """Segment ranges ``(first, after last)`` for ``parts`` takers, two per region (the
    last region has one when ``parts`` is odd), sized by their number of takers."""
    takers = [min(2, parts - t) for t in range(0, parts, 2)]
    bounds = [0]
    done = 0
    for n in takers:
        done += n
        bounds.append(segments * done // parts)
    return list(itertools.pairwise(bounds))


def _add_problems(problems: Problems, segments: list[Segment]) -> None:
    """Problems of every segment in file order, numbered from the start of the file."""
    offset = 0
    for segment in sorted(segments, key=operator.attrgetter("index")):
        problems.extend(segment.problems, offset)
        offset += segment.newlines
