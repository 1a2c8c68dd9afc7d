"""The one health read of ``noderr rollback check`` and ``noderr rollout status --health``.

Both commands take the same health options (a :class:`HealthRequest`) and read through
:func:`read_health`, so the rules cannot drift apart: the columns (``--columns`` over
tiers.yaml ``health.columns``), the timestamp unit, the incomplete policy, the clock-skew
horizon (reports after ``at`` plus ``max_skew`` are counted as future, never kept), ``--since``
for a DSN, ``--skip-invalid`` and what it leaves out (:class:`ReadCounts`), and what the
operator is told about it (:func:`read_messages`). What each command folds the reports into
is its own business (a rollback tally, or every node's latest report:
:class:`LatestFold`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Generic

from noderr_deploy.errors import UsageError
from noderr_deploy.health.incomplete import IncompletePolicy
from noderr_deploy.health.latest import FAR_FUTURE
from noderr_deploy.health.problems import Problems, future_lines
from noderr_deploy.health.read import check_read, describe, read_folded
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.results import F
from noderr_deploy.health.rules import ReadRules
from noderr_deploy.health.sizes import DEFAULT_SIZES, ReadSizes
from noderr_deploy.health.stamps import TimestampUnit, UnitTally

if TYPE_CHECKING:
    from noderr_deploy.config.sections import FileSettings

DEFAULT_MAX_SKEW = timedelta(minutes=5)
"""How far ahead of ``--at`` a node's clock may be before its reports count as future."""


@dataclass(frozen=True)
class HealthRequest:
    """The health options, as the flags (or a caller) gave them; ``None`` means "not given"
    (tiers.yaml or a default decides)."""

    sources: tuple[str | Path, ...]
    """Files, directories, ``-`` for stdin, or one PostgreSQL DSN."""
    at: datetime
    """The moment evaluated: staleness and the future horizon are measured from it."""
    max_age: timedelta | None = None
    max_skew: timedelta = DEFAULT_MAX_SKEW
    skip_invalid: bool = False
    config: Path | None = None
    """tiers.yaml (``None``: discovered from the working directory, if any)."""
    columns: Mapping[str, str] | None = None
    """``--columns``: field -> column, over tiers.yaml ``health.columns`` field by field."""
    timestamp_unit: TimestampUnit | None = None
    """``--timestamp-unit``, over tiers.yaml ``health.timestamp_unit`` (default ``auto``)."""
    incomplete: IncompletePolicy = "complete"
    since: datetime | None = None
    """With a DSN: rows before this are not read."""
    timeout: float | None = None
    """With a DSN: seconds for connecting and for each statement."""

    @property
    def horizon(self) -> datetime:
        """The latest report time used: ``at`` plus the allowed clock skew."""
        try:
            return self.at + self.max_skew
        except OverflowError:  # past year 9999: nothing is after it
            return FAR_FUTURE

    @property
    def dsn(self) -> str | None:
        """The PostgreSQL DSN among the sources, if one is."""
        from noderr_deploy.health.postgres import is_dsn

        return next((s for s in self.sources if isinstance(s, str) and is_dsn(s)), None)


@dataclass(frozen=True)
class ReadCounts:
    """What a read counted, before any fold: ``records`` valid records, ``invalid``
    malformed ones left out, ``future`` valid records after the horizon (not used),
    ``lost_bytes``/``lost_records`` of input that could not be read, ``incomplete_records``
    valid records lacking cpu, memory or errors, and how numeric timestamps were read
    (``s``, ``ms``, ``mixed``, or ``None`` when none was a number)."""

    records: int
    invalid: int = 0
    future: int = 0
    lost_bytes: int = 0
    lost_records: int = 0
    incomplete_records: int = 0
    timestamp_unit: str | None = None

    @classmethod
    def of(
        cls,
        records: int,
        future: int,
        problems: Problems,
        *,
        incomplete_records: int,
        timestamp_unit: str | None,
    ) -> ReadCounts:
        """The counts of a read whose malformed and lost input is in ``problems``."""
        return cls(
            records=records,
            invalid=problems.count,
            future=future,
            lost_bytes=problems.lost_bytes,
            lost_records=problems.lost_records,
            incomplete_records=incomplete_records,
            timestamp_unit=timestamp_unit,
        )


@dataclass
class HealthOutcome(Generic[F]):
    """A read's fold, its counts, and what it noticed."""

    fold: F
    counts: ReadCounts
    problems: Problems
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice)."""


class LatestFold:
    """The fold that keeps every node's latest report (for ``rollout status``, which
    measures several tiers, each against its own version, over the same reports)."""

    def __init__(self) -> None:
        self.latest: dict[str, HealthReport] = {}

    def prepare(self, nodes: Iterable[str]) -> None:
        pass

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        self.latest.update(latest)

    def combine(self, other: LatestFold) -> None:
        self.latest.update(other.latest)


@dataclass(frozen=True)
class ReadPlan:
    """A request's options checked, with tiers.yaml: how records are read, and the table a
    DSN names."""

    rules: ReadRules
    table: str


def plan_read(request: HealthRequest, file: FileSettings | None = None) -> ReadPlan:
    """Check the options of ``request`` before anything is read (or any chain is asked):
    :class:`UsageError` for options that do not go together or a bad ``health`` section.
    ``file`` is tiers.yaml's settings when the caller has them (else they are read here,
    without pydantic)."""
    dsn = request.dsn
    if dsn is not None and len(request.sources) > 1:
        raise UsageError("a PostgreSQL DSN is read alone: give no other --health input with it")
    if request.since is not None and dsn is None:
        raise UsageError("--since applies to a PostgreSQL DSN (for files, use --max-age)")
    rules, table = read_rules(request, file)
    return ReadPlan(rules, table)


def read_health(
    request: HealthRequest,
    make_fold: Callable[[], F],
    *,
    plan: ReadPlan | None = None,
    stdin: IO[bytes] | None = None,
    sizes: ReadSizes = DEFAULT_SIZES,
    workers: int | None = None,
) -> HealthOutcome[F]:
    """Read the health inputs of ``request`` and fold each node's latest report into
    ``make_fold()`` (called once; while worker processes read, when they do).

    ``plan`` is :func:`plan_read`'s (made here when not given). Raises what
    :func:`plan_read` raises, :class:`~noderr_deploy.errors.InputError` for malformed or
    lost input (unless ``skip_invalid``), and the table reader's errors for a DSN.
    """
    if plan is None:
        plan = plan_read(request)
    dsn = request.dsn
    if dsn is not None:
        return _read_table(request, dsn, plan.table, plan.rules, make_fold)
    read = read_folded(
        list(request.sources),
        make_fold,
        skip_invalid=request.skip_invalid,
        stdin=stdin,
        horizon=request.horizon,
        sizes=sizes,
        rules=plan.rules,
        workers=workers,
    )
    problems = read.problems
    counts = ReadCounts.of(
        read.records,
        read.future,
        problems,
        incomplete_records=problems.incomplete,
        timestamp_unit=UnitTally(problems.seconds, problems.milliseconds).used,
    )
    return HealthOutcome(read.fold, counts, problems, read.warnings)


def read_rules(request: HealthRequest, file: FileSettings | None = None) -> tuple[ReadRules, str]:
    """How records are read, and the table a DSN names: flags over tiers.yaml's ``health``
    section over defaults (columns merged field by field)."""
    from noderr_deploy.health.columns import DEFAULT_TABLE, ColumnError, ColumnMap
    from noderr_deploy.rollback.settings import read_file_settings

    if file is None:
        file, _ = read_file_settings(request.config, full=False)
    health = file.health
    file_columns = health.get("columns")
    try:
        columns = ColumnMap.of(
            file_columns if isinstance(file_columns, dict) else None,
            request.columns,
            origins=("health.columns in tiers.yaml", "--columns"),
        )
    except ColumnError as exc:
        raise UsageError(f"--columns: {exc}") from None
    unit = request.timestamp_unit or health.get("timestamp_unit") or "auto"
    table = health.get("table") or DEFAULT_TABLE
    rules = ReadRules(columns=columns, unit=unit, incomplete=request.incomplete)  # type: ignore[arg-type]
    return rules, str(table)


def _read_table(
    request: HealthRequest,
    dsn: str,
    table: str,
    rules: ReadRules,
    make_fold: Callable[[], F],
) -> HealthOutcome[F]:
    """The latest report per node read from PostgreSQL, folded."""
    from noderr_deploy.health.postgres import DEFAULT_TIMEOUT, TableQuery, read_table

    horizon = request.horizon
    query = TableQuery(
        table=table,
        columns=rules.columns,
        since=request.since,
        horizon=None if horizon == FAR_FUTURE else horizon,
        unit=rules.unit,
        incomplete=rules.incomplete,
        timeout=request.timeout if request.timeout is not None else DEFAULT_TIMEOUT,
    )
    read = read_table(dsn, query)
    problems = read.problems
    check_read(problems, read.records, [read.source], skip_invalid=request.skip_invalid)
    fold = make_fold()
    fold.add(read.latest)
    counts = ReadCounts.of(
        read.records,
        read.future,
        problems,
        incomplete_records=read.incomplete_records,
        timestamp_unit=read.units.used,
    )
    return HealthOutcome(fold, counts, problems)


@dataclass(frozen=True)
class ReadMessages:
    """What to tell the operator about a read, on stderr."""

    skipped: str = ""
    """What was left out, in words (with ``--skip-invalid``); empty when nothing was."""
    problems: list[str] = field(default_factory=list)
    """The first ``file:line: reason`` lines of what was left out."""
    notes: list[str] = field(default_factory=list)
    """Information (future reports left out, nodes not judged)."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice, mixed units)."""


def read_messages(
    request: HealthRequest,
    counts: ReadCounts,
    problems: Problems,
    *,
    incomplete_nodes: int,
    warnings: Iterable[str] = (),
) -> ReadMessages:
    """The notes and warnings of a read (both commands say the same things):
    ``incomplete_nodes`` is how many nodes the command left out as incomplete."""
    notes = []
    if counts.future:
        noun = "report" if counts.future == 1 else "reports"
        notes.append(
            f"left out {counts.future} {noun} stamped after {_iso(request.at)} plus the"
            f" allowed clock skew ({_seconds(request.max_skew)}): a node's clock is ahead"
            " (--max-skew)"
        )
        notes += [f"  {line}" for line in future_lines(problems, counts.future)]
    if incomplete_nodes:
        noun = "node" if incomplete_nodes == 1 else "nodes"
        notes.append(
            f"{incomplete_nodes} {noun} not judged: the report kept lacks cpu, memory or"
            f" errors (--incomplete {request.incomplete})"
        )
    said = list(warnings)
    if counts.timestamp_unit == "mixed":
        said.append(
            "numeric timestamps were read both as seconds and as milliseconds"
            " (--timestamp-unit auto): pass --timestamp-unit s or ms if that is wrong"
        )
    skipped = ""
    if problems.failed:
        skipped = describe(problems) if problems.losses else f"{problems.count} invalid record(s)"
    return ReadMessages(skipped, problems.lines(5), notes, said)


def _iso(moment: datetime) -> str:
    from noderr_deploy.health.stamps import utc
    from noderr_deploy.units import iso

    return iso(utc(moment))


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"
