"""The one core call of ``noderr rollback check``: a :class:`CheckRequest` in, a
:class:`CheckOutcome` out (:func:`run_check`).

What the command used to arrange is decided here, once: the settings (flag > environment
> tiers.yaml > default; with ``--tier`` the VersionBeacon's plan) are resolved while the
reader's worker processes read, or, with ``--tier``, before reading (an unreachable RPC
fails before a large export is read); the reader itself decides whether to fork. The
chain is above this layer: it comes in as a :data:`~noderr_deploy.rollback.settings.ChainReader`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO

from noderr_deploy.errors import UsageError
from noderr_deploy.health.incomplete import IncompletePolicy
from noderr_deploy.health.model import FAR_FUTURE, HealthReport, Problems
from noderr_deploy.health.read import check_read, describe, read_folded
from noderr_deploy.health.rules import ReadRules
from noderr_deploy.health.sizes import DEFAULT_SIZES, ReadSizes
from noderr_deploy.health.stamps import TimestampUnit, UnitTally
from noderr_deploy.rollback.settings import (
    ChainRead,
    ChainReader,
    Target,
    read_file_settings,
    require_version,
    resolve_target,
    resolve_thresholds,
)
from noderr_deploy.rollback.verdict import CohortTally, RollbackResult, Thresholds, verdict

DEFAULT_MAX_SKEW = timedelta(minutes=5)
"""How far ahead of ``--at`` a node's clock may be before its reports count as future."""


@dataclass(frozen=True)
class CheckRequest:
    """What to check, as the flags (or a caller) gave it; ``None`` means "not given" (the
    environment, tiers.yaml or a default decides)."""

    sources: tuple[str | Path, ...]
    version: str | None
    at: datetime
    tier: str | None = None
    max_age: timedelta | None = None
    max_skew: timedelta = DEFAULT_MAX_SKEW
    canary: int | None = None
    cohort_size: int | None = None
    unhealthy_threshold: float | None = None
    error_rate_threshold: float | None = None
    min_nodes: int | None = None
    skip_invalid: bool = False
    config: Path | None = None
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


@dataclass(frozen=True)
class Settings:
    """What is evaluated (version, tier, plan) and against which thresholds."""

    target: Target
    thresholds: Thresholds
    note: str = ""
    """Where the chain was read, with ``--tier``."""


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict, and what to tell the operator besides."""

    result: RollbackResult
    skipped: str = ""
    """What was left out, in words (with ``--skip-invalid``); empty when nothing was."""
    problems: list[str] = field(default_factory=list)
    """The first ``file:line: reason`` lines of what was left out."""
    notes: list[str] = field(default_factory=list)
    """Information (where the chain was read, future reports left out)."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice)."""


@dataclass
class VerdictFold:
    """The rollback tally of the nodes, with the settings it was made for: the reader
    makes it (possibly while its workers read) and hands it back, settings included."""

    settings: Settings
    tally: CohortTally

    def prepare(self, nodes: Iterable[str]) -> None:
        self.tally.prepare(nodes)

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        self.tally.add(latest)

    def combine(self, other: VerdictFold) -> None:
        self.tally.combine(other.tally)


def run_check(
    request: CheckRequest,
    *,
    read_chain: ChainReader | None = None,
    stdin: IO[bytes] | None = None,
    sizes: ReadSizes = DEFAULT_SIZES,
    workers: int | None = None,
) -> CheckOutcome:
    """Read the health exports of ``request`` and judge every cohort.

    Raises :class:`~noderr_deploy.errors.UsageError` for bad settings,
    :class:`~noderr_deploy.errors.InputError` for malformed or lost input (unless
    ``skip_invalid``), and whatever ``read_chain`` raises (with ``tier``).
    """
    require_version(request.version, request.tier)
    from noderr_deploy.health.postgres import is_dsn

    dsns = [s for s in request.sources if isinstance(s, str) and is_dsn(s)]
    if dsns and len(request.sources) > 1:
        raise UsageError("a PostgreSQL DSN is read alone: give no other --health input with it")
    if request.since is not None and not dsns:
        raise UsageError("--since applies to a PostgreSQL DSN (for files, use --max-age)")
    rules, table = read_rules(request)
    early = resolve_settings(request, read_chain) if request.tier is not None else None
    if dsns:
        return _check_table(request, dsns[0], table, rules, early)
    read = read_folded(
        list(request.sources),
        partial(_fold, request, early),
        skip_invalid=request.skip_invalid,
        stdin=stdin,
        horizon=request.horizon,
        sizes=sizes,
        rules=rules,
        workers=workers,
    )
    settings = read.fold.settings
    problems = read.problems
    result = verdict(
        read.fold.tally,
        plan=settings.target.plan,
        thresholds=settings.thresholds,
        at=request.at,
        tier=settings.target.tier,
        records=read.records,
        invalid=problems.count,
        future=read.future,
        lost_bytes=problems.lost_bytes,
        lost_records=problems.lost_records,
        incomplete_records=problems.incomplete,
        timestamp_unit=UnitTally(problems.seconds, problems.milliseconds).used,
    )
    return _outcome(request, settings, result, problems, future=read.future, warnings=read.warnings)


def _outcome(
    request: CheckRequest,
    settings: Settings,
    result: RollbackResult,
    problems: Problems,
    *,
    future: int,
    warnings: list[str],
) -> CheckOutcome:
    notes = [settings.note] if settings.note else []
    if future:
        noun = "report" if future == 1 else "reports"
        notes.append(
            f"left out {future} {noun} stamped after {result.at} plus the allowed clock"
            f" skew ({_seconds(request.max_skew)}): a node's clock is ahead (--max-skew)"
        )
    counts = result.reports
    if counts.incomplete:
        noun = "node" if counts.incomplete == 1 else "nodes"
        notes.append(
            f"{counts.incomplete} {noun} not judged: the report kept lacks cpu, memory or"
            f" errors (--incomplete {request.incomplete})"
        )
    if counts.timestamp_unit == "mixed":
        warnings = [
            *warnings,
            "numeric timestamps were read both as seconds and as milliseconds"
            " (--timestamp-unit auto): pass --timestamp-unit s or ms if that is wrong",
        ]
    return CheckOutcome(
        result,
        skipped=_skipped(problems),
        problems=problems.lines(5),
        notes=notes,
        warnings=warnings,
    )


def read_rules(request: CheckRequest) -> tuple[ReadRules, str]:
    """How records are read, and the table a DSN names: flags over tiers.yaml's ``health``
    section over defaults (columns merged field by field)."""
    from noderr_deploy.health.columns import DEFAULT_TABLE, ColumnError, ColumnMap

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


def _check_table(
    request: CheckRequest, dsn: str, table: str, rules: ReadRules, early: Settings | None
) -> CheckOutcome:
    """The check with the latest report per node read from PostgreSQL."""
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
    fold = _fold(request, early)
    fold.add(read.latest)
    settings = fold.settings
    result = verdict(
        fold.tally,
        plan=settings.target.plan,
        thresholds=settings.thresholds,
        at=request.at,
        tier=settings.target.tier,
        records=read.records,
        invalid=problems.count,
        future=read.future,
        incomplete_records=read.incomplete_records,
        timestamp_unit=read.units.used,
    )
    return _outcome(request, settings, result, problems, future=read.future, warnings=[])


def _skipped(problems: Problems) -> str:
    if not problems.failed:
        return ""
    if not problems.losses:
        return f"{problems.count} invalid record(s)"
    return describe(problems)


def _fold(request: CheckRequest, early: Settings | None) -> VerdictFold:
    settings = early if early is not None else resolve_settings(request, None)
    target = settings.target
    tally = CohortTally.for_plan(target.plan, target.version, request.at, request.max_age)
    return VerdictFold(settings, tally)


def resolve_settings(request: CheckRequest, read_chain: ChainReader | None) -> Settings:
    """The version, plan and thresholds of ``request``, each from the first source that
    has it. Without ``tier`` only tiers.yaml's rollout and rollback sections are read,
    without pydantic; ``tier`` needs the whole file (tiers, beacon settings) and the
    chain."""
    file, cfg = read_file_settings(request.config, full=request.tier is not None)
    chain: ChainRead | None = None
    if request.tier is not None and read_chain is not None:
        chain = read_chain(cfg, request.tier)
    target = resolve_target(
        request.version,
        request.tier,
        file,
        request.canary,
        request.cohort_size,
        read_chain=None if chain is None else partial(_given, chain),
    )
    thresholds = resolve_thresholds(
        file, request.unhealthy_threshold, request.error_rate_threshold, request.min_nodes
    )
    return Settings(target, thresholds, chain.note if chain is not None else "")


def _given(chain: ChainRead, tier: str) -> ChainRead:
    return chain


def _seconds(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:g}s"
