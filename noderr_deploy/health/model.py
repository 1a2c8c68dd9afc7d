"""Health reports: the record, its derived status, latest-wins, and what a read produced.

A node reports ``{"nodeId", "version", "metrics": {"uptime", "cpu", "memory", "errors"},
"timestamp", "healthStatus"?}``, the schema the deployment engine accepts on
``POST /api/v1/health``.

Records are msgspec structs: typed decoding validates every field while it parses,
which is what makes a million reports fit in about a second (see
``benchmarks/rollback_check.py``). They are created with ``gc=False`` because they hold
no cycles, and a million tracked objects would make the cyclic collector run over and
over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, Protocol, Self, TypeVar

import msgspec
from msgspec.structs import astuple

from noderr_deploy.health.rules import DEFAULT_RULES, ReadRules
from noderr_deploy.health.stamps import MAX_MILLISECONDS

HealthStatus = Literal["healthy", "degraded", "unhealthy"]


STATUSES: tuple[HealthStatus, ...] = ("healthy", "degraded", "unhealthy")


MAX_LISTED = 20
"""Malformed records listed one per line in an error; the rest are counted."""


MAX_FLOAT = 1.7976931348623157e308
"""The largest finite float: ``1e999`` (infinity) is no count."""


class Metrics(msgspec.Struct, kw_only=True, gc=False):
    """A report's metrics, with the ranges the engine's schema allows (finite numbers).

    Each may be missing (absent or ``null`` in JSON, an empty field in CSV, NULL in SQL),
    never defaulted: a report without cpu, memory or errors is *incomplete*
    (:attr:`missing`, :mod:`noderr_deploy.health.incomplete`), counted and never judged.
    ``uptime`` is used by no rule.
    """

    uptime: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)] | None = None
    cpu: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    memory: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    errors: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)] | None = None

    def __eq__(self, other: object) -> bool:
        # Metrics and reports are values, equal when their fields are, whichever decoder
        # made them (the reader decodes the common shape into stricter subclasses).
        if not isinstance(other, Metrics):
            return NotImplemented
        return astuple(self) == astuple(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like every struct

    @property
    def missing(self) -> tuple[str, ...]:
        """The metrics the status rule needs that this report lacks (empty: complete)."""
        return tuple(n for n in ("cpu", "memory", "errors") if getattr(self, n) is None)


# Numbers up to the last millisecond of 9999: the unit rule (noderr_deploy.health.stamps)
# turns them into datetimes right after decoding.
Timestamp = datetime | Annotated[float, msgspec.Meta(ge=0, le=MAX_MILLISECONDS)]


class HealthReport(msgspec.Struct, rename="camel", kw_only=True, gc=False):
    """One health report. Unknown fields in the input are ignored.

    ``timestamp`` is an aware UTC ``datetime`` once the reader has normalised it (see
    :func:`utc`); straight out of the decoder it may also be naive (meaning UTC) or a
    number of unix seconds.
    """

    node_id: Annotated[str, msgspec.Meta(min_length=1)]
    version: Annotated[str, msgspec.Meta(min_length=1)]
    metrics: Metrics = msgspec.field(default_factory=Metrics)
    timestamp: Timestamp
    health_status: HealthStatus | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HealthReport):  # values, as Metrics are
            return NotImplemented
        return astuple(self) == astuple(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def incomplete(self) -> bool:
        """Whether the report lacks a metric the status rule needs."""
        m = self.metrics
        return m.cpu is None or m.memory is None or m.errors is None


def utc(value: datetime | float) -> datetime:
    """A report timestamp as an aware UTC datetime (naive means UTC; numbers are unix seconds)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        if value.tzinfo is UTC:
            return value
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value, tz=UTC)


def derived_status(metrics: Metrics) -> HealthStatus:
    """The deployment engine's status from metrics: errors > 10 or cpu > 95 is unhealthy,
    cpu > 90 or memory > 90 degraded, anything else healthy. Only for complete metrics:
    an incomplete report is never judged (:class:`ValueError`)."""
    cpu, memory, errors = metrics.cpu, metrics.memory, metrics.errors
    if cpu is None or memory is None or errors is None:
        raise ValueError(f"an incomplete report is not judged (missing {metrics.missing})")
    if errors > 10 or cpu > 95:
        return "unhealthy"
    if cpu > 90 or memory > 90:
        return "degraded"
    return "healthy"


def status_of(report: HealthReport) -> HealthStatus:
    """The report's own ``healthStatus`` when it carries one, else the derived status."""
    return report.health_status or derived_status(report.metrics)


FUTURE_LISTED = 5
"""Future records named one per line on stderr; the rest are counted."""


FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
"""The horizon of a read that has none: no report is after it."""


class Latest:
    """The latest report per node, fed in read order.

    The later timestamp wins; on a tie the record read later wins (``>=``). Reports stamped
    after ``horizon`` (the moment evaluated, plus the clock skew allowed) are not kept, only
    counted in ``future`` (a reader that sees the count grow says where the first few are,
    :meth:`Problems.sight`): one report from a node whose clock says 2099 must not pin that
    node and hide its real reports.

    With ``rules.incomplete == "complete"`` (the default) an incomplete report never
    replaces a complete one, and a complete report replaces an incomplete one whatever
    their times: a node keeps its latest complete report, or its latest incomplete one if
    it has none (:mod:`noderr_deploy.health.incomplete`).

    Timestamps are compared as aware datetimes, to the microsecond: that is the one
    precision of every read, serial or parallel. A timestamp of another kind (naive,
    unix seconds) does not compare with an aware one and raises ``TypeError`` on its first
    comparison; that record and the rest of its batch are then made aware UTC
    (:func:`utc`) and the loop goes on. Kept reports are therefore always aware.

    This is one plain loop per record on purpose: a dict lookup and one comparison with the
    kept report cost about 250 ns per record, where the earlier design in C-level passes
    (masks, ``compress``, a stable sort for nodes repeated within a batch) cost twice that
    in time order and five times that shuffled (``benchmarks/rollback_check.py``). The
    horizon is compared only when a report is about to be kept: a future report always
    gets there, since the report it would replace is never in the future.
    """

    def __init__(self, horizon: datetime = FAR_FUTURE, rules: ReadRules = DEFAULT_RULES) -> None:
        self.by_node: dict[str, HealthReport] = {}
        self.records = 0
        self.future = 0
        """Records stamped after the horizon, left out."""
        self.horizon = horizon
        self.rules = rules
        """How the readers interpret records (columns, timestamp unit, incomplete policy)."""
        self._keep_complete = rules.incomplete == "complete"

    def add(self, report: HealthReport) -> None:
        """Feed one record."""
        self.add_many([report])

    def add_many(self, reports: Sequence[HealthReport]) -> None:
        """Feed records in the order they were read."""
        self._feed(reports, iter(reports), ties=True)

    def add_earlier(self, reports: Sequence[HealthReport]) -> None:
        """Feed records read before everything fed so far, as when reading a file from its
        end: they replace a kept report only when strictly newer (a tie goes to the kept
        one, read later). ``reports`` are in the order they were read.

        Read this way, the older reports of a node are dropped while still in the CPU's
        cache, instead of being kept and freed much later (about 20% faster).
        """
        self._feed(reports, reversed(reports), ties=False)

    def _feed(
        self, reports: Sequence[HealthReport], rest: Iterator[HealthReport], *, ties: bool
    ) -> None:
        """The one latest-wins loop: ``rest`` runs over ``reports`` in the order they are to
        be compared; ``ties`` says whether a report as old as the kept one replaces it."""
        self.records += len(reports)
        by_node = self.by_node
        get = by_node.get
        horizon = self.horizon
        keep = self._keep_complete
        while True:
            report = None
            try:
                for report in rest:
                    stamp = report.timestamp
                    old = get(report.node_id)
                    if old is None or (
                        stamp >= old.timestamp if ties else stamp > old.timestamp  # type: ignore[operator]
                    ):
                        if stamp > horizon:  # type: ignore[operator]
                            self.future += 1
                        elif not (
                            keep and old is not None and report.incomplete and not old.incomplete
                        ):
                            by_node[report.node_id] = report
                    elif keep and old.incomplete and not report.incomplete:
                        by_node[report.node_id] = report  # complete beats incomplete
                return
            except TypeError:  # not an aware datetime: this record and the rest made so
                assert report is not None
                rest = _made_aware([report, *rest])

    def merge(self, later: Latest) -> None:
        """Fold in the result of reading data that comes after everything fed so far
        (its reports count as read after ours, so they win ties)."""
        records = self.records
        if not self.by_node:
            self.by_node = later.by_node  # nothing to compare with: adopt it
        else:
            self.add_many(list(later.by_node.values()))
        self.records = records + later.records
        self.future += later.future

    def normalise(self) -> None:
        """Turn every kept timestamp into a UTC datetime (done once per node)."""
        for report in self.by_node.values():
            stamp = report.timestamp
            if not (isinstance(stamp, datetime) and stamp.tzinfo is UTC):
                report.timestamp = utc(stamp)


def _made_aware(reports: list[HealthReport]) -> Iterator[HealthReport]:
    for report in reports:
        stamp = report.timestamp
        if not (isinstance(stamp, datetime) and stamp.tzinfo is not None):
            report.timestamp = utc(stamp)
    return iter(reports)


def latest_per_node(reports: Iterable[HealthReport]) -> dict[str, HealthReport]:
    """Rule 1: the latest report per node (by timestamp; a tie goes to the later record)."""
    latest = Latest()
    for report in reports:
        latest.add(report)
    latest.normalise()
    return latest.by_node


@dataclass
class Problem:
    """A malformed record, or data that could not be read at all (``lost``): where it is
    and why."""

    source: str
    line: int
    reason: str
    lost: bool = False

    def __str__(self) -> str:
        if not self.line:  # a reader that does not number its records
            return f"{self.source}: {self.reason}"
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Problems:
    """Malformed records and lost data: the first :data:`MAX_LISTED` kept, all counted.

    A malformed record is one record left out (``count``). Lost data is a part of a file
    that could not be read at all (a cut-off or corrupt gzip stream, a quote that swallows
    the rest of a CSV file): it is counted in bytes, and in records where they can be
    known, never as one malformed record.
    """

    listed: list[Problem] = field(default_factory=list)
    count: int = 0
    """Malformed records."""
    losses: int = 0
    """Places where data was lost."""
    lost_bytes: int = 0
    lost_records: int = 0
    """Records known to be in the lost data (they may be more)."""
    incomplete: int = 0
    """Valid records lacking cpu, memory or errors (not a problem: counted for the verdict;
    kept here because these counts travel with a worker's problems)."""
    seconds: int = 0
    """Numeric timestamps read as unix seconds."""
    milliseconds: int = 0
    """Numeric timestamps read as unix milliseconds."""
    damaged: int = 0
    """Places where records already read may be wrong (a gzip member whose CRC or length
    check failed): they cannot be told apart from good ones, so nothing is judged."""
    ahead: list[Problem] = field(default_factory=list)
    """Where the first :data:`FUTURE_LISTED` future records are (not problems: counted in
    the read's ``future``; kept here because they travel with a worker's problems)."""

    def sight(self, source: str, line: int, report: HealthReport) -> None:
        """A record stamped after the horizon, at ``line`` of ``source``."""
        if len(self.ahead) < FUTURE_LISTED:
            stamp = utc(report.timestamp).isoformat().replace("+00:00", "Z")
            self.ahead.append(Problem(source, line, f"node {report.node_id!r} stamped {stamp}"))

    def sight_unnumbered(self, source: str, count: int) -> None:
        """``count`` records of ``source`` stamped after the horizon, read by a reader that
        does not number its records (CSV)."""
        if len(self.ahead) < FUTURE_LISTED:
            noun = "record" if count == 1 else "records"
            self.ahead.append(Problem(source, 0, f"{count} {noun} stamped after the horizon"))

    @property
    def sighted(self) -> bool:
        """Whether the future records named are as many as are listed."""
        return len(self.ahead) >= FUTURE_LISTED

    def add(self, source: str, line: int, reason: str) -> None:
        """A malformed record."""
        self.count += 1
        self._list(Problem(source, line, reason))

    def lose(self, source: str, line: int, reason: str, *, size: int, records: int = 0) -> None:
        """Data lost from ``line`` on: ``size`` bytes, holding at least ``records`` records."""
        self.losses += 1
        self.lost_bytes += size
        self.lost_records += records
        if size or records:
            amount = f"{size} byte{'' if size == 1 else 's'}"
            if records:
                amount += f", {records} record{'' if records == 1 else 's'} or more"
            note = f"{amount} lost"
        else:  # a stream cut off: what it lacks was never there to count
            note = "the rest is lost"
        self._list(Problem(source, line, f"{reason} ({note})", lost=True))

    @property
    def failed(self) -> bool:
        """Whether anything was malformed or lost."""
        return bool(self.count or self.losses)

    def _list(self, problem: Problem) -> None:
        # Lost data is rare and matters most: it is listed even after the malformed
        # records have filled the list.
        if len(self.listed) < MAX_LISTED or (
            problem.lost and sum(p.lost for p in self.listed) < MAX_LISTED
        ):
            self.listed.append(problem)

    def extend(self, other: Problems, line_offset: int = 0) -> None:
        """Append problems found further on (``line_offset`` lines into the same file)."""
        for problem in other.listed:
            self._list(
                Problem(problem.source, problem.line + line_offset, problem.reason, problem.lost)
            )
        self.count += other.count
        self.losses += other.losses
        self.lost_bytes += other.lost_bytes
        self.lost_records += other.lost_records
        self.incomplete += other.incomplete
        self.seconds += other.seconds
        self.milliseconds += other.milliseconds
        self.damaged += other.damaged
        for seen in other.ahead[: FUTURE_LISTED - len(self.ahead)]:
            self.ahead.append(
                Problem(seen.source, seen.line and seen.line + line_offset, seen.reason)
            )

    def lines(self, limit: int = MAX_LISTED) -> list[str]:
        """One line per problem, up to ``limit``, then how many more there were."""
        lost = [p for p in self.listed if p.lost][:limit]
        others = [p for p in self.listed if not p.lost][: max(0, limit - len(lost))]
        chosen = {id(p) for p in (*lost, *others)}
        out = [str(p) for p in self.listed if id(p) in chosen]
        total = self.count + self.losses
        if total > len(out):
            out.append(f"... and {total - len(out)} more")
        return out


def future_lines(problems: Problems, future: int) -> list[str]:
    """Where the first future records are, one per line, then how many more there were."""
    out = [str(p) for p in problems.ahead]
    named = sum(1 if p.line else int(p.reason.split(" ", 1)[0]) for p in problems.ahead)
    if future > named:
        out.append(f"... and {future - named} more")
    return out


class Once:
    """Calls a function the first time it is called, never again (``None``: nothing)."""

    def __init__(self, function: Callable[[], None] | None) -> None:
        self._function = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


@dataclass
class HealthRead:
    """What reading health exports produced: the latest report per node, and counts."""

    latest: dict[str, HealthReport]
    records: int
    """Valid records read."""
    problems: Problems
    sources: list[str]
    future: int = 0
    """Records stamped after the horizon, left out."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice, read once)."""


class Fold(Protocol):
    """A summary of the latest report of each node, built in parts that combine (such as
    :class:`noderr_deploy.rollback.CohortTally`). Parts may be built in other processes:
    a fold must pickle."""

    def prepare(self, nodes: Iterable[str]) -> None:
        """Work that can be done ahead for nodes likely to be added next (a worker calls this
        while it waits for the other processes' reports). It may do nothing."""

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        """Fold in these nodes (every node is added once, to one part)."""

    def combine(self, other: Self) -> None:
        """Add another part, folded with the same settings."""


F = TypeVar("F", bound=Fold)


@dataclass
class FoldedRead(Generic[F]):
    """What :func:`read_folded` produced: the fold of every node's latest report, and counts."""

    fold: F
    records: int
    """Valid records read."""
    nodes: int
    """Distinct nodes."""
    problems: Problems
    sources: list[str]
    future: int = 0
    """Records stamped after the horizon, left out."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice, read once)."""
