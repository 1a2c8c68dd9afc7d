"""Rollback verdicts from health reports: the deployment engine's rules, made explicit.

1. The latest report per node wins (by timestamp; a tie goes to the later record read):
   :func:`noderr_deploy.health.latest_per_node`.
2. A node whose latest report is older than ``at - max_age`` is stale: left out, counted.
3. Only nodes on the version under evaluation count; the others are ``otherVersion``.
4. A node's cohort comes from its id and the rollout plan (:mod:`noderr_deploy.cohorts`).
5. Status: the report's ``healthStatus``, else derived from metrics
   (:func:`noderr_deploy.health.derived_status`).
6. Per cohort: nodes, healthy, degraded, unhealthy, ``unhealthyRatio = unhealthy / nodes``,
   ``errorRate = total errors / nodes`` (mean errors per node, the engine's definition).
7. A cohort with fewer than ``min_nodes`` nodes is ``insufficient`` and cannot trigger;
   otherwise it triggers when ``unhealthyRatio > unhealthy`` or ``errorRate > error_rate``
   (both strictly greater).
8. Verdict: ``rollback`` if any cohort triggers, else ``ok`` if at least one cohort was
   judged, else ``inconclusive``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from msgspec.structs import force_setattr

from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket_of_bytes, keccak256
from noderr_deploy.health import HealthReport, derived_status, status_of, utc
from noderr_deploy.thresholds import (
    DEFAULT_ERROR_RATE,
    DEFAULT_MIN_NODES,
    DEFAULT_UNHEALTHY,
    error_rate_problem,
    min_nodes_problem,
    unhealthy_problem,
)
from noderr_deploy.units import iso

Verdict = Literal["ok", "rollback", "inconclusive"]
CohortStatus = Literal["ok", "rollback", "insufficient"]


class _Model(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """The results: msgspec structs, not pydantic models, so that ``noderr rollback check``
    starts without importing pydantic. Serialised by :func:`noderr_deploy.output.to_json`
    (camelCase keys, in field order). They hold no reference cycles, hence ``gc=False``.
    msgspec checks neither types nor values on construction (mypy checks the types; the
    few value rules are in ``__post_init__``). Each subclass repeats ``frozen=True``, which
    msgspec inherits but mypy's dataclass rules ask to see."""


def _as_float(struct: msgspec.Struct, *names: str) -> None:
    # pydantic turned 24 into 24.0 on a float field; the JSON contract shows 24.0, so the
    # structs do the same, whether the value came from a flag, tiers.yaml or a caller.
    for name in names:
        value = getattr(struct, name)
        if type(value) is int:
            force_setattr(struct, name, float(value))


class Thresholds(_Model, frozen=True):
    """When a cohort triggers a rollback (defaults: tiers.yaml's ``rollback`` section).

    Out-of-range values raise :class:`ValueError` (the rules of
    :mod:`noderr_deploy.thresholds`, as for tiers.yaml).
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


class CohortResult(_Model, frozen=True):
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


class ReportCounts(_Model, frozen=True):
    """``records`` valid records read, ``invalid`` skipped; ``nodes`` distinct nodes, of
    which ``stale`` were too old and ``otherVersion`` ran another version (the rest were
    judged, in the cohorts)."""

    records: int
    invalid: int
    nodes: int
    stale: int
    other_version: int


class PlanInfo(_Model, frozen=True):
    canary_percentage: int
    cohort_percentage: int
    cohort_delay_hours: float

    def __post_init__(self) -> None:
        _as_float(self, "cohort_delay_hours")


class RollbackResult(_Model, frozen=True):
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


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.2f}"


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
            reasons.append(f"unhealthy {_percent(ratio)} > {_percent(thresholds.unhealthy_ratio)}")
        if rate > thresholds.error_rate:
            reasons.append(f"error rate {_number(rate)} > {_number(thresholds.error_rate)}")
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
    buckets: Mapping[str, int] | None = None,
) -> RollbackResult:
    """Rules 2-8 over the latest report per node (rule 1 is :func:`latest_per_node`).

    ``records``/``invalid`` are what the reader counted (default: one record per node);
    ``buckets`` holds node buckets already computed (the rest are computed here).
    """
    cutoff = utc(at) - max_age if max_age is not None else None
    table = plan.cohort_table()
    index = {name: i for i, name in enumerate(COHORTS)}
    slot = [index[table[b]] for b in range(100)]  # bucket -> cohort index
    counts = [[0, 0, 0, 0] for _ in COHORTS]  # nodes, healthy, degraded, unhealthy
    errors = [0.0 for _ in COHORTS]
    column = {"healthy": 1, "degraded": 2, "unhealthy": 3}
    stale = other = 0
    # One pass over the nodes; this loop runs 100,000 times for a large fleet, hence the
    # local names.
    from_bytes = int.from_bytes
    known = buckets or {}
    for node, report in latest.items():
        if cutoff is not None and utc(report.timestamp) < cutoff:
            stale += 1
            continue
        if report.version != version:
            other += 1
            continue
        b = known.get(node)
        if b is None:
            b = from_bytes(keccak256(node.encode("utf-8")), "big") % 100
        k = slot[b]
        row = counts[k]
        row[0] += 1
        row[column[report.health_status or derived_status(report.metrics)]] += 1
        errors[k] += report.metrics.errors
    cohorts = [
        judge_cohort(
            name,
            nodes=counts[i][0],
            healthy=counts[i][1],
            degraded=counts[i][2],
            unhealthy=counts[i][3],
            errors=errors[i],
            thresholds=thresholds,
        )
        for i, name in enumerate(COHORTS)
    ]
    if any(c.status == "rollback" for c in cohorts):
        verdict: Verdict = "rollback"
    elif any(c.status == "ok" for c in cohorts):
        verdict = "ok"
    else:
        verdict = "inconclusive"
    return RollbackResult(
        verdict=verdict,
        tier=tier,
        version=version,
        at=iso(utc(at)),
        plan=PlanInfo(
            canary_percentage=plan.canary_percentage,
            cohort_percentage=plan.cohort_percentage,
            cohort_delay_hours=plan.cohort_delay_hours,
        ),
        thresholds=thresholds,
        reports=ReportCounts(
            records=len(latest) if records is None else records,
            invalid=invalid,
            nodes=len(latest),
            stale=stale,
            other_version=other,
        ),
        cohorts=cohorts,
    )


class CohortAdoption(_Model, frozen=True):
    """For ``rollout status --health``: per cohort, who reports, who runs ``version``, and
    the healthy share of those (``successRate``, ``None`` when none runs it)."""

    cohort: str
    reporting: int
    on_version: int
    healthy: int
    success_rate: float | None


def adoption(
    latest: Mapping[str, HealthReport],
    *,
    plan: RolloutPlan,
    version: str,
    buckets: Mapping[str, int] | None = None,
) -> list[CohortAdoption]:
    """Per cohort: nodes reporting, nodes on ``version``, and their success rate.

    ``buckets`` holds node buckets already computed (the rest are computed here).
    """
    table = plan.cohort_table()
    index = {name: i for i, name in enumerate(COHORTS)}
    rows = [[0, 0, 0] for _ in COHORTS]
    known = buckets or {}
    for node, report in latest.items():
        b = known.get(node)
        if b is None:
            b = bucket_of_bytes(node.encode("utf-8"))
        row = rows[index[table[b]]]
        row[0] += 1
        if report.version == version:
            row[1] += 1
            if status_of(report) == "healthy":
                row[2] += 1
    return [
        CohortAdoption(
            cohort=name,
            reporting=r[0],
            on_version=r[1],
            healthy=r[2],
            success_rate=r[2] / r[1] if r[1] else None,
        )
        for name, r in zip(COHORTS, rows, strict=True)
    ]
