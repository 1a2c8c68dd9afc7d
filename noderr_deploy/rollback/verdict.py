"""Rollback verdicts from health reports: the deployment engine's rules, made explicit.

1. The latest report per node wins (by timestamp; a tie goes to the later record read):
   :func:`noderr_deploy.health.latest.latest_per_node`. Reports stamped after ``at`` plus
   the allowed clock skew are not used: they are counted as ``future``.
2. A node whose latest report is older than ``at - max_age`` is stale: left out, counted.
3. Only nodes on the version under evaluation count; the others are ``otherVersion``.
   A node whose kept report lacks cpu, memory or errors is ``incomplete``: counted, never
   judged (:mod:`noderr_deploy.health.incomplete`).
4. A node's cohort comes from its id and the rollout plan (:mod:`noderr_deploy.cohorts`).
5. Status: the report's ``healthStatus``, else derived from metrics
   (:func:`noderr_deploy.health.report.derived_status`).
6. Per cohort: nodes, healthy, degraded, unhealthy, ``unhealthyRatio = unhealthy / nodes``,
   ``errorRate = total errors / nodes`` (mean errors per node, the engine's definition).
7. A cohort with fewer than ``min_nodes`` nodes is ``insufficient`` and cannot trigger;
   otherwise it triggers when ``unhealthyRatio > unhealthy`` or ``errorRate > error_rate``
   (both strictly greater).
8. Verdict: ``rollback`` if any cohort triggers, else ``ok`` if at least one cohort was
   judged, else ``inconclusive``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from msgspec.structs import force_setattr

from noderr_deploy.cohorts import COHORTS, RolloutPlan, buckets_of
from noderr_deploy.config.thresholds import (
    DEFAULT_ERROR_RATE,
    DEFAULT_MIN_NODES,
    DEFAULT_UNHEALTHY,
    error_rate_problem,
    min_nodes_problem,
    unhealthy_problem,
)
from noderr_deploy.health.report import HealthReport, derived_status
from noderr_deploy.health.stamps import utc
from noderr_deploy.results import Document
from noderr_deploy.rollback.numbers import exceeds
from noderr_deploy.units import iso

Verdict = Literal["ok", "rollback", "inconclusive"]
CohortStatus = Literal["ok", "rollback", "insufficient"]


def _as_float(struct: msgspec.Struct, *names: str) -> None:
    # pydantic turned 24 into 24.0 on a float field; the JSON contract shows 24.0, so the
    # structs do the same, whether the value came from a flag, tiers.yaml or a caller.
    # -0.0 (tiers.yaml `-0.0`, a caller) is 0.0 too: one spelling of zero, never "-0.0%".
    for name in names:
        value = getattr(struct, name)
        if type(value) is int or value == 0:
            force_setattr(struct, name, float(value) + 0.0)


# The results are documents (noderr_deploy.results.Document, msgspec structs): not pydantic
# models, so that `noderr rollback check` starts without importing pydantic.


class Thresholds(Document, frozen=True):
    """When a cohort triggers a rollback (defaults: tiers.yaml's ``rollback`` section).

    Out-of-range values raise :class:`ValueError` (the rules of
    :mod:`noderr_deploy.config.thresholds`, as for tiers.yaml).
    """

    unhealthy_ratio: float = DEFAULT_UNHEALTHY
    error_rate: float = DEFAULT_ERROR_RATE
    min_nodes: int = DEFAULT_MIN_NODES

    def __post_init__(self) -> None:
        problems = [
            f"{name}: {problem}"
            for name, problem in (
                ("unhealthy_ratio", unhealthy_problem(self.unhealthy_ratio)),
                ("error_rate", error_rate_problem(self.error_rate)),
                ("min_nodes", min_nodes_problem(self.min_nodes)),
            )
            if problem
        ]
        if problems:
            raise ValueError("; ".join(problems))
        _as_float(self, "unhealthy_ratio", "error_rate")


class CohortResult(Document, frozen=True):
    """One cohort's numbers and status. Ratios are ``None`` for a cohort with no nodes."""

    cohort: str
    nodes: int
    healthy: int
    degraded: int
    unhealthy: int
    unhealthy_ratio: float | None
    error_rate: float | None
    status: CohortStatus
    reasons: list[str]


class ReportCounts(Document, frozen=True):
    """``records`` valid records read, ``invalid`` malformed ones skipped; ``nodes``
    distinct nodes, of which ``stale`` were too old and ``otherVersion`` ran another
    version (the rest were judged, in the cohorts). ``future`` valid records were stamped
    after ``at`` plus the allowed clock skew and not used. ``lostBytes`` of input could not
    be read at all (a cut-off gzip stream, a stray CSV quote), holding at least
    ``lostRecords`` records. ``incomplete`` nodes (on the version) were not judged: the
    report kept for them lacks cpu, memory or errors; ``incompleteRecords`` valid records
    lacked one. ``timestampUnit`` is how numeric timestamps were read: ``s``, ``ms``,
    ``mixed`` (both, by the ``auto`` rule), or ``null`` when none was a number."""

    records: int
    invalid: int
    nodes: int
    stale: int
    other_version: int
    future: int = 0
    lost_bytes: int = 0
    lost_records: int = 0
    incomplete: int = 0
    incomplete_records: int = 0
    timestamp_unit: str | None = None


class PlanInfo(Document, frozen=True):
    canary_percentage: int
    cohort_percentage: int
    cohort_delay_hours: int
    """Whole hours, as the VersionBeacon stores them: an integer in every JSON document."""


class RollbackResult(Document, frozen=True):
    """The ``--json`` document of ``noderr rollback check`` (a stable contract)."""

    verdict: Verdict
    tier: str | None
    version: str
    at: str
    plan: PlanInfo
    thresholds: Thresholds
    reports: ReportCounts
    cohorts: list[CohortResult]

    @property
    def triggered(self) -> list[CohortResult]:
        return [c for c in self.cohorts if c.status == "rollback"]


def judge_cohort(
    cohort: str,
    *,
    nodes: int,
    healthy: int,
    degraded: int,
    unhealthy: int,
    errors: float,
    thresholds: Thresholds,
) -> CohortResult:
    """Rules 6 and 7 for one cohort."""
    ratio = unhealthy / nodes if nodes else None
    rate = errors / nodes if nodes else None
    reasons: list[str] = []
    status: CohortStatus
    if nodes < thresholds.min_nodes:
        status = "insufficient"
        noun = "node" if nodes == 1 else "nodes"
        reasons.append(f"{nodes} {noun} < min {thresholds.min_nodes}")
    else:
        assert ratio is not None and rate is not None
        if ratio > thresholds.unhealthy_ratio:
            reasons.append(f"unhealthy {exceeds(ratio, thresholds.unhealthy_ratio, 'percent')}")
        if rate > thresholds.error_rate:
            reasons.append(f"error rate {exceeds(rate, thresholds.error_rate)}")
        status = "rollback" if reasons else "ok"
    return CohortResult(
        cohort=cohort,
        nodes=nodes,
        healthy=healthy,
        degraded=degraded,
        unhealthy=unhealthy,
        unhealthy_ratio=ratio,
        error_rate=rate,
        status=status,
        reasons=reasons,
    )


@dataclass
class CohortTally:
    """Rules 2-6 folded over the latest report of each node: the numbers per cohort.

    Made where the settings are known (:meth:`for_plan`), then fed node by node with
    :meth:`add`. It is small and picklable: the parallel reader sends it to its worker
    process, which folds the nodes it owns, and the partial tallies :meth:`combine`.

    Errors are kept as the non-zero values and summed with :func:`math.fsum` (correctly
    rounded): the total then does not depend on which process saw which node, where a
    running sum would differ in the last bit with the order of the additions.
    """

    slot: tuple[int, ...]
    """The cohort index (in :data:`COHORTS`) of each bucket 0..99."""
    version: str
    cutoff: datetime | None
    """Nodes whose latest report is older than this are stale."""
    nodes: int = 0
    stale: int = 0
    other_version: int = 0
    incomplete: int = 0
    """Nodes on the version whose kept report lacks a metric the rule needs: not judged."""
    counts: list[list[int]] = field(default_factory=lambda: [[0, 0, 0, 0] for _ in COHORTS])
    """Per cohort: nodes, healthy, degraded, unhealthy."""
    errors: list[list[float]] = field(default_factory=lambda: [[] for _ in COHORTS])
    known: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Buckets computed ahead by :meth:`prepare`, used up by the next :meth:`add`."""

    @classmethod
    def for_plan(
        cls, plan: RolloutPlan, version: str, at: datetime, max_age: timedelta | None = None
    ) -> CohortTally:
        index = {name: i for i, name in enumerate(COHORTS)}
        cutoff = None
        if max_age is not None:
            try:
                cutoff = utc(at) - max_age
            except OverflowError:  # older than any datetime: no report is that old
                cutoff = None
        return cls(tuple(index[c] for c in plan.cohort_table()), version, cutoff)

    def prepare(self, nodes: Iterable[str]) -> None:
        """Compute the buckets of these node ids ahead (keccak is most of :meth:`add`)."""
        ids = list(nodes)
        self.known = dict(zip(ids, buckets_of(n.encode("utf-8") for n in ids), strict=True))

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        """Fold in the latest report of each of these nodes (each node once, overall)."""
        cutoff, version = self.cutoff, self.version
        judged: list[HealthReport] = []
        names: list[str] = []
        for node, report in latest.items():
            if cutoff is not None and utc(report.timestamp) < cutoff:
                self.stale += 1
            elif report.version != version:
                self.other_version += 1
            elif report.incomplete:
                self.incomplete += 1
            else:
                judged.append(report)
                names.append(node)
        self.nodes += len(latest)
        column = {"healthy": 1, "degraded": 2, "unhealthy": 3}
        slot, counts, errors = self.slot, self.counts, self.errors
        # This loop runs once per node of a large fleet, hence the local names.
        for report, b in zip(judged, self._buckets(names), strict=True):
            k = slot[b]
            row = counts[k]
            row[0] += 1
            row[column[report.health_status or derived_status(report.metrics)]] += 1
            if report.metrics.errors:
                errors[k].append(report.metrics.errors)

    def _buckets(self, names: list[str]) -> Sequence[int]:
        """The bucket of each node id: from :meth:`prepare`, else computed now."""
        known, self.known = self.known, {}
        if not known:
            return buckets_of(n.encode("utf-8") for n in names)
        missing = [n for n in names if n not in known]
        known.update(zip(missing, buckets_of(n.encode("utf-8") for n in missing), strict=True))
        return [known[n] for n in names]

    def combine(self, other: CohortTally) -> None:
        """Add the tally of other nodes (folded with the same settings)."""
        self.nodes += other.nodes
        self.stale += other.stale
        self.incomplete += other.incomplete
        self.other_version += other.other_version
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            for i, value in enumerate(theirs):
                mine[i] += value
        for kept, more in zip(self.errors, other.errors, strict=True):
            kept.extend(more)


def verdict(
    tally: CohortTally,
    *,
    plan: RolloutPlan,
    thresholds: Thresholds,
    at: datetime,
    tier: str | None = None,
    records: int | None = None,
    invalid: int = 0,
    future: int = 0,
    lost_bytes: int = 0,
    lost_records: int = 0,
    incomplete_records: int = 0,
    timestamp_unit: str | None = None,
) -> RollbackResult:
    """Rules 7 and 8 over a tally: each cohort's status, and the verdict.

    ``records``/``invalid``/``future``/``lost_*`` are what the reader counted (default:
    one record per node, nothing else). Error totals beyond a float raise
    :class:`~noderr_deploy.errors.InputError`: no rate can be given for them.
    """
    cohorts = [
        judge_cohort(
            name,
            nodes=tally.counts[i][0],
            healthy=tally.counts[i][1],
            degraded=tally.counts[i][2],
            unhealthy=tally.counts[i][3],
            errors=_total(name, tally.errors[i]),
            thresholds=thresholds,
        )
        for i, name in enumerate(COHORTS)
    ]
    outcome: Verdict
    if any(c.status == "rollback" for c in cohorts):
        outcome = "rollback"
    elif any(c.status == "ok" for c in cohorts):
        outcome = "ok"
    else:
        outcome = "inconclusive"
    return RollbackResult(
        verdict=outcome,
        tier=tier,
        version=tally.version,
        at=iso(utc(at)),
        plan=PlanInfo(
            canary_percentage=plan.canary_percentage,
            cohort_percentage=plan.cohort_percentage,
            cohort_delay_hours=plan.cohort_delay_hours,
        ),
        thresholds=thresholds,
        reports=ReportCounts(
            records=tally.nodes if records is None else records,
            invalid=invalid,
            nodes=tally.nodes,
            stale=tally.stale,
            other_version=tally.other_version,
            future=future,
            lost_bytes=lost_bytes,
            lost_records=lost_records,
            incomplete=tally.incomplete,
            incomplete_records=incomplete_records,
            timestamp_unit=timestamp_unit,
        ),
        cohorts=cohorts,
    )


def _total(cohort: str, errors: list[float]) -> float:
    try:
        total = math.fsum(errors)
    except OverflowError:
        total = math.inf
    if math.isinf(total):
        from noderr_deploy.errors import InputError

        raise InputError(
            f"the error counts of cohort {cohort} add up to more than a float holds"
            " (1.8e308): no error rate can be computed from these reports"
        )
    return total


def evaluate(
    latest: Mapping[str, HealthReport],
    *,
    plan: RolloutPlan,
    thresholds: Thresholds,
    version: str,
    at: datetime,
    max_age: timedelta | None = None,
    tier: str | None = None,
    records: int | None = None,
    invalid: int = 0,
) -> RollbackResult:
    """Rules 2-8 over the latest report per node (rule 1 is :func:`latest_per_node`).

    ``records``/``invalid`` are what the reader counted (default: one record per node).
    """
    tally = CohortTally.for_plan(plan, version, at, max_age)
    tally.add(latest)
    return verdict(
        tally, plan=plan, thresholds=thresholds, at=at, tier=tier, records=records, invalid=invalid
    )
