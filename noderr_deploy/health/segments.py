"""The segments of a large JSON Lines file, and the processes that claim and read them.

The file is cut into segments of whole lines. Processes (*takers*) claim segments under a
lock shared through ``fork``: per region of the file, one taker from the front, one from
the back, until they meet, so that neither idles while the other still has work. A taker
reading from the back decodes each segment's chunks last first and feeds them to
:meth:`Latest.add_earlier` (older reports are dropped while still in the CPU cache).
:mod:`noderr_deploy.health.parallel` starts the processes and merges what they read.
"""

from __future__ import annotations

import itertools
import multiprocessing
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import FUTURE_LISTED, Problems


def split_points(path: Path, size: int, parts: int, *, block: int = 1 << 16) -> list[int]:
    """Offsets ``[0, ..., size]`` cutting the file into about ``parts`` ranges of whole lines
    (fewer when lines are longer than a range).

    Each cut is the first newline at or after its target; the search for the next cut
    starts where the last one ended, so no byte is looked at twice: a file of one 150 MB
    line costs one pass, not one per cut.
    """
    points = [0]
    scanned = 0  # every byte before this is known: no cut starts before it
    with path.open("rb") as stream:
        for k in range(1, parts):
            target = max(size * k // parts, scanned)
            if target >= size:
                break
            stream.seek(target)
            offset = None
            while offset is None:
                data = stream.read(block)
                if not data:
                    break
                found = data.find(b"\n")
                if found >= 0:
                    offset = target + found + 1
                target += len(data)
            scanned = offset if offset is not None else size
            if offset is not None and points[-1] < offset < size:
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
    """One of the ``takers`` processes sharing a file: it claims segments of ``region`` from
    the front or the back. Taker 0 is this process; the index is also the place of the
    taker's run in file order."""

    index: int
    takers: int

    @property
    def region(self) -> int:
        return self.index // 2

    @property
    def front(self) -> bool:
        return self.index % 2 == 0


def read_claimed(
    path: Path, points: list[int], claims: Claims, taker: Taker, latest: Latest, *, chunk: int
) -> list[Segment]:
    """Read the segments ``taker`` claims into ``latest``, in chunks of about ``chunk``
    bytes."""
    name = str(path)
    done: list[Segment] = []
    with path.open("rb") as stream:
        while (index := claims.take(taker.region, taker.front)) is not None:
            start, end = points[index], points[index + 1]
            read = _read_forwards if taker.front else _read_backwards
            done.append(read(stream, name, (index, start, end), latest, chunk))
    return done


def _read_forwards(
    stream: IO[bytes], name: str, segment: tuple[int, int, int], latest: Latest, chunk: int
) -> Segment:
    from noderr_deploy.health.decode import BOM
    from noderr_deploy.health.jsonl import read_lines

    index, start, end = segment
    stream.seek(start)
    if start == 0:
        head = stream.read(3)
        if head == BOM:
            start = 3
        stream.seek(start)
    problems = Problems()
    newlines = read_lines(stream, name, latest, problems, chunk_size=chunk, end=end - start)
    return Segment(index, newlines, problems)


def _read_backwards(
    stream: IO[bytes], name: str, segment: tuple[int, int, int], latest: Latest, chunk: int
) -> Segment:
    """Read a segment whose later records are all in ``latest`` already: its chunks are
    decoded last first and fed with :meth:`Latest.add_earlier`."""
    from noderr_deploy.health.decode import BOM, decode_chunk, name_future

    index, start, end = segment
    stream.seek(start)
    data = stream.read(end - start)
    chunks = []
    position = 3 if start == 0 and data.startswith(BOM) else 0
    while position < len(data):
        cut = data.find(b"\n", position + chunk - 1) + 1 or len(data)
        chunks.append((position, cut))
        position = cut
    found: list[tuple[int, Problems]] = []
    ahead: list[tuple[Problems, int, int, int]] = []  # chunks with future records
    for position, cut in reversed(chunks):
        problems = Problems()
        reports, count = decode_chunk(data[position:cut], name, 1, problems, latest.rules.unit)
        future = latest.future
        latest.add_earlier(reports)
        # Kept with no problem too: the counts of incomplete records and units go with it.
        found.append((count, problems))
        if latest.future > future:
            ahead.append((problems, position, cut, latest.future - future))
    named = 0
    for problems, position, cut, future in reversed(ahead):  # the first ones, in file order
        if named >= FUTURE_LISTED:
            break
        name_future(data[position:cut], name, 1, latest, problems, count=future)
        named += len(problems.ahead)
    in_order = Problems()
    newlines = 0  # before the chunk, in the segment: its problems' line offset
    for count, problems in reversed(found):
        in_order.extend(problems, newlines)
        newlines += count
    return Segment(index, newlines, in_order)


def regions(segments: int, parts: int) -> list[tuple[int, int]]:
    """Segment ranges ``(first, after last)`` for ``parts`` takers, two per region (the
    last region has one when ``parts`` is odd), sized by their number of takers."""
    takers = [min(2, parts - t) for t in range(0, parts, 2)]
    bounds = [0]
    done = 0
    for n in takers:
        done += n
        bounds.append(segments * done // parts)
    return list(itertools.pairwise(bounds))


def add_problems(problems: Problems, segments: list[Segment]) -> None:
    """Problems of every segment in file order, numbered from the start of the file."""
    offset = 0
    for segment in sorted(segments, key=operator.attrgetter("index")):
        problems.extend(segment.problems, offset)
        offset += segment.newlines
