"""Reading one large JSON Lines file on several cores.

The file's segments (about :data:`SEGMENT` bytes each) are shared between this process
and forked workers as :mod:`noderr_deploy.health.segments` describes: two processes meet
in the middle, this one claiming from the front (after the caller's set-up has run), a
worker from the back.

Each process ends up with the latest report per node of the segments it read: its *run*,
a contiguous part of the file (taker ``t`` read the ``t``-th run in file order). Runs are
merged node by node in file order, so a tie still goes to the record read later. Who
merges a node is its *owner*:

- gathering (:func:`read_lines_parallel`): this process owns every node, and the workers
  send it their whole runs;
- folding (:func:`fold_lines_parallel`): node ids are shared out by their string hash, the
  processes swap the parts of their runs that others own, and each merges its own nodes
  and folds them into a small summary (a :class:`~noderr_deploy.health.model.Fold`, such as the
  rollback verdict's per-cohort tally) that is all that comes back. Merging and
  evaluating 100,000 nodes is then shared too, instead of waiting for one process.

Reports cross between processes as msgpack, through a shared memory area per direction
(a pipe moves 10 MB in 64 KB steps, each a context switch); the pipe carries the small
messages. A worker ends with ``os._exit``: its memory goes back to the system at once,
without freeing a million objects one by one.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import multiprocessing
import operator
import os
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from noderr_deploy.health.model import F, FoldedRead, HealthReport, Latest, Problems
from noderr_deploy.health.segments import (
    Claims,
    Segment,
    Taker,
    add_problems,
    read_claimed,
    regions,
    split_points,
)

_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[HealthReport]).decode

SEGMENT = 4 << 20
"""Bytes per segment: small enough that the two processes finish within a few tens of
milliseconds of each other, large enough that claiming one costs nothing."""

RESERVE = 1
"""How many segments a worker leaves to this process at the end, to read while the worker
splits and encodes its run and prepares its fold (started later, this process would
otherwise still be reading when the worker is done)."""

AREA = 256 << 20
"""Size of each shared memory area (room for about 2.5 million nodes): address space
only, pages are used when written. Larger parcels go through the pipe."""


# -- runs: splitting by owner, merging in file order -----------------------------------------


def split_run(latest: Latest, me: int, owners: int) -> tuple[Latest, dict[int, bytes]]:
    """The nodes of a run that ``me`` owns (as a :class:`Latest`), and the reports of every
    other owner's nodes, encoded, by owner. ``owners == 1``: taker 0 owns every node."""
    if owners == 1:
        if me == 0:
            return latest, {}
        return Latest(), {0: _ENCODE(list(latest.by_node.values()))}
    parts: list[list[HealthReport]] = [[] for _ in range(owners)]
    for node, report in latest.by_node.items():
        parts[hash(node) % owners].append(report)
    own = Latest()
    own.by_node = {report.node_id: report for report in parts[me]}
    return own, {k: _ENCODE(part) for k, part in enumerate(parts) if k != me and part}


def merge_runs(own: Latest, me: int, others: Iterable[tuple[int, list[HealthReport]]]) -> Latest:
    """Merge into ``own`` (taker ``me``'s run) the runs of other takers, given by their
    place in file order: later runs win ties, earlier ones only replace what is older."""
    runs = sorted(others, key=operator.itemgetter(0))
    for _, reports in (run for run in runs if run[0] > me):
        own.add_many(reports)
    for _, reports in reversed([run for run in runs if run[0] < me]):
        own.add_earlier(reports)
    own.records = 0  # records are counted by the readers, not by merging
    return own


# -- workers ---------------------------------------------------------------------------------

Where = bytes | tuple[int, int]
"""A parcel's place: in the shared area ``(offset, length)``, or the bytes themselves."""


class _Mailbox:
    """One direction between two processes: a shared memory area for large parcels; the
    pipe carries the small message that says where they are (or carries them, when the
    area is missing or too small)."""

    def __init__(self) -> None:
        try:
            # Anonymous and shared: a forked process writes into it, the other reads.
            self.area: mmap.mmap | None = mmap.mmap(-1, AREA)
        except OSError:  # no room for the mapping: parcels go through the pipe
            self.area = None

    def pack(self, parcels: list[tuple[int, bytes]]) -> list[tuple[int, Where]]:
        """Place tagged parcels in the area; return what to send over the pipe."""
        out: list[tuple[int, Where]] = []
        offset = 0
        for tag, data in parcels:
            if self.area is not None and offset + len(data) <= len(self.area):
                self.area[offset : offset + len(data)] = data
                out.append((tag, (offset, len(data))))
                offset += len(data)
            else:
                out.append((tag, data))
        return out

    def reports(self, where: Where) -> list[HealthReport]:
        """The reports of a parcel :meth:`pack` placed."""
        if isinstance(where, bytes):
            return _DECODE(where)
        assert self.area is not None
        offset, length = where
        with memoryview(self.area) as view:
            return _DECODE(view[offset : offset + length])

    def raw(self, where: Where) -> bytes:
        """The encoded parcel, to pass on unopened."""
        if isinstance(where, bytes):
            return where
        assert self.area is not None
        offset, length = where
        return self.area[offset : offset + length]

    def close(self) -> None:
        if self.area is not None:
            self.area.close()


@dataclass
class _Link:
    """This process's end of one worker: the process, the pipe, a mailbox each way."""

    taker: Taker
    pipe: Connection
    up: _Mailbox
    """From the worker."""
    down: _Mailbox
    """To the worker."""
    process: Any = None
    done: bool = False
    """The worker sent all it will send and is exiting."""


def _send(pipe: Connection, message: tuple[Any, ...]) -> None:
    pipe.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _receive(pipe: Connection, what: str) -> list[Any]:
    """The body of the next message; a worker's failure is raised here."""
    try:
        kind, *body = pickle.loads(pipe.recv_bytes())
    except EOFError:
        raise RuntimeError(f"a health reader worker ended without sending {what}") from None
    if kind == "error":
        raise body[0]
    return list(body)


@dataclass
class _Job:
    """What a forked worker needs, inherited through the fork (a lock cannot be pickled)."""

    path: Path
    points: list[int]
    claims: Claims
    owners: int


def _worker(job: _Job, link: _Link) -> None:
    """A worker's life: read, hand over the parts of its run that others own, then (when
    folding) merge the nodes it owns and send back their fold. It never returns."""
    code = 0
    try:
        gc.disable()  # the worker only allocates acyclic records, then exits
        latest = Latest()
        segments = read_claimed(job.path, job.points, job.claims, link.taker, latest)
        latest.normalise()
        own, parcels = split_run(latest, link.taker.index, job.owners)
        packed = link.up.pack(sorted(parcels.items()))
        _send(link.pipe, ("read", latest.records, segments, packed))
        if job.owners > 1:
            [fold] = _receive(link.pipe, "its fold")
            fold.prepare(own.by_node)  # while the parent finishes reading
            order = _receive(link.pipe, "the runs to merge")
            if order:  # empty: the parent stopped (malformed input), nothing to fold
                [packed] = order
                runs = [(sender, link.down.reports(where)) for sender, where in packed]
                merged = merge_runs(own, link.taker.index, runs)
                fold.add(merged.by_node)
                _send(link.pipe, ("fold", fold, len(merged.by_node)))
    except BaseException as exc:  # everything goes back to the parent
        code = 1
        with contextlib.suppress(Exception):
            try:
                _send(link.pipe, ("error", exc))
            except (pickle.PicklingError, TypeError, AttributeError):
                _send(link.pipe, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        os._exit(code)  # skip the interpreter's teardown (see the module's doc)


def _start(job: _Job, taker: Taker) -> _Link:
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe(duplex=True)
    link = _Link(taker, theirs, _Mailbox(), _Mailbox())
    link.process = context.Process(target=_worker, args=(job, link), daemon=True)
    link.process.start()
    theirs.close()  # so that a worker that dies is seen as the end of the pipe
    link.pipe = mine
    return link


def _stop(links: list[_Link]) -> None:
    """End the workers that did not finish, and free the areas."""
    for link in links:
        if not link.done and link.process.is_alive():
            link.process.kill()
            link.process.join()
        link.pipe.close()
        link.up.close()
        link.down.close()


# -- reading together ------------------------------------------------------------------------


@dataclass
class _Read:
    """What all processes read, seen from this one once every worker has reported."""

    own: Latest
    """The nodes this process owns, of its own run."""
    parcels: dict[int, bytes]
    """This process's reports of nodes other processes own, by owner."""
    received: list[tuple[_Link, Where]]
    """Runs of the nodes this process owns, read by workers, still encoded (they are
    decoded after the workers have their orders)."""
    relay: dict[int, list[tuple[int, bytes]]]
    """Encoded runs read by one worker of nodes another owns: by owner, then reader."""
    records: int
    segments: list[Segment]


def _read_together(
    path: Path,
    points: list[int],
    parts: int,
    owners: int,
    *,
    meanwhile: Callable[[], None],
    links: list[_Link],
) -> _Read:
    """Start ``parts - 1`` workers (appended to ``links``), run ``meanwhile()``, read this
    process's share, and collect what every worker read."""
    claims = Claims(regions(len(points) - 1, parts), reserve=RESERVE)
    job = _Job(path, points, claims, owners)
    for t in range(1, parts):
        links.append(_start(job, Taker(t, parts)))
    meanwhile()
    mine = Latest()
    segments = read_claimed(path, points, claims, Taker(0, parts), mine)
    mine.normalise()
    own, parcels = split_run(mine, 0, owners)
    read = _Read(own, parcels, [], {}, mine.records, segments)
    for link in links:
        records, found, packed = _receive(link.pipe, "what it read")
        link.done = owners == 1
        read.records += records
        read.segments += found
        for owner, where in packed:
            if owner == 0:
                read.received.append((link, where))
            else:
                read.relay.setdefault(owner, []).append((link.taker.index, link.up.raw(where)))
    return read


def _opened(received: list[tuple[_Link, Where]]) -> list[tuple[int, list[HealthReport]]]:
    """The runs workers sent, decoded, with the place of each in file order."""
    return [(link.taker.index, link.up.reports(where)) for link, where in received]


def _parts(points: list[int], parts: int) -> int:
    """How many processes to use: one when the file has a single segment, or without fork."""
    if len(points) <= 2 or parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return parts


def read_lines_parallel(
    path: Path,
    size: int,
    parts: int,
    latest: Latest,
    problems: Problems,
    *,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Read ``path`` in ``parts`` processes and merge every node into ``latest``, the
    problems into ``problems``. ``meanwhile()`` runs here once the workers have started."""
    points = split_points(path, size, max(parts, -(-size // SEGMENT)))
    parts = _parts(points, parts)
    enabled = gc.isenabled()
    gc.disable()
    links: list[_Link] = []
    try:
        read = _read_together(path, points, parts, 1, meanwhile=meanwhile, links=links)
        merged = merge_runs(read.own, 0, _opened(read.received))
        merged.records = read.records
        latest.merge(merged)
        add_problems(problems, read.segments)
    finally:
        _stop(links)
        if enabled:
            gc.enable()


def fold_lines_parallel(
    path: Path,
    size: int,
    parts: int,
    problems: Problems,
    make_fold: Callable[[], F],
    *,
    meanwhile: Callable[[], None] = lambda: None,
    check: Callable[[Problems, int], None] = lambda problems, records: None,
) -> FoldedRead[F]:
    """Read ``path`` in ``parts`` processes, each of which merges and folds the nodes it
    owns; return the combined fold. ``meanwhile()`` runs here once the workers have
    started, then ``make_fold()``, whose fold goes to the workers at once (they prepare it
    while this process still reads); ``check(problems, records)`` runs once everything is
    read, before anything is folded (it raises to stop: malformed records, or none)."""
    points = split_points(path, size, max(parts, -(-size // SEGMENT)))
    parts = _parts(points, parts)
    enabled = gc.isenabled()
    gc.disable()
    links: list[_Link] = []
    made: list[F] = []

    def start() -> None:
        meanwhile()
        made.append(make_fold())
        for link in links:
            _send(link.pipe, ("fold", made[0]))

    try:
        read = _read_together(path, points, parts, parts, meanwhile=start, links=links)
        fold = made[0]
        add_problems(problems, read.segments)
        try:
            check(problems, read.records)
        except BaseException:
            for link in links:
                with contextlib.suppress(OSError):
                    _send(link.pipe, ("stop",))
            raise
        for link in links:  # first let the workers go on: they merge while this one does
            owner = link.taker.index
            runs = [(0, read.parcels[owner])] if owner in read.parcels else []
            runs += read.relay.get(owner, [])
            _send(link.pipe, ("runs", link.down.pack(runs)))
        merged = merge_runs(read.own, 0, _opened(read.received))
        fold.add(merged.by_node)
        nodes = len(merged.by_node)
        for link in links:
            theirs, count = _receive(link.pipe, "its fold")
            link.done = True
            fold.combine(theirs)
            nodes += count
        return FoldedRead(fold, read.records, nodes, problems, [str(path)])
    finally:
        _stop(links)
        if enabled:
            gc.enable()
