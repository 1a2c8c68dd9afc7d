"""Where a rollout stands, from what the beacon holds: pure functions, no chain access.

``rollout_status`` gives each tier's phase and cohort schedule; ``node_version`` what one
node should run, with the deployment engine's semantics (a node updates once its cohort
is active and it runs another version; an emergency rollback is urgent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from noderr_deploy.beacon import BeaconSnapshot, RolloutConfig, VersionInfo
from noderr_deploy.chain import BlockInfo
from noderr_deploy.cohorts import (
    Cohort,
    Phase,
    RolloutPlan,
    ScheduleEntry,
    activates_at,
    bucket,
    is_active,
    phase,
    schedule,
)
from noderr_deploy.units import iso

UpdatePriority = Literal["normal", "emergency"]


@dataclass(frozen=True)
class TierStatus:
    """One tier's current version and where its rollout stands.

    Per-cohort health (from health exports) is meant to be attached here as another field
    once the health reader exists; the schedule already lists the cohorts it would cover.
    """

    tier: str
    beacon_tier: int
    version: VersionInfo | None
    """None: no version published for this tier."""
    phase: Phase | None
    schedule: tuple[ScheduleEntry, ...]

    def to_json(self) -> dict[str, Any]:
        v = self.version
        return {
            "tier": self.tier,
            "beaconTier": self.beacon_tier,
            "versionId": v.version_id if v else None,
            "versionString": v.version_string if v else None,
            "dockerImageTag": v.docker_image_tag if v else None,
            "configHash": v.config_hash if v else None,
            "publishedAt": iso(v.published_at) if v else None,
            "publisher": v.publisher if v else None,
            "isActive": v.is_active if v else None,
            "isEmergencyRollback": v.is_emergency_rollback if v else None,
            "phase": self.phase,
            "schedule": [
                {"cohort": e.cohort, "activatesAt": iso(e.activates_at), "active": e.active}
                for e in self.schedule
            ],
        }


@dataclass(frozen=True)
class RolloutStatus:
    """Every requested tier, read at one block."""

    chain_id: int
    address: str
    block: BlockInfo
    at: datetime
    """The moment phases are computed for: the block's time, unless ``--at`` was given."""
    rollout: RolloutConfig
    tiers: tuple[TierStatus, ...]

    @property
    def paused(self) -> bool:
        return not self.rollout.is_active

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block.number,
            "time": iso(self.block.time),
            "rollout": self.rollout.to_json(),
            "tiers": [t.to_json() for t in self.tiers],
        }


def tier_status(
    name: str, beacon_tier: int, version: VersionInfo | None, plan: RolloutPlan, at: datetime
) -> TierStatus:
    """The phase and schedule of ``version``'s rollout at ``at``."""
    if version is None:
        return TierStatus(name, beacon_tier, None, None, ())
    published = version.published_at
    return TierStatus(
        tier=name,
        beacon_tier=beacon_tier,
        version=version,
        phase=phase(plan, published, at),
        schedule=tuple(schedule(plan, published, at)),
    )


def rollout_status(
    snapshot: BeaconSnapshot, tiers: Sequence[tuple[str, int]], at: datetime | None = None
) -> RolloutStatus:
    """Status of ``tiers`` (name, beacon tier) from ``snapshot``, at ``at`` or the block time."""
    moment = at or snapshot.block.time
    plan = snapshot.rollout.plan()
    return RolloutStatus(
        chain_id=snapshot.chain_id,
        address=snapshot.address,
        block=snapshot.block,
        at=moment,
        rollout=snapshot.rollout,
        tiers=tuple(
            tier_status(name, slot, snapshot.versions[slot], plan, moment) for name, slot in tiers
        ),
    )


@dataclass(frozen=True)
class NodeVersion:
    """What one node should run."""

    node_id: str
    tier: str
    version: VersionInfo
    cohort: Cohort
    bucket: int
    activates_at: datetime
    should_update: bool
    update_priority: UpdatePriority
    current: str | None

    def to_json(self) -> dict[str, Any]:
        v = self.version
        return {
            "nodeId": self.node_id,
            "tier": self.tier,
            "versionId": v.version_id,
            "versionString": v.version_string,
            "dockerImageTag": v.docker_image_tag,
            "configHash": v.config_hash,
            "cohort": self.cohort,
            "bucket": self.bucket,
            "activatesAt": iso(self.activates_at),
            "shouldUpdate": self.should_update,
            "updatePriority": self.update_priority,
        }


def node_version(
    node_id: str,
    tier: str,
    version: VersionInfo,
    plan: RolloutPlan,
    *,
    at: datetime,
    current: str | None = None,
) -> NodeVersion:
    """The engine's decision for ``node_id``: update once its cohort is active and it runs
    another version than ``version`` (an unknown ``current`` counts as another)."""
    node_bucket = bucket(node_id)
    cohort = plan.cohort_of_bucket(node_bucket)
    active = is_active(plan, version.published_at, cohort, at)
    return NodeVersion(
        node_id=node_id,
        tier=tier,
        version=version,
        cohort=cohort,
        bucket=node_bucket,
        activates_at=activates_at(plan, version.published_at, cohort),
        should_update=active and current != version.version_string,
        update_priority="emergency" if version.is_emergency_rollback else "normal",
        current=current,
    )
