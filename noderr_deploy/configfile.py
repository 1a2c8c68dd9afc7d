"""Finding tiers.yaml, and reading its ``rollout`` section without the full validator.

:mod:`noderr_deploy.config` validates the whole file with pydantic, which costs about
150 ms to import here. ``noderr cohort`` needs only the rollout plan and must start as
fast as a bare typer app, so :func:`read_rollout` parses the YAML with libyaml and checks
the section with the same rule functions the pydantic model uses
(:func:`noderr_deploy.cohorts.plan_problems`). Anything it does not recognise as plainly
valid (odd types, unknown keys, a broken file) is handed to the full loader, so errors
read exactly as everywhere else, with file:line:column.
"""

from __future__ import annotations

from pathlib import Path

from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan, plan_problems
from noderr_deploy.errors import ConfigError

CONFIG_NAME = "tiers.yaml"

PlanValues = dict[str, int | float]
"""Rollout keys (tiers.yaml spelling) to values, only those the file sets."""


def discover_config(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """Find tiers.yaml: ``--config`` / ``NODERR_CONFIG``, then ``./tiers.yaml``, then parents."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        return path
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} in {start} or any parent directory"
        " (point to one with --config or NODERR_CONFIG)"
    )


def find_config(explicit: str | Path | None = None, cwd: Path | None = None) -> Path | None:
    """Like :func:`discover_config`, but None when no file was named and none is found."""
    try:
        return discover_config(explicit, cwd)
    except ConfigError:
        if explicit:
            raise
        return None


def read_rollout(path: Path) -> PlanValues:
    """The ``rollout`` values ``path`` sets, validated as :func:`config.load_config` would.

    Only the rollout section is checked: the rest of the file is ``noderr tiers --check``'s
    business. (libyaml keeps the last of duplicate keys where the full loader reports them;
    that is the one leniency of this path.)
    """
    import yaml

    try:
        loader = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        loader = yaml.SafeLoader  # type: ignore[assignment]
    try:
        document = yaml.load(path.read_bytes(), Loader=loader)
    except (OSError, yaml.YAMLError):
        return _read_rollout_fully(path)
    if not isinstance(document, dict):
        return _read_rollout_fully(path)
    section = document.get("rollout", {})
    values = _plain_values(section)
    if values is None:
        return _read_rollout_fully(path)
    merged = {**_defaults(), **values}
    if plan_problems(
        int(merged["canary_percentage"]),
        int(merged["cohort_percentage"]),
        merged["cohort_delay_hours"],
    ):
        return _read_rollout_fully(path)
    return values


def _defaults() -> PlanValues:
    plan = RolloutPlan()
    return {
        "canary_percentage": plan.canary_percentage,
        "cohort_percentage": plan.cohort_percentage,
        "cohort_delay_hours": plan.cohort_delay_hours,
    }


def _plain_values(section: object) -> PlanValues | None:
    """The section's values when every key is known and every value plainly typed, else None."""
    if not isinstance(section, dict):
        return None
    values: PlanValues = {}
    for key, value in section.items():
        if key not in PLAN_KEYS:
            return None
        # bool is an int subclass; YAML `true` is not a percentage.
        if key == "cohort_delay_hours":
            if type(value) not in (int, float):
                return None
        elif type(value) is not int:
            return None
        values[key] = value
    return values


def _read_rollout_fully(path: Path) -> PlanValues:
    # The full validator either raises the canonical ConfigError (file:line:column, key)
    # or accepts what pydantic coerces (such as "5"): either way the same outcome as
    # every other command reading this file.
    from noderr_deploy.config import load_config

    rollout = load_config(path).rollout
    return {key: getattr(rollout, key) for key in PLAN_KEYS if key in rollout.model_fields_set}
