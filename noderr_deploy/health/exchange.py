"""What crosses between the processes of a parallel read (:mod:`noderr_deploy.health.parallel`):
the typed messages on the pipe, the runs of reports split by owner and merged in file
order, and the shared memory areas that carry large parcels.

Reports cross as msgpack, through a shared memory area per direction (a pipe moves 10 MB
in 64 KB steps, each a context switch); the pipe carries the small messages, each a typed
msgspec struct (:data:`Message`).
"""

from __future__ import annotations

import mmap
import operator
import pickle
from collections.abc import Iterable
from multiprocessing.connection import Connection
from typing import TypeVar

import msgspec

from noderr_deploy.health.latest import Latest
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.segments import Segment

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


def send(pipe: Connection, message: Message) -> None:
    pipe.send_bytes(_MESSAGE_ENCODE(message))


def receive(pipe: Connection, kind: type[M], what: str) -> M | None:
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


def failure(exc: BaseException) -> Failed:
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


class Mailbox:
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
