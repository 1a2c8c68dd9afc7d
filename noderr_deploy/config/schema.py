"""tiers.yaml: the declarative source of truth for tiers, rollout plan, rollback rules and beacon.

The file is validated with pydantic (unknown keys rejected; :mod:`noderr_deploy.config.models`),
then tiers are resolved through ``extends`` (:mod:`noderr_deploy.config.tiers`). Every problem
is reported at once, each naming ``file:line:column`` and the key path at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from noderr_deploy.config.locate import CONFIG_NAME as CONFIG_NAME  # noqa: PLC0414
from noderr_deploy.config.locate import discover_config as discover_config  # noqa: PLC0414
from noderr_deploy.config.models import DEFAULT_BASE_IMAGE as DEFAULT_BASE_IMAGE  # noqa: PLC0414
from noderr_deploy.config.models import (
    BeaconSettings,
    HealthSettings,
    RollbackSettings,
    RolloutSettings,
    TiersFile,
)
from noderr_deploy.config.tiers import (
    Problems,
    Tier,
    pydantic_message,
    resolve_tiers,
    resolve_valid_tiers,
    with_closures,
    with_includes,
)
from noderr_deploy.config.yamlpos import (
    Located,
    Mark,
    Path_,
    Unsupported,
    load_located,
    read_yaml_text,
)
from noderr_deploy.errors import ConfigError

# Re-exported: finding the file lives in the light module so fast commands can use it.
from noderr_deploy.text import printable

__all__ = ["Config", "Tier", "check_workspace", "load_config", "parse_config"]


@dataclass(frozen=True)
class Config:
    """The validated tiers.yaml."""

    path: Path
    image: str
    registry: str
    workspace: Path
    rollout: RolloutSettings
    rollback: RollbackSettings
    beacon: BeaconSettings
    tiers: tuple[Tier, ...]
    """In ``extends`` order: every parent before its children."""
    health: HealthSettings = field(default_factory=HealthSettings)
    located: Located | None = field(default=None, compare=False, repr=False)
    """Where each key and value stands in the file, for messages about them."""

    def where(self, loc: Path_, *, key: bool = False) -> str:
        """``tiers.yaml:line:col: key.path`` of ``loc`` (or of its nearest ancestor)."""
        mark = self.located.mark_for(loc, prefer_key=key) if self.located else Mark(1, 1)
        dotted = ".".join(str(p) for p in loc)
        return f"{self.path}:{mark.line}:{mark.column}" + (f": {dotted}" if dotted else "")

    def origin(self, tier: Tier, *keys: str | int) -> Path_ | None:
        """``("tiers", <name>, *keys)`` of the tier, or of the nearest ancestor, that sets
        ``keys`` in the file; None when none does (a default)."""
        by_name = {t.name: t for t in self.tiers}
        current: Tier | None = tier
        while current is not None and self.located is not None:
            loc = ("tiers", current.name, *keys)
            if loc in self.located.values or loc in self.located.keys:
                return loc
            current = by_name.get(current.extends) if current.extends else None
        return None

    def tier(self, name: str) -> Tier:
        """The tier called ``name``. Tier names match regardless of case, as they do
        without a tiers.yaml (``ORACLE`` is ``oracle``); an exact match wins should two
        tiers differ only in case."""
        matches = [t for t in self.tiers if t.name.casefold() == name.casefold()]
        exact = [t for t in matches if t.name == name]
        if exact or len(matches) == 1:
            return (exact or matches)[0]
        known = ", ".join(printable(t.name) for t in self.tiers)
        raise ConfigError(f"unknown tier {name!r} in {self.path} (known tiers: {known})")

    def package_dir(self, package: str) -> Path:
        return self.workspace / "packages" / package


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a tiers.yaml. Raises :class:`ConfigError` with every problem."""
    try:
        return _load_config(path)
    except RecursionError:  # an `extends` chain thousands of tiers long
        raise ConfigError(f"{path}: tiers: the extends chains are too long to resolve") from None


def _load_config(path: str | Path) -> Config:
    """Read, validate and resolve a tiers.yaml. Raises :class:`ConfigError` with every problem."""
    path = Path(path)
    try:
        text = read_yaml_text(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate tiers.yaml ``text`` (read from ``path``, used in messages and relative paths)."""
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "" if isinstance(exc, Unsupported) else "malformed YAML: "
        raise ConfigError(f"{path}:{line}:{col}: {kind}{reason}") from None
    problems = Problems(path, located)
    if located.data is None:
        raise ConfigError(f"{path}:1:1: the file is empty (it needs at least a 'tiers' mapping)")
    if not isinstance(located.data, dict):
        problems.add((), "the top level must be a mapping of keys such as 'tiers'")
        problems.raise_if_any()
    for dup_path, mark in located.duplicates:
        problems.add(dup_path, "duplicate key", mark=mark)
    try:
        spec = TiersFile.model_validate(located.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            is_key = error["type"] == "extra_forbidden" or loc[-1:] == ("[key]",)
            if loc[-1:] == ("[key]",):
                loc = loc[:-1]
            problems.add(loc, pydantic_message(error), key=is_key)
        # Still resolve the tiers that are valid on their own, so that an inheritance
        # mistake is reported in the same run as a typo elsewhere.
        resolve_valid_tiers(located.data.get("tiers"), path, problems)
        problems.raise_if_any()
        raise AssertionError("unreachable") from None
    tiers = resolve_tiers(spec.tiers, spec.dockerfile, path, problems)
    tiers = with_closures(tiers, path.parent / spec.workspace, spec)
    problems.raise_if_any()
    tiers = with_includes(tiers, spec)
    base = path.parent
    return Config(
        path=path,
        image=spec.image,
        registry=spec.registry.rstrip("/"),
        workspace=(base / spec.workspace),
        rollout=spec.rollout,
        rollback=spec.rollback,
        beacon=spec.beacon,
        health=spec.health,
        tiers=tiers,
        located=located,
    )


def check_workspace(config: Config, tiers: Sequence[Tier] | None = None) -> None:
    """Check that every package directory and Dockerfile of ``tiers`` (default: all) and
    their parents exists; all problems at once. ``tiers --check`` and ``build`` both call it."""
    wanted = {t.name for t in (config.tiers if tiers is None else tiers)}
    by_name = {t.name: t for t in config.tiers}
    for name in list(wanted):
        parent = by_name[name].extends if name in by_name else None
        while parent is not None and parent in by_name:
            wanted.add(parent)
            parent = by_name[parent].extends
    lines = []
    for tier in (t for t in config.tiers if t.name in wanted):
        for package in tier.own_packages:
            directory = config.package_dir(package)
            if not (directory / "package.json").is_file():
                lines.append(
                    f"{config.path}: tier {tier.name!r}: package {package!r}:"
                    f" no {directory / 'package.json'}"
                )
        if not tier.dockerfile.is_file():
            lines.append(
                f"{config.path}: tier {tier.name!r}: Dockerfile {tier.dockerfile} not found"
            )
        lines.extend(f"{config.path}: tier {tier.name!r}: {p}" for p in tier.closure_problems)
    if lines:
        raise ConfigError(
            f"{config.path}: {len(lines)} missing file(s) in the workspace {config.workspace}",
            details=lines,
        )
