"""For ``noderr rollout status --health``: how far each cohort has adopted a version."""

from __future__ import annotations

from collections.abc import Mapping

from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket_of_bytes
from noderr_deploy.health.report import HealthReport, status_of
from noderr_deploy.results import Document


class CohortAdoption(Document, frozen=True):
    """For ``rollout status --health``: per cohort, who reports, who runs ``version``, and
    the healthy share of those (``successRate``, ``None`` when none runs it) leaving out the
    ``incomplete`` ones (on the version, their kept report lacking cpu, memory or errors)."""

    cohort: str
    reporting: int
    on_version: int
    healthy: int
    success_rate: float | None
    incomplete: int = 0


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
    rows = [[0, 0, 0, 0] for _ in COHORTS]
    known = buckets or {}
    for node, report in latest.items():
        b = known.get(node)
        if b is None:
            b = bucket_of_bytes(node.encode("utf-8"))
        row = rows[index[table[b]]]
        row[0] += 1
        if report.version == version:
            row[1] += 1
            if report.incomplete:
                row[3] += 1  # not judged: left out of the success rate
            elif status_of(report) == "healthy":
                row[2] += 1
    return [
        CohortAdoption(
            cohort=name,
            reporting=r[0],
            on_version=r[1],
            healthy=r[2],
            success_rate=r[2] / (r[1] - r[3]) if r[1] - r[3] else None,
            incomplete=r[3],
        )
        for name, r in zip(COHORTS, rows, strict=True)
    ]
