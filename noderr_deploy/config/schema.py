"""tiers.yaml: the declarative source of truth for tiers, rollout plan, rollback rules and beacon.

The file is validated with pydantic (unknown keys rejected), then tiers are resolved
through ``extends``. Every problem is reported at once, each naming
``file:line:column`` and the key path at fault.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from noderr_deploy.cohorts import (
    RolloutPlan,
    delay_problem,
    percentage_problem,
)

# Re-exported: finding the file lives in the light module so fast commands can use it.
from noderr_deploy.config.locate import CONFIG_NAME as CONFIG_NAME  # noqa: PLC0414
from noderr_deploy.config.locate import discover_config as discover_config  # noqa: PLC0414
from noderr_deploy.config.thresholds import (
    DEFAULT_ERROR_RATE,
    DEFAULT_MIN_NODES,
    DEFAULT_UNHEALTHY,
    error_rate_problem,
    min_nodes_problem,
    unhealthy_problem,
)
from noderr_deploy.config.workspace import dependency_closure
from noderr_deploy.config.yamlpos import (
    Located,
    Mark,
    Path_,
    Unsupported,
    load_located,
    read_yaml_text,
)
from noderr_deploy.errors import ConfigError
from noderr_deploy.health.columns import DEFAULT_TABLE, ColumnError, ColumnMap, column_name
from noderr_deploy.units import parse_size

DEFAULT_BASE_IMAGE = "node:20-alpine"
_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
_V = TypeVar("_V")
# A Docker repository path: lowercase components separated by '/'.
_REPOSITORY = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"


def _size(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a size such as 500MB, not a boolean (true/false)")
    if value is None:
        return value
    return parse_size(value) if isinstance(value, str | int) else value


def _string_map(value: Any) -> Any:
    # Numbers and booleans in build args and labels are meant as text.
    if isinstance(value, dict):
        return {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            if isinstance(v, int | float | bool)
            else v
            for k, v in value.items()
        }
    return value


# A budget of 0 bytes admits no image at all: a typo, not a setting.
Size = Annotated[int, BeforeValidator(_size), Field(gt=0)]
StringMap = Annotated[dict[str, str], BeforeValidator(_string_map)]


def _numeric(annotation: Any) -> bool:
    """Whether a field holds a number and never a boolean (``int``, ``float``, ``Size``,
    optionally ``None``)."""
    union = get_origin(annotation) in (Union, UnionType)
    kinds = (set(get_args(annotation)) if union else {annotation}) - {type(None)}
    kinds = {get_args(k)[0] if get_origin(k) is Annotated else k for k in kinds}
    return bool(kinds) and kinds <= {int, float}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads YAML's `true` as 1 where a number belongs; a percentage, a slot or
        # a size budget of `true` is a mistake to report, not a value.
        if isinstance(value, bool) and info.field_name is not None:
            field_info = cls.model_fields[info.field_name]
            if _numeric(field_info.annotation):
                raise ValueError("expected a number, not a boolean (true/false)")
        return value


class RolloutSettings(_Strict):
    # The range and whole-hour rules live in noderr_deploy.cohorts, shared with the
    # `noderr cohort` fast path and its flags; pydantic only checks the types here.
    canary_percentage: int = 5
    cohort_percentage: int = 25
    cohort_delay_hours: float = 24

    @field_validator("canary_percentage", "cohort_percentage")
    @classmethod
    def _percentage(cls, value: int) -> int:
        problem = percentage_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("cohort_delay_hours")
    @classmethod
    def _delay(cls, value: float) -> float:
        problem = delay_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def plan(self) -> RolloutPlan:
        return RolloutPlan.of(
            self.canary_percentage, self.cohort_percentage, self.cohort_delay_hours
        )


class RollbackSettings(_Strict):
    # The ranges live in noderr_deploy.config.thresholds, shared with the fast path of
    # `noderr rollback check` and with the verdict's Thresholds; pydantic only checks types.
    unhealthy_threshold: float = DEFAULT_UNHEALTHY
    error_rate_threshold: float = DEFAULT_ERROR_RATE
    min_nodes: int = DEFAULT_MIN_NODES

    @field_validator("unhealthy_threshold")
    @classmethod
    def _unhealthy(cls, value: float) -> float:
        return _checked(value, unhealthy_problem(value))

    @field_validator("error_rate_threshold")
    @classmethod
    def _error_rate(cls, value: float) -> float:
        return _checked(value, error_rate_problem(value))

    @field_validator("min_nodes")
    @classmethod
    def _min_nodes(cls, value: int) -> int:
        return _checked(value, min_nodes_problem(value))


def _checked(value: _V, problem: str | None) -> _V:
    if problem:
        raise ValueError(problem)
    return value


class HealthSettings(_Strict):
    """Where ``--health postgresql://...`` reads, and how exports name their columns."""

    table: str = DEFAULT_TABLE
    columns: dict[str, str] = Field(default_factory=dict)
    """Field (``nodeId``, ``cpu``...) -> column name, for CSV headers and the table."""
    timestamp_unit: Literal["auto", "s", "ms"] = "auto"

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        try:
            return column_name(value, "table")
        except ColumnError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            return dict(ColumnMap.of(value).mapped)
        except ColumnError as exc:
            raise ValueError(str(exc)) from None


class BeaconSettings(_Strict):
    rpc_url: str | None = None
    address: str | None = None
    chain_id: int | None = Field(None, ge=1)
    abi: str | None = None
    """The deployed contract's ABI file (relative to tiers.yaml), for publish and propose."""


class ContextSpec(_Strict):
    include: list[str] = Field(default_factory=list)


class TierSpec(_Strict):
    extends: str | None = None
    context: ContextSpec = Field(default_factory=ContextSpec)
    beacon_tier: int | None = Field(None, ge=0, le=255)
    size_budget: Size | None = None
    packages: list[Annotated[str, Field(pattern=_NAME)]] = Field(default_factory=list)
    base_image: str | None = None
    dockerfile: str | None = None
    build_args: StringMap = Field(default_factory=dict)
    labels: StringMap = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _none_is_empty(cls, data: Any) -> Any:
        # `packages:` with nothing after it reads as null: an empty list is meant.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k == "packages")}
        return data


class TiersFile(_Strict):
    image: str = Field(
        "noderr-node-os",
        pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$",
    )
    registry: str = "ghcr.io/noderrxyz"
    workspace: str = "."
    dockerfile: str = "dockerfiles/Dockerfile"
    context: ContextSpec = Field(default_factory=ContextSpec)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    rollback: RollbackSettings = Field(default_factory=RollbackSettings)
    beacon: BeaconSettings = Field(default_factory=BeaconSettings)  # type: ignore[arg-type]
    health: HealthSettings = Field(default_factory=HealthSettings)
    tiers: dict[Annotated[str, Field(pattern=_NAME)], TierSpec] = Field(min_length=1)


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

    def tier(self, name: str) -> Tier:
        """The tier called ``name``. Tier names match regardless of case, as they do
        without a tiers.yaml (``ORACLE`` is ``oracle``); an exact match wins should two
        tiers differ only in case."""
        matches = [t for t in self.tiers if t.name.casefold() == name.casefold()]
        exact = [t for t in matches if t.name == name]
        if exact or len(matches) == 1:
            return (exact or matches)[0]
        known = ", ".join(t.name for t in self.tiers)
        raise ConfigError(f"unknown tier {name!r} in {self.path} (known tiers: {known})")

    def package_dir(self, package: str) -> Path:
        return self.workspace / "packages" / package


class _Problems:
    """Collects every problem of one file, each with its position."""

    def __init__(self, path: Path, located: Located | None = None) -> None:
        self.path = path
        self.located = located
        self.lines: list[str] = []

    def add(self, loc: Path_, message: str, *, key: bool = False, mark: Mark | None = None) -> None:
        if mark is None:
            mark = self.located.mark_for(loc, prefer_key=key) if self.located else Mark(1, 1)
        where = ".".join(str(p) for p in loc)
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


def _pydantic_message(error: Any) -> str:
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
    problems = _Problems(path, located)
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
            problems.add(loc, _pydantic_message(error), key=is_key)
        # Still resolve the tiers that are valid on their own, so that an inheritance
        # mistake is reported in the same run as a typo elsewhere.
        _resolve_valid_tiers(located.data.get("tiers"), path, problems)
        problems.raise_if_any()
        raise AssertionError("unreachable") from None
    tiers = _resolve_tiers(spec.tiers, spec.dockerfile, path, problems)
    tiers = _with_closures(tiers, path.parent / spec.workspace)
    problems.raise_if_any()
    tiers = _with_includes(tiers, spec)
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
    )


def _with_includes(tiers: tuple[Tier, ...], spec: TiersFile) -> tuple[Tier, ...]:
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


def _resolve_valid_tiers(raw: Any, path: Path, problems: _Problems) -> None:
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
    _resolve_tiers(known, dockerfile, path, problems, all_names=list(raw))


def _resolve_tiers(
    specs: dict[str, TierSpec],
    default_dockerfile: str,
    path: Path,
    problems: _Problems,
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
                known = ", ".join(all_names or specs)
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

    for name in specs:
        resolve(name, ())
    return tuple(resolved[name] for name in order)


def _merge(  # noqa: PLR0917
    name: str,
    own: TierSpec,
    parent: Tier | None,
    default_dockerfile: str,
    path: Path,
    problems: _Problems,
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


def _with_closures(tiers: tuple[Tier, ...], workspace: Path) -> tuple[Tier, ...]:
    resolved = []
    for tier in tiers:
        closure = dependency_closure(workspace, tier.packages)
        resolved.append(
            dataclasses.replace(
                tier,
                closure=closure.packages,
                dependency_of=closure.dependency_of,
                closure_problems=closure.problems,
            )
        )
    return tuple(resolved)


def check_closures(config: Config, tiers: Sequence[Tier]) -> None:
    """Exit 2 when a ``workspace:`` dependency of ``tiers`` is outside the workspace (or a
    package.json of theirs is unreadable): as ``tiers --check`` says, before a build."""
    lines = [f"{config.path}: tier {t.name!r}: {p}" for t in tiers for p in t.closure_problems]
    if lines:
        raise ConfigError(
            f"{config.path}: {len(lines)} workspace dependency problem(s) in {config.workspace}",
            details=lines,
        )


def check_workspace(config: Config) -> None:
    """Check that every package directory and Dockerfile exists; all problems at once."""
    lines = []
    for tier in config.tiers:
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
