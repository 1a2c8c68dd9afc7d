"""The rollback thresholds' defaults and allowed ranges, written down once.

Shared by tiers.yaml's ``rollback`` section (:class:`noderr_deploy.config.models.RollbackSettings`),
its pydantic-free reader (:func:`noderr_deploy.config.sections.read_settings`) and the verdict's
:class:`noderr_deploy.rollback.Thresholds`, so that the three accept the same values. This
module imports nothing: ``noderr cohort`` and ``noderr rollback check`` start without pydantic.

The messages are worded as pydantic's own range errors were when the model checked the
ranges itself, so a bad tiers.yaml reads the same whichever path reports it.
"""

from __future__ import annotations

DEFAULT_UNHEALTHY = 0.10
"""A cohort triggers when its unhealthy share is above this."""
DEFAULT_ERROR_RATE = 0.05
"""A cohort triggers when its mean errors per node is above this."""
DEFAULT_MIN_NODES = 1
"""A cohort with fewer nodes is ``insufficient`` and cannot trigger."""

ROLLBACK_KEYS = ("unhealthy_threshold", "error_rate_threshold", "min_nodes")
"""The thresholds' keys as tiers.yaml spells them."""


# Each test is written `not (value within range)` so that NaN, which compares false with
# everything, is rejected too.
def unhealthy_problem(value: float) -> str | None:
    """Why ``value`` cannot be the unhealthy-share threshold (None when it can)."""
    if not value <= 1:
        return "Input should be less than or equal to 1"
    if not value >= 0:
        return "Input should be greater than or equal to 0"
    return None


def error_rate_problem(value: float) -> str | None:
    """Why ``value`` cannot be the error-rate threshold (None when it can)."""
    if not value >= 0:
        return "Input should be greater than or equal to 0"
    return None


def min_nodes_problem(value: int) -> str | None:
    """Why ``value`` cannot be the minimum number of nodes per cohort (None when it can)."""
    if not value >= 1:
        return "Input should be greater than or equal to 1"
    return None


def threshold_problems(
    unhealthy: float, error_rate: float, min_nodes: int
) -> list[tuple[str, str]]:
    """Every problem of a set of thresholds as ``(tiers.yaml key, message)``."""
    found = (
        unhealthy_problem(unhealthy),
        error_rate_problem(error_rate),
        min_nodes_problem(min_nodes),
    )
    return [(key, problem) for key, problem in zip(ROLLBACK_KEYS, found, strict=True) if problem]
