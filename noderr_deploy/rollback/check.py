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
from functools import partial
from typing import IO

from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.sizes import DEFAULT_SIZES, ReadSizes
from noderr_deploy.rollback.reading import (
    DEFAULT_MAX_SKEW,
    HealthRequest,
    plan_read,
    read_health,
    read_messages,
)
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

__all__ = ["DEFAULT_MAX_SKEW", "CheckOutcome", "CheckRequest", "HealthRequest", "run_check"]


@dataclass(frozen=True)
class CheckRequest:
    """What to check: the health read (shared with ``rollout status --health``), then what
    is evaluated, as the flags (or a caller) gave it; ``None`` means "not given" (the
    environment, tiers.yaml or a default decides)."""

    health: HealthRequest
    version: str | None
    tier: str | None = None
    canary: int | None = None
    cohort_size: int | None = None
    unhealthy_threshold: float | None = None
    error_rate_threshold: float | None = None
    min_nodes: int | None = None
    plan_names: Mapping[str, str] = field(default_factory=dict)
    """How ``canary`` and ``cohort_size`` were given, by tiers.yaml key (their flag, or
    the variable their value came from), for messages."""


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
    """Read the health inputs of ``request`` (:func:`~noderr_deploy.rollback.reading.read_health`)
    and judge every cohort.

    Raises :class:`~noderr_deploy.errors.UsageError` for bad settings,
    :class:`~noderr_deploy.errors.InputError` for malformed or lost input (unless
    ``skip_invalid``), and whatever ``read_chain`` raises (with ``tier``).
    """
    require_version(request.version, request.tier)
    plan = plan_read(request.health)  # bad options fail before the chain is asked
    early = resolve_settings(request, read_chain) if request.tier is not None else None
    read = read_health(
        request.health,
        partial(_fold, request, early),
        plan=plan,
        stdin=stdin,
        sizes=sizes,
        workers=workers,
    )
    settings = read.fold.settings
    counts = read.counts
    result = verdict(
        read.fold.tally,
        plan=settings.target.plan,
        thresholds=settings.thresholds,
        at=request.health.at,
        tier=settings.target.tier,
        records=counts.records,
        invalid=counts.invalid,
        future=counts.future,
        lost_bytes=counts.lost_bytes,
        lost_records=counts.lost_records,
        incomplete_records=counts.incomplete_records,
        timestamp_unit=counts.timestamp_unit,
    )
    said = read_messages(
        request.health,
        counts,
        read.problems,
        incomplete_nodes=result.reports.incomplete,
        warnings=read.warnings,
    )
    return CheckOutcome(
        result,
        skipped=said.skipped,
        problems=said.problems,
        notes=[settings.note, *said.notes] if settings.note else said.notes,
        warnings=said.warnings,
    )


def _fold(request: CheckRequest, early: Settings | None) -> VerdictFold:
    settings = early if early is not None else resolve_settings(request, None)
    target = settings.target
    health = request.health
    tally = CohortTally.for_plan(target.plan, target.version, health.at, health.max_age)
    return VerdictFold(settings, tally)


def resolve_settings(request: CheckRequest, read_chain: ChainReader | None) -> Settings:
    """The version, plan and thresholds of ``request``, each from the first source that
    has it. Without ``tier`` only tiers.yaml's rollout and rollback sections are read,
    without pydantic; ``tier`` needs the whole file (tiers, beacon settings) and the
    chain."""
    file, cfg = read_file_settings(request.health.config, full=request.tier is not None)
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
        plan_names=request.plan_names,
    )
    thresholds = resolve_thresholds(
        file, request.unhealthy_threshold, request.error_rate_threshold, request.min_nodes
    )
    return Settings(target, thresholds, chain.note if chain is not None else "")


def _given(chain: ChainRead, tier: str) -> ChainRead:
    return chain
