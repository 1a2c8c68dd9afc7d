"""Tiers after inheritance: ``extends`` resolved, packages merged, each tier's workspace
closure and ``context.include``; and the collector of problems with their positions.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from noderr_deploy.config.dockerlines import dockerfile_builds
from noderr_deploy.config.models import (
    _NAME,
    DEFAULT_BASE_IMAGE,
    DevDependencies,
    TiersFile,
    TierSpec,
)
from noderr_deploy.config.workspace import dependency_closure
from noderr_deploy.config.yamlpos import Located, Mark, Path_
from noderr_deploy.errors import ConfigError
from noderr_deploy.text import printable


@dataclass(frozen=True)
class Tier:
    """A tier after inheritance: what the build, the beacon and the docs use."""

    name: str
    extends: str | None
    beacon_tier: int
    packages: tuple[str, ...]
    """Resolved packages: the parent's first, then this tier's own."""
    own_packages: tuple[str, ...]
    size_budget_bytes: int
    dockerfile: Path
    base_image: str
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    closure: tuple[str, ...] = ()
    """``packages``, then the workspace packages their ``workspace:`` dependencies pull in
    (sorted); just ``packages`` when the workspace is not there (e.g. on an ops machine)."""
    dependency_of: dict[str, str] = field(default_factory=dict)
    """Each pulled-in package -> the package whose package.json named it."""
    closure_problems: tuple[str, ...] = ()
    """Dependencies outside the workspace, broken package.json files: check_workspace's."""
    context_include: tuple[str, ...] = ()
    """``context.include`` of tiers.yaml's top level, then the parents', then the tier's own."""
    dev_dependencies: DevDependencies = "auto"
    """The setting: the tier's own, else its parent's, else the top level's."""
    follows_dev: bool = False
    """Whether ``closure`` followed ``devDependencies`` (the setting, with ``auto`` decided
    by the Dockerfile)."""


class Problems:
    """Collects every problem of one file, each with its position."""

    def __init__(self, path: Path, located: Located | None = None) -> None:
        self.path = path
        self.located = located
        self.lines: list[str] = []

    def add(self, loc: Path_, message: str, *, key: bool = False, mark: Mark | None = None) -> None:
        if mark is None:
            mark = self.located.mark_for(loc, prefer_key=key) if self.located else Mark(1, 1)
        where = ".".join(printable(str(p)) for p in loc)  # keys are the file's text
        subject = f"{where}: " if where else ""
        self.lines.append(f"{self.path}:{mark.line}:{mark.column}: {subject}{message}")

    def raise_if_any(self) -> None:
        if self.lines:
            self.lines.sort(key=_position)
            count = len(self.lines)
            noun = "problem" if count == 1 else "problems"
            raise ConfigError(
                f"{self.path}: {count} {noun} in the configuration", details=self.lines
            )


def _position(line: str) -> tuple[int, int]:
    # "file:line:col: ..." -> (line, col); the file part may itself hold colons.
    match = re.search(r":(\d+):(\d+): ", line)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def pydantic_message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == _NAME:
        return (
            f"{error['input']!r}: use lowercase letters, digits, '.', '_' and '-'"
            " (packages are named without their '@noderr/' scope)"
        )
    value = error.get("input")
    if kind in _NUMBER_ERRORS and isinstance(value, str) and not value.isascii():
        from noderr_deploy.units import check_ascii_number

        try:
            check_ascii_number(value)  # a look-alike digit: say which character it is
        except ValueError as exc:
            return str(exc)
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


_NUMBER_ERRORS = {"int_parsing", "float_parsing", "int_from_float"}


def with_includes(tiers: tuple[Tier, ...], spec: TiersFile) -> tuple[Tier, ...]:
    """Each tier's ``context.include``: the top level's, its ancestors', its own (in order)."""
    import dataclasses

    by_name: dict[str, Tier] = {}
    for tier in tiers:  # parents first
        inherited = (
            by_name[tier.extends].context_include if tier.extends else tuple(spec.context.include)
        )
        own = tuple(p for p in spec.tiers[tier.name].context.include if p not in inherited)
        by_name[tier.name] = dataclasses.replace(tier, context_include=(*inherited, *own))
    return tuple(by_name[t.name] for t in tiers)


def resolve_valid_tiers(raw: Any, path: Path, problems: Problems) -> None:
    if not isinstance(raw, dict):
        return
    valid: dict[str, TierSpec] = {}
    for name, body in raw.items():
        try:
            valid[name] = TierSpec.model_validate(body)
        except ValidationError:
            continue  # already reported
    # A parent that exists but is itself invalid is not an "unknown parent".
    known = {
        name: spec
        for name, spec in valid.items()
        if spec.extends is None or spec.extends in valid or spec.extends not in raw
    }
    dockerfile = TiersFile.model_fields["dockerfile"].default
    resolve_tiers(known, dockerfile, path, problems, all_names=list(raw))


MAX_EXTENDS = 64
"""The longest ``extends`` chain above a tier (a real file has two or three): a longer one
is a mistake or an attack, refused at once instead of resolved tier by tier."""


def resolve_tiers(
    specs: dict[str, TierSpec],
    default_dockerfile: str,
    path: Path,
    problems: Problems,
    *,
    all_names: list[str] | None = None,
) -> tuple[Tier, ...]:
    resolved: dict[str, Tier] = {}
    order: list[str] = []
    failed: set[str] = set()

    def resolve(name: str, chain: tuple[str, ...]) -> Tier | None:
        if name in resolved:
            return resolved[name]
        if name in failed:
            return None
        own = specs[name]
        parent: Tier | None = None
        if own.extends is not None:
            if own.extends not in specs:
                if all_names is not None and own.extends in all_names:
                    # It is there but did not validate: its own problems are listed.
                    failed.add(name)
                    return None
                known = ", ".join(printable(n) for n in all_names or specs)
                problems.add(
                    ("tiers", name, "extends"),
                    f"unknown parent tier {own.extends!r} (known tiers: {known})",
                )
                failed.add(name)
                return None
            if own.extends in chain:
                cycle = " -> ".join((*chain[chain.index(own.extends) :], name, own.extends))
                problems.add(("tiers", name, "extends"), f"inheritance cycle: {cycle}")
                failed.add(name)
                return None
            parent = resolve(own.extends, (*chain, name))
            if parent is None:
                failed.add(name)
                return None
        tier = _merge(name, own, parent, default_dockerfile, path, problems)
        if tier is None:
            failed.add(name)
            return None
        resolved[name] = tier
        order.append(name)
        return tier

    deep = _too_deep(specs)
    if deep is not None:  # refused before anything is resolved (recursively: it would be deep)
        problems.add(
            ("tiers", deep, "extends"),
            f"the extends chain above tier {deep!r} is longer than {MAX_EXTENDS} tiers",
        )
        return ()
    for name in specs:
        resolve(name, ())
    return tuple(resolved[name] for name in order)


def _too_deep(specs: dict[str, TierSpec]) -> str | None:
    """The first tier, in file order, with more than :data:`MAX_EXTENDS` tiers above it
    (unknown parents and cycles end a chain: they are reported on their own)."""
    for name, own in specs.items():
        above, seen, parent = 0, {name}, own.extends
        while parent is not None and parent in specs and parent not in seen:
            above += 1
            if above > MAX_EXTENDS:
                return name
            seen.add(parent)
            parent = specs[parent].extends
    return None


def _merge(  # noqa: PLR0917
    name: str,
    own: TierSpec,
    parent: Tier | None,
    default_dockerfile: str,
    path: Path,
    problems: Problems,
) -> Tier | None:
    loc = ("tiers", name)
    inherited = parent.packages if parent else ()
    seen: set[str] = set(inherited)
    ok = True
    for i, package in enumerate(own.packages):
        if package in seen:
            origin = "its parent tiers" if package in inherited else "this tier"
            # Reported, but the tier still resolves so its children are checked too.
            problems.add(
                (*loc, "packages", i), f"package {package!r} is already listed by {origin}"
            )
        seen.add(package)
    beacon_tier = (
        own.beacon_tier if own.beacon_tier is not None else (parent.beacon_tier if parent else None)
    )
    budget = (
        own.size_budget
        if own.size_budget is not None
        else (parent.size_budget_bytes if parent else None)
    )
    if beacon_tier is None:
        problems.add(loc, "no beacon_tier, neither its own nor inherited")
        ok = False
    if budget is None:
        problems.add(loc, "no size_budget, neither its own nor inherited")
        ok = False
    if not ok or beacon_tier is None or budget is None:
        return None
    base = path.parent
    if own.dockerfile is not None:
        dockerfile = base / own.dockerfile
    elif parent is not None:
        dockerfile = parent.dockerfile
    else:
        dockerfile = base / default_dockerfile
    return Tier(
        name=name,
        extends=own.extends,
        beacon_tier=beacon_tier,
        packages=(*inherited, *own.packages),
        own_packages=tuple(own.packages),
        size_budget_bytes=budget,
        dockerfile=dockerfile,
        base_image=own.base_image or (parent.base_image if parent else DEFAULT_BASE_IMAGE),
        build_args={**(parent.build_args if parent else {}), **own.build_args},
        labels={**(parent.labels if parent else {}), **own.labels},
    )


def _dev_setting(tier: Tier, spec: TiersFile) -> DevDependencies:
    name: str | None = tier.name
    while name is not None and name in spec.tiers:
        own = spec.tiers[name].dev_dependencies
        if own is not None:
            return own
        name = spec.tiers[name].extends
    return spec.dev_dependencies


def with_closures(tiers: tuple[Tier, ...], workspace: Path, spec: TiersFile) -> tuple[Tier, ...]:
    resolved = []
    builds: dict[Path, bool] = {}  # tiers share Dockerfiles: each is read once
    for tier in tiers:
        setting = _dev_setting(tier, spec)
        if setting == "auto" and tier.dockerfile not in builds:
            builds[tier.dockerfile] = dockerfile_builds(tier.dockerfile)
        follows = setting == "always" or (setting == "auto" and builds[tier.dockerfile])
        closure = dependency_closure(workspace, tier.packages, dev_dependencies=follows)
        resolved.append(
            dataclasses.replace(
                tier,
                closure=closure.packages,
                dependency_of=closure.dependency_of,
                closure_problems=closure.problems,
                dev_dependencies=setting,
                follows_dev=follows,
            )
        )
    return tuple(resolved)
