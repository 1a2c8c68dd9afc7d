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
messages, each a typed msgspec struct (:data:`Message`). A worker ends with ``os._exit``:
its memory goes back to the system at once, without freeing a million objects one by one.

A worker never outlives the read: it asks the kernel to kill it when this process dies
(``PR_SET_PDEATHSIG``, SIGKILL of this process included), closes its copies of this
process's pipe ends (so that it sees end-of-file where the kernel has no such call), and
every worker is reaped before the read returns or raises.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import multiprocessing
import operator
import os
import pickle
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from noderr_deploy.health.model import F, HealthReport, Latest, Problems
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

_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[HealthReport]).decode


# -- messages between the processes ----------------------------------------------------------


class Parcel(msgspec.Struct, array_like=True):
    """Encoded reports of one run: in the shared area at ``offset`` (``length`` bytes), or
    the bytes themselves in ``data`` when the area is missing or full. ``who`` is the owner
    of the nodes (from a worker) or the taker that read them (to a worker)."""

    who: int
    offset: int = 0
    length: int = 0
    data: bytes | None = None


class ReadDone(msgspec.Struct, tag="read"):
    """A worker read its segments: its counts, and the parcels of nodes others own."""

    records: int
    future: int
    segments: list[Segment]
    parcels: list[Parcel]


class FoldGiven(msgspec.Struct, tag="fold"):
    """The fold a worker fills with the nodes it owns (pickled: a fold is any object)."""

    fold: bytes


class RunsGiven(msgspec.Struct, tag="runs"):
    """The runs of the nodes a worker owns that other takers read."""

    parcels: list[Parcel]


class Stop(msgspec.Struct, tag="stop"):
    """Nothing is to be folded (the input was malformed): the worker ends."""


class FoldDone(msgspec.Struct, tag="folded"):
    """A worker's fold of the nodes it owns, and how many there were."""

    fold: bytes
    nodes: int


class Failed(msgspec.Struct, tag="failed"):
    """A worker failed: the exception (pickled, when it pickles) and its text."""

    error: bytes
    text: str


Message = ReadDone | FoldGiven | RunsGiven | Stop | FoldDone | Failed
_MESSAGE_ENCODE = msgspec.msgpack.Encoder().encode
_MESSAGE_DECODE = msgspec.msgpack.Decoder(Message).decode

M = TypeVar("M", ReadDone, FoldGiven, RunsGiven, FoldDone)


def _send(pipe: Connection, message: Message) -> None:
    pipe.send_bytes(_MESSAGE_ENCODE(message))


def _receive(pipe: Connection, kind: type[M], what: str) -> M | None:
    """The next message, of ``kind`` (None: told to stop); a worker's failure is raised."""
    try:
        message = _MESSAGE_DECODE(pipe.recv_bytes())
    except EOFError:
        raise RuntimeError(f"a health reader worker ended without sending {what}") from None
    if isinstance(message, Failed):
        try:
            error = pickle.loads(message.error)
        except Exception:
            error = RuntimeError(message.text)
        raise error
    if isinstance(message, Stop):
        return None
    if not isinstance(message, kind):
        raise RuntimeError(f"a health reader worker sent {type(message).__name__}, not {what}")
    return message


def _failure(exc: BaseException) -> Failed:
    text = f"{type(exc).__name__}: {exc}"
    try:
        return Failed(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL), text)
    except Exception:  # an exception that does not pickle: its text only
        return Failed(b"", text)


# -- runs: splitting by owner, merging in file order -----------------------------------------


def split_run(latest: Latest, me: int, owners: int) -> tuple[Latest, dict[int, bytes]]:
    """The nodes of a run that ``me`` owns (as a :class:`Latest`), and the reports of every
    other owner's nodes, encoded, by owner. ``owners == 1``: taker 0 owns every node."""
    if owners == 1:
        if me == 0:
            return latest, {}
        return Latest(latest.horizon, latest.rules), {0: _ENCODE(list(latest.by_node.values()))}
    parts: list[list[HealthReport]] = [[] for _ in range(owners)]
    for node, report in latest.by_node.items():
        parts[hash(node) % owners].append(report)
    own = Latest(latest.horizon, latest.rules)  # merged by the read's rules (--incomplete)
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


class _Mailbox:
    """One direction between two processes: a shared memory area for large parcels; the
    pipe carries the small message that says where they are (or carries them, when the
    area is missing or too small)."""

    def __init__(self, size: int) -> None:
        try:
            # Anonymous and shared: a forked process writes into it, the other reads.
            self.area: mmap.mmap | None = mmap.mmap(-1, size)
        except OSError:  # no room for the mapping: parcels go through the pipe
            self.area = None

    def pack(self, parcels: list[tuple[int, bytes]]) -> list[Parcel]:
        """Place tagged parcels in the area; return what to send over the pipe."""
        out: list[Parcel] = []
        offset = 0
        for who, data in parcels:
            if self.area is not None and offset + len(data) <= len(self.area):
                self.area[offset : offset + len(data)] = data
                out.append(Parcel(who, offset, len(data)))
                offset += len(data)
            else:
                out.append(Parcel(who, data=data))
        return out

    def reports(self, parcel: Parcel) -> list[HealthReport]:
        """The reports of a parcel :meth:`pack` placed."""
        if parcel.data is not None:
            return _DECODE(parcel.data)
        assert self.area is not None
        with memoryview(self.area) as view:
            return _DECODE(view[parcel.offset : parcel.offset + parcel.length])

    def raw(self, parcel: Parcel) -> bytes:
        """The encoded parcel, to pass on unopened."""
        if parcel.data is not None:
            return parcel.data
        assert self.area is not None
        return self.area[parcel.offset : parcel.offset + parcel.length]

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
        _send(link.pipe, ReadDone(latest.records, latest.future, segments, packed))
        if job.owners > 1:
            given = _receive(link.pipe, FoldGiven, "its fold")
            if given is None:
                return
            fold = pickle.loads(given.fold)
            fold.prepare(own.by_node)  # while the parent finishes reading
            order = _receive(link.pipe, RunsGiven, "the runs to merge")
            if order is None:  # the parent stopped (malformed input): nothing to fold
                return
            runs = [(parcel.who, link.down.reports(parcel)) for parcel in order.parcels]
            merged = merge_runs(own, link.taker.index, runs)
            fold.add(merged.by_node)
            _send(
                link.pipe,
                FoldDone(pickle.dumps(fold, pickle.HIGHEST_PROTOCOL), len(merged.by_node)),
            )
    except BaseException as exc:  # everything goes back to the parent
        code = 1
        with contextlib.suppress(Exception):
            _send(link.pipe, _failure(exc))
    finally:
        os._exit(code)  # skip the interpreter's teardown (see the module's doc)


def _start(job: _Job, taker: Taker, sizes: ReadSizes) -> _Link:
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe(duplex=True)
    job.ends.append(mine)
    link = _Link(taker, theirs, _Mailbox(sizes.area), _Mailbox(sizes.area))
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
        done = _receive(link.pipe, ReadDone, "what it read")
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
            _send(link.pipe, given)

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
                        _send(link.pipe, Stop())
                        link.done = True
                raise
            for link in links:  # first let the workers go on: they merge while this one does
                owner = link.taker.index
                runs = [(0, read.parcels[owner])] if owner in read.parcels else []
                runs += read.relay.get(owner, [])
                _send(link.pipe, RunsGiven(link.down.pack(runs)))
            merged = merge_runs(read.own, 0, _opened(read.received))
            fold.add(merged.by_node)
            nodes = len(merged.by_node)
            for link in links:
                done = _receive(link.pipe, FoldDone, "its fold")
                assert done is not None
                link.done = True
                fold.combine(pickle.loads(done.fold))
                nodes += done.nodes
            return ParallelFold(fold, read.records, nodes, read.future)
    finally:
        _stop(links)
