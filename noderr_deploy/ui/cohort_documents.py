"""The documents of ``noderr cohort``: one node's row and the summary (msgspec structs,
encoded by :func:`noderr_deploy.ui.output.to_json`). Imported only where JSON or a
summary is written."""

from __future__ import annotations

from datetime import datetime

import msgspec

from noderr_deploy.cohorts import Assignment, RolloutPlan, phase, schedule
from noderr_deploy.results import UNSET, Document, ScheduleDocument, UnsetType, schedule_documents
from noderr_deploy.units import iso


class CohortRow(Document, frozen=True):
    """One node's row in ``cohort --json`` / ``--format jsonl`` (a stable contract);
    ``activatesAt`` and ``active`` are null without a publish time."""

    node_id: str
    bucket: int
    cohort: str
    activates_at: str | None
    active: bool | None


def row_document(row: Assignment) -> CohortRow:
    """One node's JSON document."""
    return CohortRow(
        row.node_id,
        row.bucket,
        row.cohort,
        iso(row.activates_at) if row.activates_at is not None else None,
        row.active,
    )


class PlanDocument(Document, frozen=True):
    canary_percentage: int
    cohort_percentage: int
    cohort_delay_hours: int


class CohortSummary(Document, frozen=True, kw_only=True):
    """``cohort --summary`` (json, jsonl); the schedule only with a publish time."""

    total: int
    cohorts: dict[str, int]
    percentages: dict[str, float]
    plan: PlanDocument
    warnings: list[str]
    published_at: str | UnsetType = UNSET
    at: str | UnsetType = UNSET
    phase: str | UnsetType = UNSET
    schedule: list[ScheduleDocument] | UnsetType = UNSET


def summary_document(
    counts: dict[str, int],
    plan: RolloutPlan,
    warnings: list[str],
    published_at: datetime | None = None,
    at: datetime | None = None,
) -> CohortSummary:
    """``{"total", "cohorts", "percentages", "plan", "warnings"}``, and the schedule when known."""
    total = sum(counts.values())
    document = CohortSummary(
        total=total,
        cohorts=dict(counts),
        percentages={name: _percent(n, total) for name, n in counts.items()},
        plan=PlanDocument(plan.canary_percentage, plan.cohort_percentage, plan.cohort_delay_hours),
        warnings=list(warnings),
    )
    if published_at is not None and at is not None:
        document = msgspec.structs.replace(
            document,
            published_at=iso(published_at),
            at=iso(at),
            phase=phase(plan, published_at, at),
            schedule=schedule_documents(schedule(plan, published_at, at)),
        )
    return document


def _percent(n: int, total: int) -> float:
    return round(100 * n / total, 2) if total else 0.0
