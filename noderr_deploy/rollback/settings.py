"""What ``noderr rollback check`` evaluates: the version, the rollout plan and the thresholds,
each from the first source that has it: flag > environment variable > tiers.yaml >
built-in default, except that with ``--tier`` the rollout plan is the VersionBeacon's and
``--version`` alone may override what the chain says.

Nothing heavy is imported here: tiers.yaml is read without pydantic unless ``--tier`` needs
the whole file (:func:`read_file_settings`). The chain is below this layer's reach: it
comes in as a :data:`ChainReader`, a function the command builds from its flags.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from noderr_deploy.errors import UsageError
from noderr_deploy.text import is_utf8

if TYPE_CHECKING:
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.config.schema import Config
    from noderr_deploy.config.sections import FileSettings
    from noderr_deploy.rollback.verdict import Thresholds

T = TypeVar("T")


class PublishedVersion(Protocol):
    """A version the VersionBeacon holds (the chain's ``VersionInfo``, which is above this
    layer: only its ``versionString`` is needed here)."""

    @property
    def version_string(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """What is evaluated: the version, the tier it belongs to (if known) and the plan."""

    version: str
    tier: str | None
    plan: RolloutPlan


class ChainRead(NamedTuple):
    """What the VersionBeacon says about a tier."""

    tier: str
    """The tier's name (as tiers.yaml spells it)."""
    slot: int
    """Its beacon tier."""
    plan: RolloutPlan
    current: PublishedVersion | None
    """Its current version; None when none is published."""
    note: str = ""
    """Where it was read (contract, block), for the log."""


ChainReader = Callable[["Config | None", str], ChainRead]
"""Finds a tier (``--tier``) in the validated tiers.yaml (None: there is none) and reads
its rollout plan and current version on the chain."""


def require_version(version: str | None, tier: str | None) -> None:
    """Checked before any input is read: there must be a version, or a tier to read it for."""
    if version is None and tier is None:
        raise UsageError(
            "missing --version V (the version under evaluation), or --tier T to evaluate"
            " the tier's current version on the VersionBeacon"
        )
    if version is not None and not version.strip():
        raise UsageError("--version must not be empty")
    if version is not None and not is_utf8(version):
        # Bytes the locale could not decode: no report (JSON, CSV or table: UTF-8) holds them.
        raise UsageError("--version: not valid UTF-8 text")


def resolve_target(
    version: str | None,
    tier: str | None,
    file: FileSettings,
    canary: int | None,
    cohort_size: int | None,
    *,
    read_chain: Callable[[str], ChainRead] | None = None,
    plan_names: Mapping[str, str] | None = None,
) -> Target:
    """The version and rollout plan to evaluate, each from the first source that has it
    (``plan_names``: how the plan flags were given, by tiers.yaml key, for messages).

    Version: ``--version``, else (with ``--tier``) the tier's current ``versionString`` on
    the VersionBeacon. Plan: with ``--tier`` the on-chain rollout config (the caller has
    refused plan flags, :func:`check_plan_flags`); else ``--canary``/``--cohort-size`` (or
    their environment variables), else tiers.yaml ``rollout`` (``file``), else the
    defaults. ``read_chain`` is called only with ``--tier``.
    """
    from noderr_deploy.cohorts import RolloutPlan, plan_problems
    from noderr_deploy.errors import ChainError

    require_version(version, tier)
    base = file.plan()
    tier_name = None
    if tier is not None:
        if read_chain is None:
            raise UsageError("--tier needs the VersionBeacon: pass --rpc-url and --beacon")
        tier_name, slot, base, current, _ = read_chain(tier)
        if version is None:
            if current is None:
                raise ChainError(
                    f"no version published for tier {tier_name!r} (beacon tier {slot}) on the"
                    " VersionBeacon: nothing to evaluate (pass --version V to choose one)"
                )
            version = current.version_string
    assert version is not None
    values = (
        _first(canary, base.canary_percentage),
        _first(cohort_size, base.cohort_percentage),
        base.cohort_delay_hours,
    )
    problems = plan_problems(*values)
    if problems:
        # tiers.yaml's plan was checked as it was read, the chain's is taken as it is: a
        # problem here is in a flag or its variable, named as it was given.
        key, message = problems[0]
        subject = f"{(plan_names or {}).get(key, key)}: " if key else ""
        raise UsageError(f"invalid rollout plan: {subject}{message}")
    plan = RolloutPlan(
        canary_percentage=values[0], cohort_percentage=values[1], cohort_delay_hours=values[2]
    )
    return Target(version=version, tier=tier_name, plan=plan)


def resolve_thresholds(
    file: FileSettings,
    unhealthy: float | None,
    error_rate: float | None,
    min_nodes: int | None,
) -> Thresholds:
    """Flags (and their environment variables) over tiers.yaml ``rollback`` (``file``) over
    defaults. A value out of range (NaN, infinity) is a :class:`UsageError`."""
    from noderr_deploy.rollback.verdict import Thresholds

    base = file.rollback
    default = Thresholds()
    for flag, value in (
        ("--unhealthy-threshold", unhealthy),
        ("--error-rate-threshold", error_rate),
    ):
        if value is not None and not math.isfinite(value):  # 1e308 is a finite number
            raise UsageError(
                f"invalid thresholds: {flag} must be a finite number, not {value}"
                " (or its NODERR_* variable)"
            )
    try:
        return Thresholds(
            unhealthy_ratio=_first(
                unhealthy, base.get("unhealthy_threshold"), default.unhealthy_ratio
            ),
            error_rate=_first(error_rate, base.get("error_rate_threshold"), default.error_rate),
            # An int wherever it came from (the readers check tiers.yaml's); int() tells mypy.
            min_nodes=int(_first(min_nodes, base.get("min_nodes"), default.min_nodes)),
        )
    except ValueError as exc:
        raise UsageError(
            f"invalid thresholds: {exc} (--unhealthy-threshold, --error-rate-threshold,"
            " --min-nodes or their NODERR_* variables)"
        ) from exc


def read_file_settings(config: Path | None, *, full: bool) -> tuple[FileSettings, Config | None]:
    """tiers.yaml's rollout and rollback values (none when there is no file and none was
    asked for), and, with ``full``, the whole validated file.

    Without ``full`` only those two sections are read and checked, without pydantic
    (:func:`noderr_deploy.config.sections.read_settings`); ``--tier`` needs the full file, for the
    tiers and the ``beacon`` section.
    """
    from noderr_deploy.config.locate import find_config
    from noderr_deploy.config.sections import FileSettings, read_settings

    path = find_config(config)
    if path is None:
        return FileSettings(), None
    if not full:
        return read_settings(path), None
    from noderr_deploy.config.schema import load_config

    cfg = load_config(path)
    return FileSettings.of(cfg), cfg


def _first(*values: T | None) -> T:
    """The first value that is set: flag (or its env var), then tiers.yaml, then default."""
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the built-in default is always set")
