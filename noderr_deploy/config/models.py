"""tiers.yaml's shape: the pydantic models that validate each section (unknown keys
rejected, YAML booleans refused where numbers belong). Resolution through ``extends`` is
:mod:`noderr_deploy.config.tiers`'s; loading the file :mod:`noderr_deploy.config.schema`'s.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from noderr_deploy.cohorts import (
    RolloutPlan,
    delay_problem,
    percentage_problem,
)
from noderr_deploy.config.thresholds import (
    DEFAULT_ERROR_RATE,
    DEFAULT_MIN_NODES,
    DEFAULT_UNHEALTHY,
    error_rate_problem,
    min_nodes_problem,
    unhealthy_problem,
)
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


def _plain_number(annotation: Any) -> type | None:
    """``int`` or ``float`` when a field holds exactly that (optionally ``None``), with no
    parser of its own (a ``Size`` reads text such as ``500MB``); else None."""
    union = get_origin(annotation) in (Union, UnionType)
    kinds = (set(get_args(annotation)) if union else {annotation}) - {type(None)}
    if len(kinds) == 1 and (kind := next(iter(kinds))) in (int, float):
        return kind  # type: ignore[no-any-return]
    return None


def _reads_as_number(text: str) -> bool:
    """Whether a reader would take ``text`` for a number: decimal, ``0x``/``0o``/``0b``,
    an exponent (``1e3``), underscores."""
    for read in (int, float, lambda t: int(t, 0)):
        try:
            read(text)
        except ValueError:
            continue
        return True
    return False


def _not_a_number(value: Any) -> str | None:
    """Why ``value`` read from YAML is no number where one belongs (None: let pydantic
    judge it). YAML gives a number as a number: text that reads as one is a mistake, above
    all a number the one parser kept as text (``010``, ``1_000``, ``0x5``, ``1e3``: YAML
    1.1 and 1.2 read them differently), which pydantic would otherwise turn into 10 and
    1000 or refuse with a message that hides why. Other text (``zero``, a look-alike
    digit) gets pydantic's own message."""
    if not isinstance(value, str) or not value.isascii() or not _reads_as_number(value.strip()):
        return None
    shown = value if len(value) <= 40 else value[:40] + "..."
    return (
        f"expected a number, not the text {shown!r} (YAML reads a number in quotes, with a"
        " leading zero, an underscore, 0x/0o/0b or an exponent but no dot as text: write a"
        " plain decimal number)"
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads YAML's `true` as 1 where a number belongs; a percentage, a slot or
        # a size budget of `true` is a mistake to report, not a value.
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and _numeric(annotation):
            raise ValueError("expected a number, not a boolean (true/false)")
        kind = _plain_number(annotation)
        why = None if kind is None or isinstance(value, bool) else _not_a_number(value)
        if why:
            raise ValueError(why)
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


DevDependencies = Literal["auto", "always", "never"]
"""Whether a tier's closure follows ``devDependencies``: ``auto`` when its Dockerfile runs a
build step inside the image (``pnpm -r build``, ``npm run build``, ``tsc``...)."""


class TierSpec(_Strict):
    extends: str | None = None
    dev_dependencies: DevDependencies | None = None
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
    dev_dependencies: DevDependencies = "auto"
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    rollback: RollbackSettings = Field(default_factory=RollbackSettings)
    beacon: BeaconSettings = Field(default_factory=BeaconSettings)  # type: ignore[arg-type]
    health: HealthSettings = Field(default_factory=HealthSettings)
    tiers: dict[Annotated[str, Field(pattern=_NAME)], TierSpec] = Field(min_length=1)
