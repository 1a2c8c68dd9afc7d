"""Where a rollout's plan and publish time come from, resolved once for the commands.

Precedence of each plan value: flag > ``NODERR_*`` variable (both arrive as option
values) > tiers.yaml ``rollout`` > built-in default. The publish time comes from
``--published-at``.

The VersionBeacon replaces those sources when a command asks for it (a :class:`ChainRequest`):
the plan is then the beacon's ``rolloutConfig``, and with a tier the publish time is that
tier's current version's. Plan values given on the command line at the same time are a
contradiction (:class:`UsageError`), as is ``--published-at`` with a tier; plan values from
``NODERR_*`` variables are ambient settings and give way to the chain asked for explicitly.
Nothing here imports web3 unless the chain is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan, plan_problems
from noderr_deploy.errors import UsageError

if TYPE_CHECKING:
    from noderr_deploy.chain.beacon import VersionInfo
    from noderr_deploy.chain.rpc import BlockInfo
    from noderr_deploy.chain.settings import ChainSettings

DEFAULT = "default"
ENV_PREFIX = "NODERR_"


# The records of this module are NamedTuples, not dataclasses: `noderr cohort <id>` builds
# each of them, and creating a frozen dataclass costs as much as 1.5 % of that run.


class PlanFlags(NamedTuple):
    """Plan values given on the command line or in the environment (None: not given)."""

    canary_percentage: int | None = None
    cohort_percentage: int | None = None
    cohort_delay_hours: float | None = None
    names: Mapping[str, str] = MappingProxyType({})
    """How each given value was spelled (``--canary`` or ``NODERR_CANARY_PERCENTAGE``)."""

    def given(self) -> dict[str, int | float]:
        return {key: value for key in PLAN_KEYS if (value := getattr(self, key)) is not None}

    def on_command_line(self) -> list[str]:
        """The flags (not environment variables) that gave a plan value, in plan order."""
        return [
            self.names.get(key, key)
            for key in self.given()
            if not self.names.get(key, key).startswith(ENV_PREFIX)
        ]


class ChainRequest(NamedTuple):
    """Read the plan (and, with a tier, the publish time) from the VersionBeacon."""

    settings: ChainSettings
    tier: str | None = None
    """The tier's name (tiers.yaml, or the beacon's own slot names)."""
    beacon_tier: int | None = None


class ChainSource(NamedTuple):
    """What the VersionBeacon gave, all read at one block."""

    address: str
    chain_id: int
    block: BlockInfo
    paused: bool
    """``rolloutConfig.isActive`` is false."""
    tier: str | None
    beacon_tier: int | None
    version: VersionInfo | None
    """The tier's current version; None without a tier or when none is published."""

    @property
    def where(self) -> str:
        return (
            f"the VersionBeacon {self.address} (chain {self.chain_id}, block {self.block.number})"
        )

    def notes(self) -> list[str]:
        """What an operator must know about this source (for stderr and JSON warnings)."""
        notes = []
        if self.paused:
            notes.append(f"the rollout is PAUSED on {self.where}")
        if self.tier is not None and self.version is None:
            notes.append(
                f"tier {self.tier!r} (beacon tier {self.beacon_tier}) has no version published"
                f" on {self.where}: no publish time, so no activation times"
            )
        return notes


class RolloutSource(NamedTuple):
    """The plan and publish time a command works with, and where each plan value came from."""

    plan: RolloutPlan
    published_at: datetime | None
    origins: dict[str, str]
    """Plan key -> ``--flag``, ``NODERR_*``, ``<tiers.yaml path>``, ``default`` or
    ``VersionBeacon 0x...``."""
    chain: ChainSource | None = None
    """Set when the plan came from the VersionBeacon."""

    @property
    def now(self) -> datetime | None:
        """Chain time (the block's timestamp) when the chain was read: "now" for ``active``."""
        return self.chain.block.time if self.chain is not None else None


def resolve_rollout(
    flags: PlanFlags,
    *,
    published_at: datetime | None,
    config: Path | None,
    cwd: Path | None = None,
    chain: ChainRequest | None = None,
    cache_dir: Path | None = None,
) -> RolloutSource:
    """Merge the plan from its sources, validate it, and pair it with the publish time.

    tiers.yaml is read only when a flag leaves a value open; its ``rollout`` section must be
    valid on its own (:func:`noderr_deploy.config.sections.read_rollout`). The merged plan is
    checked with the same rules and a :class:`UsageError` names the source of each value.
    With ``chain``, the VersionBeacon is the only source (:func:`rollout_from_chain`).
    ``cache_dir``: where the section's values may be remembered for the file's exact
    bytes (:mod:`noderr_deploy.config.plancache`).
    """
    if chain is not None:
        return rollout_from_chain(chain, flags, published_at=published_at)
    values: dict[str, int | float] = {}
    origins: dict[str, str] = {}
    plan = RolloutPlan()
    for key in PLAN_KEYS:
        values[key] = getattr(plan, key)
        origins[key] = DEFAULT
    given = flags.given()
    if len(given) < len(PLAN_KEYS):
        from noderr_deploy.config.locate import find_config
        from noderr_deploy.config.plancache import remembered_rollout

        path = find_config(config, cwd)
        if path is not None:
            for key, value in remembered_rollout(path, cache_dir, _read_rollout).items():
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
            details=[f"{k} = {_plain_number(values[k])} (from {origins[k]})" for k in PLAN_KEYS],
        )
    return RolloutSource(RolloutPlan.of(canary, cohort, delay), published_at, origins)


def _read_rollout(path: Path, raw: bytes) -> tuple[dict[str, int | float], bool]:
    from noderr_deploy.config.sections import rollout_of_bytes

    return rollout_of_bytes(path, raw)


def check_chain_conflicts(
    flags: PlanFlags, *, published_at_given: bool, tier: str | None, chain_flag: str
) -> None:
    """A :class:`UsageError` when the command line gives what the chain is asked to give.

    ``chain_flag`` is how the chain was asked for (``--tier``, ``--rpc-url`` ...), for the
    message.
    """
    given = flags.on_command_line()
    if given:
        raise UsageError(
            f"{'/'.join(given)} and {chain_flag} contradict each other: with a VersionBeacon"
            " the plan is its rolloutConfig (drop one of them)"
        )
    if published_at_given and tier is not None:
        raise UsageError(
            "--published-at and --tier contradict each other: with a tier the publish time is"
            " its current version's on the VersionBeacon (drop one of them)"
        )


def rollout_from_chain(
    request: ChainRequest, flags: PlanFlags, *, published_at: datetime | None
) -> RolloutSource:
    """The plan from the beacon's ``rolloutConfig`` and, with a tier, its version's publish
    time (else ``published_at``), all read at one block.

    A rollout config the engine could not use, or an unreachable chain, is a
    :class:`~noderr_deploy.errors.ChainError` (exit 1).
    """
    check_chain_conflicts(
        flags,
        published_at_given=published_at is not None,
        tier=request.tier,
        chain_flag="--tier" if request.tier is not None else "--rpc-url/--beacon",
    )
    from noderr_deploy.chain.beacon import read_from_settings

    slots = [request.beacon_tier] if request.beacon_tier is not None else []
    snapshot, _ = read_from_settings(request.settings, slots)
    version = snapshot.versions[request.beacon_tier] if request.beacon_tier is not None else None
    source = ChainSource(
        address=snapshot.address,
        chain_id=snapshot.chain_id,
        block=snapshot.block,
        paused=not snapshot.rollout.is_active,
        tier=request.tier,
        beacon_tier=request.beacon_tier,
        version=version,
    )
    origin = f"VersionBeacon {snapshot.address}"
    return RolloutSource(
        plan=snapshot.rollout.plan(),
        published_at=version.published_at if version is not None else published_at,
        origins=dict.fromkeys(PLAN_KEYS, origin),
        chain=source,
    )


def _plain_number(value: object) -> object:
    """24.0 as 24: whole hours read as floats are shown as the file spells them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
