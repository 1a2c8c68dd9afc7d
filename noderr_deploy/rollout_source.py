"""Where a rollout's plan and publish time come from, resolved once for the commands.

Precedence of each plan value: flag > ``NODERR_*`` variable (both arrive as option
values) > tiers.yaml ``rollout`` > built-in default. The publish time comes from
``--published-at``. The VersionBeacon is the next source: with ``--rpc-url/--beacon/--tier``
the plan and the publish time will be read from the chain here, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan, plan_problems
from noderr_deploy.errors import UsageError

DEFAULT = "default"


@dataclass(frozen=True)
class PlanFlags:
    """Plan values given on the command line or in the environment (None: not given)."""

    canary_percentage: int | None = None
    cohort_percentage: int | None = None
    cohort_delay_hours: float | None = None
    names: dict[str, str] = field(default_factory=dict)
    """How each given value was spelled (``--canary`` or ``NODERR_CANARY_PERCENTAGE``)."""

    def given(self) -> dict[str, int | float]:
        return {key: value for key in PLAN_KEYS if (value := getattr(self, key)) is not None}


@dataclass(frozen=True)
class RolloutSource:
    """The plan and publish time a command works with, and where each plan value came from."""

    plan: RolloutPlan
    published_at: datetime | None
    origins: dict[str, str]
    """Plan key -> ``--flag``, ``NODERR_*``, ``<tiers.yaml path>`` or ``default``."""


def resolve_rollout(
    flags: PlanFlags,
    *,
    published_at: datetime | None,
    config: Path | None,
    cwd: Path | None = None,
) -> RolloutSource:
    """Merge the plan from its sources, validate it, and pair it with the publish time.

    tiers.yaml is read only when a flag leaves a value open; its ``rollout`` section must be
    valid on its own (:func:`noderr_deploy.configfile.read_rollout`). The merged plan is
    checked with the same rules and a :class:`UsageError` names the source of each value.
    """
    values: dict[str, int | float] = {}
    origins: dict[str, str] = {}
    plan = RolloutPlan()
    for key in PLAN_KEYS:
        values[key] = getattr(plan, key)
        origins[key] = DEFAULT
    given = flags.given()
    if len(given) < len(PLAN_KEYS):
        from noderr_deploy.configfile import find_config, read_rollout

        path = find_config(config, cwd)
        if path is not None:
            for key, value in read_rollout(path).items():
                values[key] = value
                origins[key] = str(path)
    for key, value in given.items():
        values[key] = value
        origins[key] = flags.names.get(key, key)
    canary = int(values["canary_percentage"])
    cohort = int(values["cohort_percentage"])
    delay = float(values["cohort_delay_hours"])
    problems = plan_problems(canary, cohort, delay)
    if problems:
        at_fault, message = problems[0]
        subject = f"{origins[at_fault]}: " if at_fault else ""
        raise UsageError(
            f"invalid rollout plan: {subject}{message}",
            details=[f"{k} = {values[k]} (from {origins[k]})" for k in PLAN_KEYS],
        )
    return RolloutSource(RolloutPlan(canary, cohort, delay), published_at, origins)
