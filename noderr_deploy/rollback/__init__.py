"""Rollback verdicts: the deployment engine's rules (``verdict``), what a check evaluates
(``settings``: version, plan, thresholds from flags, chain, tiers.yaml, defaults), the one
health read of ``rollback check`` and ``rollout status --health`` (``reading``), the one
core call of ``noderr rollback check`` (``check``), and a cohort's adoption of a version
(``adoption``, for ``rollout status``).

The rules' public names are re-exported here, as they were when this was one module;
``settings`` and ``check`` are imported only by who needs them.
"""

from noderr_deploy.rollback.adoption import CohortAdoption, adoption
from noderr_deploy.rollback.verdict import (
    CohortResult,
    CohortStatus,
    CohortTally,
    PlanInfo,
    ReportCounts,
    RollbackResult,
    Thresholds,
    Verdict,
    evaluate,
    judge_cohort,
    verdict,
)

__all__ = [
    "CohortAdoption",
    "CohortResult",
    "CohortStatus",
    "CohortTally",
    "PlanInfo",
    "ReportCounts",
    "RollbackResult",
    "Thresholds",
    "Verdict",
    "adoption",
    "evaluate",
    "judge_cohort",
    "verdict",
]
