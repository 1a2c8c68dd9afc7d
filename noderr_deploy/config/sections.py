"""Reading tiers.yaml's ``rollout``, ``rollback`` and ``health`` sections without pydantic.

:mod:`noderr_deploy.config.schema` validates the whole file with pydantic, which costs
about 150 ms to import here. ``noderr cohort`` needs only the rollout plan, and ``noderr
rollback check`` the plan and the thresholds, and both must start fast, so
:func:`read_settings` parses the YAML with libyaml and checks those sections with the same
rule functions the pydantic models use (:func:`noderr_deploy.cohorts.plan_problems`,
:func:`noderr_deploy.config.thresholds.threshold_problems`). Anything it does not recognise
as plainly valid (odd types, unknown keys, a broken file) is handed to the full loader, so
errors read exactly as everywhere else, with file:line:column.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan, plan_problems
from noderr_deploy.config.thresholds import (
    DEFAULT_ERROR_RATE,
    DEFAULT_MIN_NODES,
    DEFAULT_UNHEALTHY,
    ROLLBACK_KEYS,
    threshold_problems,
)
from noderr_deploy.errors import ConfigError
from noderr_deploy.health.columns import ColumnError, ColumnMap, column_name

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config


PlanValues = dict[str, int | float]
"""Rollout keys (tiers.yaml spelling) to values, only those the file sets."""


RollbackValues = dict[str, int | float]
"""Rollback keys (tiers.yaml spelling) to values, only those the file sets."""


HealthValues = dict[str, object]
"""Health keys (``table``, ``columns``, ``timestamp_unit``) to values, only those the file
sets; ``columns`` is a field -> column dict."""

HEALTH_KEYS = ("table", "columns", "timestamp_unit")


@dataclass(frozen=True)
class FileSettings:
    """What a tiers.yaml sets in its ``rollout`` and ``rollback`` sections: tiers.yaml
    spelling, only the keys the file sets (the built-in defaults fill in the rest)."""

    rollout: PlanValues = field(default_factory=dict)
    rollback: RollbackValues = field(default_factory=dict)
    health: HealthValues = field(default_factory=dict)

    @classmethod
    def of(cls, config: Config) -> FileSettings:
        """The same values from a fully validated file (:func:`config.load_config`)."""
        rollout, rollback = config.rollout, config.rollback
        return cls(
            rollout={k: getattr(rollout, k) for k in PLAN_KEYS if k in rollout.model_fields_set},
            rollback={
                k: getattr(rollback, k) for k in ROLLBACK_KEYS if k in rollback.model_fields_set
            },
            health={
                k: getattr(config.health, k)
                for k in HEALTH_KEYS
                if k in config.health.model_fields_set
            },
        )

    def plan(self) -> RolloutPlan:
        """The file's rollout plan, the defaults filling in what it leaves out."""
        values = {**_plan_defaults(), **self.rollout}
        return RolloutPlan.of(
            int(values["canary_percentage"]),
            int(values["cohort_percentage"]),
            # As the full loader reads it: a float, even when the file says 24.
            float(values["cohort_delay_hours"]),
        )


def read_settings(path: Path) -> FileSettings:
    """The ``rollout`` and ``rollback`` values ``path`` sets, validated as
    :func:`config.load_config` would, from one parse of the file.

    Only these two sections are checked: the rest of the file is ``noderr tiers --check``'s
    business. Within them, this path and the full loader agree on every input (the same
    parser, the same rules, the same defaults; ``tests/config/test_one_parser.py``).
    """
    return _read(path, ("rollout", "rollback", "health"))


def read_rollout(path: Path) -> PlanValues:
    """Like :func:`read_settings`, for the ``rollout`` section alone (the only one checked)."""
    return _read(path, ("rollout",)).rollout


def rollout_of_bytes(path: Path, raw: bytes) -> tuple[PlanValues, bool]:
    """:func:`read_rollout` of the file ``path`` whose bytes are ``raw``, and whether the
    values came from exactly those bytes (False: the full loader judged the file, reading
    it again)."""
    document = _parse(path, raw)
    if document is None:
        return _read_fully(path).rollout, False
    values = _rollout_values(document.get("rollout", {}))
    if values is None:
        return _read_fully(path).rollout, False
    return values, True


def _read(path: Path, sections: Collection[str]) -> FileSettings:
    document = _parse(path)
    if document is None:
        return _read_fully(path)
    found: dict[str, dict[str, object]] = {}
    for name in sections:
        values = _SECTIONS[name](document.get(name, {}))
        if values is None:
            return _read_fully(path)
        found[name] = values
    return FileSettings(**found)  # type: ignore[arg-type]


def _parse(path: Path, raw: bytes | None = None) -> dict[object, object] | None:
    """The file's top-level mapping, or None for anything the full loader must judge: a
    file that does not read or parse, a top level that is not a mapping, a duplicated key.

    The same reader and parser as the full loader (:mod:`noderr_deploy.config.yamlpos`):
    a merge key is refused and a tag gives the same value, so that what this path accepts
    the full loader accepts with the same values, and what it refuses the full loader
    reports (one message for a UTF-16 file or a merge key, whichever path reads it).
    """
    import yaml

    from noderr_deploy.config.yamlpos import decode_yaml, load_located, read_yaml_text

    try:
        text = read_yaml_text(path) if raw is None else decode_yaml(raw, path)
        located = load_located(text)
    except (OSError, ConfigError, yaml.YAMLError, RecursionError):
        return None
    if located.duplicates or not isinstance(located.data, dict):
        return None
    return located.data


def _plan_defaults() -> PlanValues:
    plan = RolloutPlan()
    return {
        "canary_percentage": plan.canary_percentage,
        "cohort_percentage": plan.cohort_percentage,
        "cohort_delay_hours": plan.cohort_delay_hours,
    }


def _rollout_values(section: object) -> PlanValues | None:
    """The section's values when every key is known, every value plainly typed and the
    plan valid; else None."""
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
            try:
                # The model holds a float: so does this path, or 10**23 would read as an int
                # here and as 1e+23 there.
                values[key] = float(value)
            except OverflowError:  # an int too large for a float: the full loader tells
                return None
        elif type(value) is not int:
            return None
        else:
            values[key] = value
    merged = {**_plan_defaults(), **values}
    if plan_problems(
        int(merged["canary_percentage"]),
        int(merged["cohort_percentage"]),
        merged["cohort_delay_hours"],
    ):
        return None
    return values


def _rollback_values(section: object) -> RollbackValues | None:
    """Like :func:`_rollout_values`, for the rollback thresholds."""
    if not isinstance(section, dict):
        return None
    values: RollbackValues = {}
    for key, value in section.items():
        if key not in ROLLBACK_KEYS:
            return None
        if key == "min_nodes":
            if type(value) is not int:
                return None
            values[key] = value
        elif type(value) in (int, float):
            try:
                # The model holds a float even when the file says 0: so does this path,
                # and the JSON verdict reads the same (0.0) whichever path read the file.
                values[key] = float(value)
            except OverflowError:  # an int too large for a float: the full loader tells
                return None
        else:
            return None
    merged = {
        "unhealthy_threshold": DEFAULT_UNHEALTHY,
        "error_rate_threshold": DEFAULT_ERROR_RATE,
        "min_nodes": DEFAULT_MIN_NODES,
        **values,
    }
    if threshold_problems(
        merged["unhealthy_threshold"], merged["error_rate_threshold"], int(merged["min_nodes"])
    ):
        return None
    return values


def _health_values(section: object) -> HealthValues | None:
    """Like :func:`_rollout_values`, for the health section (checked by the same rules as
    the pydantic model: :func:`noderr_deploy.health.columns.column_name`, ``ColumnMap``)."""
    if not isinstance(section, dict):
        return None
    values: HealthValues = {}
    for key, value in section.items():
        if key == "table" and type(value) is str:
            try:
                values[key] = column_name(value, "table")
            except ColumnError:
                return None
        elif key == "timestamp_unit" and value in ("auto", "s", "ms"):
            values[key] = value
        elif key == "columns" and isinstance(value, dict):
            if not all(type(k) is str and type(v) is str for k, v in value.items()):
                return None
            try:
                values[key] = dict(ColumnMap.of(value).mapped)
            except ColumnError:
                return None
        else:
            return None
    return values


_SECTIONS: dict[str, Callable[[object], dict[str, object] | None]] = {
    "rollout": _rollout_values,  # type: ignore[dict-item]
    "rollback": _rollback_values,  # type: ignore[dict-item]
    "health": _health_values,
}


def _read_fully(path: Path) -> FileSettings:
    # The full validator either raises the canonical ConfigError (file:line:column, key)
    # or accepts what pydantic coerces (such as "5"): either way the same outcome as
    # every other command reading this file.
    from noderr_deploy.config.schema import load_config

    return FileSettings.of(load_config(path))
