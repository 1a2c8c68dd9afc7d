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
  and folds them into a small summary (a :class:`~noderr_deploy.health.results.Fold`, such as the
  rollback verdict's per-cohort tally) that is all that comes back. Merging and
  evaluating 100,000 nodes is then shared too, instead of waiting for one process.

Reports cross between processes as msgpack, through a shared memory area per direction
(a pipe moves 10 MB in 64 KB steps, each a context switch); the pipe carries the small
messages, each a typed msgspec struct (:mod:`noderr_deploy.health.exchange`). A worker
ends with ``os._exit``: its memory goes back to the system at once, without freeing a
million objects one by one.

A worker never outlives the read: it asks the kernel to kill it when this process dies
(``PR_SET_PDEATHSIG``, SIGKILL of this process included), closes its copies of this
process's pipe ends (so that it sees end-of-file where the kernel has no such call), and
every worker is reaped before the read returns or raises.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic

from noderr_deploy.health.exchange import (
    FoldDone,
    FoldGiven,
    Mailbox,
    Parcel,
    ReadDone,
    RunsGiven,
    Stop,
    failure,
    merge_runs,
    receive,
    send,
    split_run,
)
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.results import F
from noderr_deploy.health.rules import DEFAULT_RULES, ReadRules
from noderr_deploy.health.segments import (
    Claims,
    Segment,
    Taker,
    add_problems,
    read_claimed,
    regions,
    split_points,
)
from noderr_deploy.health.sizes import ReadSizes

# -- workers ---------------------------------------------------------------------------------


@dataclass
class _Link:
    """This process's end of one worker: the process, the pipe, a mailbox each way."""

    taker: Taker
    pipe: Connection
    up: Mailbox
    """From the worker."""
    down: Mailbox
    """To the worker."""
    process: Any = None
    done: bool = False
    """The worker sent all it will send, or was told to stop: it is ending."""


@dataclass
class _Job:
    """What a forked worker needs, inherited through the fork (a lock cannot be pickled)."""

    path: Path
    points: list[int]
    claims: Claims
    owners: int
    sizes: ReadSizes
    horizon: Any
    rules: ReadRules = DEFAULT_RULES
    parent: int = field(default_factory=os.getpid)
    ends: list[Connection] = field(default_factory=list)
    """This process's pipe ends, which every worker inherits and closes."""


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the parent dies (Linux), and end now if the
    parent is gone already (it died before the request was made)."""
    with contextlib.suppress(Exception):  # not Linux, or no C library: the pipe still tells
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _worker(job: _Job, link: _Link) -> None:
    """A worker's life: read, hand over the parts of its run that others own, then (when
    folding) merge the nodes it owns and send back their fold. It never returns."""
    code = 0
    try:
        _die_with_parent(job.parent)
        for end in job.ends:
            end.close()  # so that the parent's death is the end of this pipe
        gc.disable()  # the worker only allocates acyclic records, then exits
        latest = Latest(job.horizon, job.rules)
        segments = read_claimed(
            job.path, job.points, job.claims, link.taker, latest, chunk=job.sizes.chunk
        )
        latest.normalise()
        own, parcels = split_run(latest, link.taker.index, job.owners)
        packed = link.up.pack(sorted(parcels.items()))
        send(link.pipe, ReadDone(latest.records, latest.future, segments, packed))
        if job.owners > 1:
            given = receive(link.pipe, FoldGiven, "its fold")
            if given is None:
                return
            fold = pickle.loads(given.fold)
            fold.prepare(own.by_node)  # while the parent finishes reading
            order = receive(link.pipe, RunsGiven, "the runs to merge")
            if order is None:  # the parent stopped (malformed input): nothing to fold
                return
            runs = [(parcel.who, link.down.reports(parcel)) for parcel in order.parcels]
            merged = merge_runs(own, link.taker.index, runs)
            fold.add(merged.by_node)
            send(
                link.pipe,
                FoldDone(pickle.dumps(fold, pickle.HIGHEST_PROTOCOL), len(merged.by_node)),
            )
    except BaseException as exc:  # everything goes back to the parent
        code = 1
        with contextlib.suppress(Exception):
            send(link.pipe, failure(exc))
    finally:
        os._exit(code)  # skip the interpreter's teardown (see the module's doc)


def _start(job: _Job, taker: Taker, sizes: ReadSizes) -> _Link:
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe(duplex=True)
    job.ends.append(mine)
    link = _Link(taker, theirs, Mailbox(sizes.area), Mailbox(sizes.area))
    link.process = context.Process(target=_worker, args=(job, link), daemon=True)
    link.process.start()
    theirs.close()  # so that a worker that dies is seen as the end of the pipe
    link.pipe = mine
    return link


REAP_SECONDS = 5.0
"""How long a worker that should be ending is waited for before it is killed."""


def _stop(links: list[_Link]) -> None:
    """Reap every worker (killing those that did not finish), and free the areas."""
    for link in links:
        if not link.done:
            link.process.kill()
        link.pipe.close()
    for link in links:
        link.process.join(REAP_SECONDS)
        if link.process.exitcode is None:  # ending, but stuck: it must not outlive us
            link.process.kill()
            link.process.join()
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
    received: list[tuple[_Link, Parcel]]
    """Runs of the nodes this process owns, read by workers, still encoded (they are
    decoded after the workers have their orders)."""
    relay: dict[int, list[tuple[int, bytes]]]
    """Encoded runs read by one worker of nodes another owns: by owner, then reader."""
    records: int
    future: int
    segments: list[Segment]


def _read_together(
    path: Path,
    points: list[int],
    parts: int,
    owners: int,
    *,
    sizes: ReadSizes,
    horizon: Any,
    rules: ReadRules,
    meanwhile: Callable[[], None],
    links: list[_Link],
) -> _Read:
    """Start ``parts - 1`` workers (appended to ``links``), run ``meanwhile()``, read this
    process's share, and collect what every worker read."""
    claims = Claims(regions(len(points) - 1, parts), reserve=sizes.reserve)
    job = _Job(path, points, claims, owners, sizes, horizon, rules)
    for t in range(1, parts):
        links.append(_start(job, Taker(t, parts), sizes))
    meanwhile()
    mine = Latest(horizon, rules)
    segments = read_claimed(path, points, claims, Taker(0, parts), mine, chunk=sizes.chunk)
    mine.normalise()
    own, parcels = split_run(mine, 0, owners)
    read = _Read(own, parcels, [], {}, mine.records, mine.future, segments)
    for link in links:
        done = receive(link.pipe, ReadDone, "what it read")
        assert done is not None
        link.done = owners == 1
        read.records += done.records
        read.future += done.future
        read.segments += done.segments
        for parcel in done.parcels:
            if parcel.who == 0:
                read.received.append((link, parcel))
            else:
                read.relay.setdefault(parcel.who, []).append(
                    (link.taker.index, link.up.raw(parcel))
                )
    return read


def _opened(received: list[tuple[_Link, Parcel]]) -> list[tuple[int, list[HealthReport]]]:
    """The runs workers sent, decoded, with the place of each in file order."""
    return [(link.taker.index, link.up.reports(parcel)) for link, parcel in received]


def plan(path: Path, size: int, parts: int, sizes: ReadSizes) -> list[int]:
    """The segments' split points, for ``parts`` processes."""
    return split_points(path, size, max(parts, -(-size // sizes.segment)))


def usable_parts(points: list[int], parts: int) -> int:
    """How many processes to use: one when the file has a single segment (a file of a few
    very long lines: splitting cannot help), or where this system cannot fork."""
    if len(points) <= 2 or parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return parts


@contextlib.contextmanager
def _no_collection() -> Any:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def gather_parallel(
    path: Path,
    points: list[int],
    parts: int,
    latest: Latest,
    problems: Problems,
    *,
    sizes: ReadSizes,
    meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Read ``path`` (cut at ``points``) in ``parts`` processes and merge every node into
    ``latest``, the problems into ``problems``. ``meanwhile()`` runs here once the workers
    have started."""
    links: list[_Link] = []
    try:
        with _no_collection():
            read = _read_together(
                path,
                points,
                parts,
                1,
                sizes=sizes,
                horizon=latest.horizon,
                rules=latest.rules,
                meanwhile=meanwhile,
                links=links,
            )
            merged = merge_runs(read.own, 0, _opened(read.received))
            merged.records = read.records
            merged.future = read.future
            latest.merge(merged)
            add_problems(problems, read.segments)
    finally:
        _stop(links)


@dataclass
class ParallelFold(Generic[F]):
    """What :func:`fold_parallel` produced."""

    fold: F
    records: int
    nodes: int
    future: int


def fold_parallel(
    path: Path,
    points: list[int],
    parts: int,
    problems: Problems,
    make_fold: Callable[[], F],
    *,
    sizes: ReadSizes,
    horizon: Any,
    rules: ReadRules = DEFAULT_RULES,
    meanwhile: Callable[[], None] = lambda: None,
    check: Callable[[Problems, int], None] = lambda problems, records: None,
) -> ParallelFold[F]:
    """Read ``path`` in ``parts`` processes, each of which merges and folds the nodes it
    owns; return the combined fold. ``meanwhile()`` runs here once the workers have
    started, then ``make_fold()``, whose fold goes to the workers at once (they prepare it
    while this process still reads); ``check(problems, records)`` runs once everything is
    read, before anything is folded (it raises to stop: malformed records, or none)."""
    links: list[_Link] = []
    made: list[F] = []

    def start() -> None:
        meanwhile()
        made.append(make_fold())
        given = FoldGiven(pickle.dumps(made[0], pickle.HIGHEST_PROTOCOL))
        for link in links:
            send(link.pipe, given)

    try:
        with _no_collection():
            read = _read_together(
                path,
                points,
                parts,
                parts,
                sizes=sizes,
                horizon=horizon,
                rules=rules,
                meanwhile=start,
                links=links,
            )
            fold = made[0]
            add_problems(problems, read.segments)
            try:
                check(problems, read.records)
            except BaseException:
                for link in links:
                    with contextlib.suppress(OSError):
                        send(link.pipe, Stop())
                        link.done = True
                raise
            for link in links:  # first let the workers go on: they merge while this one does
                owner = link.taker.index
                runs = [(0, read.parcels[owner])] if owner in read.parcels else []
                runs += read.relay.get(owner, [])
                send(link.pipe, RunsGiven(link.down.pack(runs)))
            merged = merge_runs(read.own, 0, _opened(read.received))
            fold.add(merged.by_node)
            nodes = len(merged.by_node)
            for link in links:
                done = receive(link.pipe, FoldDone, "its fold")
                assert done is not None
                link.done = True
                fold.combine(pickle.loads(done.fold))
                nodes += done.nodes
            return ParallelFold(fold, read.records, nodes, read.future)
    finally:
        _stop(links)
