"""What one node should run, from what the beacon holds: a pure function, no chain access.

``node_version`` follows the deployment engine's semantics: a node updates once its cohort
is active and it runs another version; an emergency rollback is urgent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from noderr_deploy.chain.beacon import VersionInfo
from noderr_deploy.cohorts import Cohort, RolloutPlan, activates_at, bucket, is_active
from noderr_deploy.results import Document
from noderr_deploy.units import iso

UpdatePriority = Literal["normal", "emergency"]


@dataclass(frozen=True)
class NodeVersion:
    """What one node should run, judged at ``at``."""

    node_id: str
    tier: str
    version: VersionInfo
    cohort: Cohort
    bucket: int
    activates_at: datetime | None
    """None: never (the delay reaches past the year 9999)."""
    should_update: bool
    update_priority: UpdatePriority
    current: str | None
    at: datetime
    paused: bool = False
    """The beacon's rollout is paused (``rolloutConfig.isActive`` false)."""
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def document(self) -> NodeVersionDocument:
        """``version --json``."""
        v = self.version
        return NodeVersionDocument(
            node_id=self.node_id,
            tier=self.tier,
            version_id=v.version_id,
            version_string=v.version_string,
            docker_image_tag=v.docker_image_tag,
            config_hash=v.config_hash,
            published_at=iso(v.published_at),
            cohort=self.cohort,
            bucket=self.bucket,
            activates_at=iso(self.activates_at) if self.activates_at is not None else None,
            at=iso(self.at),
            should_update=self.should_update,
            update_priority=self.update_priority,
            paused=self.paused,
            warnings=list(self.warnings),
            notes=list(self.notes),
        )


class NodeVersionDocument(Document, frozen=True):
    """``version --json``: what one node should run."""

    node_id: str
    tier: str
    version_id: int
    version_string: str
    docker_image_tag: str
    config_hash: str
    published_at: str
    cohort: str
    bucket: int
    activates_at: str | None
    at: str
    should_update: bool
    update_priority: str
    paused: bool
    warnings: list[str]
    notes: list[str]


def node_version(
    node_id: str,
    tier: str,
    version: VersionInfo,
    plan: RolloutPlan,
    *,
    at: datetime,
    current: str | None = None,
    paused: bool = False,
    warnings: Sequence[str] = (),
) -> NodeVersion:
    """The engine's decision for ``node_id``: update once its cohort is active and it runs
    another version than ``version`` (an unknown ``current`` counts as another).

    The canary is active from the publish time on and also for an ``at`` before it, as the
    engine's ``isCohortActive`` has it. ``paused`` is reported (a field and a warning), not
    folded into ``should_update``, which is the engine's cohort rule alone.
    """
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
        at=at,
        paused=paused,
        warnings=tuple(warnings),
        notes=tuple(plan.notes()),
    )
