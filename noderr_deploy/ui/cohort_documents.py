"""The documents of ``noderr cohort``: one node's row and the summary (msgspec structs,
encoded by :func:`noderr_deploy.ui.output.to_json`), converted from what the core computed
(:func:`noderr_deploy.chain.cohort.run_cohort`). Imported only where JSON or a summary is
written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from noderr_deploy.cohorts import Assignment
from noderr_deploy.results import UNSET, Document, ScheduleDocument, UnsetType, schedule_documents
from noderr_deploy.units import iso

if TYPE_CHECKING:
    from noderr_deploy.chain.cohort import CohortResult


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


def summary_document(result: CohortResult) -> CohortSummary:
    """``{"total", "cohorts", "percentages", "plan", "warnings"}`` of a summary, and the
    schedule when the publish time is known."""
    assert result.counts is not None and result.shares is not None  # a summary was asked for
    plan = result.source.plan
    document = CohortSummary(
        total=sum(result.counts.values()),
        cohorts=dict(result.counts),
        percentages=dict(result.shares),
        plan=PlanDocument(plan.canary_percentage, plan.cohort_percentage, plan.cohort_delay_hours),
        warnings=list(result.warnings),
    )
    published = result.source.published_at
    if published is not None and result.phase is not None and result.schedule is not None:
        document = msgspec.structs.replace(
            document,
            published_at=iso(published),
            at=iso(result.at),
            phase=result.phase,
            schedule=schedule_documents(result.schedule),
        )
    return document
