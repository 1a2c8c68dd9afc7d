"""Where a rollout stands, from what the beacon holds: pure functions, no chain access.

``rollout_status`` gives each tier's phase and cohort schedule; ``with_health`` adds, from
health exports, how far each cohort has adopted the tier's version. What one node should
run is :mod:`noderr_deploy.chain.nodeversion`.

The results are frozen dataclasses of Python values: the moments and the schedule that
``with_health`` and the human view compute with, the beacon's :class:`VersionInfo`, the
``max_age`` timedelta. The JSON shows them otherwise (ISO 8601 to the second, a version's
fields flattened into its tier's, seconds), so each result converts in one place, its
``document()``, into a :class:`~noderr_deploy.results.Document`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from noderr_deploy.chain.beacon import BeaconSnapshot, RolloutConfig, VersionInfo
from noderr_deploy.chain.rpc import BlockInfo
from noderr_deploy.cohorts import (
    Phase,
    RolloutPlan,
    ScheduleEntry,
    phase,
    schedule,
)
from noderr_deploy.results import UNSET, Document, ScheduleDocument, UnsetType, schedule_documents
from noderr_deploy.units import iso

if TYPE_CHECKING:
    from noderr_deploy.health.report import HealthReport
    from noderr_deploy.rollback import CohortAdoption
    from noderr_deploy.rollback.reading import ReadCounts


@dataclass(frozen=True)
class TierStatus:
    """One tier's current version, where its rollout stands and, with health exports, how
    far each cohort has adopted the version."""

    tier: str
    beacon_tier: int
    version: VersionInfo | None
    """None: no version published for this tier."""
    phase: Phase | None
    schedule: tuple[ScheduleEntry, ...]
    health: tuple[CohortAdoption, ...] | None = None
    """Per cohort (all five, in order): nodes reporting, on this version, and their success
    rate. None: no health exports were given."""

    def document(self) -> TierStatusDocument:
        """The tier's entry of ``rollout status --json``."""
        v = self.version
        return TierStatusDocument(
            tier=self.tier,
            beacon_tier=self.beacon_tier,
            version_id=v.version_id if v else None,
            version_string=v.version_string if v else None,
            docker_image_tag=v.docker_image_tag if v else None,
            config_hash=v.config_hash if v else None,
            published_at=iso(v.published_at) if v else None,
            publisher=v.publisher if v else None,
            is_active=v.is_active if v else None,
            is_emergency_rollback=v.is_emergency_rollback if v else None,
            phase=self.phase,
            schedule=schedule_documents(self.schedule),
            health=list(self.health) if self.health is not None else UNSET,
        )


class TierStatusDocument(Document, frozen=True):
    """One tier in ``rollout status --json``: its version's fields are null when the tier
    has none; ``health`` is there only with health exports."""

    tier: str
    beacon_tier: int
    version_id: int | None
    version_string: str | None
    docker_image_tag: str | None
    config_hash: str | None
    published_at: str | None
    publisher: str | None
    is_active: bool | None
    is_emergency_rollback: bool | None
    phase: str | None
    schedule: list[ScheduleDocument]
    health: list[CohortAdoption] | UnsetType = UNSET


@dataclass(frozen=True)
class HealthCounts:
    """What the health exports held, for every tier alike (reports carry no tier). The
    read's counts are ``rollback check``'s (:class:`~noderr_deploy.rollback.reading.ReadCounts`)."""

    records: int
    """Valid records read."""
    invalid: int
    """Malformed records skipped (``--skip-invalid``)."""
    nodes: int
    """Distinct nodes."""
    stale: int
    """Nodes whose latest report is older than ``max_age`` before the status's moment."""
    max_age: timedelta | None = None
    future: int = 0
    """Valid records stamped after the moment plus ``--max-skew``: not used."""
    lost_bytes: int = 0
    lost_records: int = 0
    """Input that could not be read (``--skip-invalid``), and the records known in it."""
    incomplete: int = 0
    """Nodes (not stale) whose kept report lacks cpu, memory or errors: never a success."""
    incomplete_records: int = 0
    timestamp_unit: str | None = None
    """How numeric timestamps were read: ``s``, ``ms``, ``mixed`` or None."""

    def document(self) -> HealthCountsDocument:
        """The ``healthReports`` of ``rollout status --json``."""
        return HealthCountsDocument(
            records=self.records,
            invalid=self.invalid,
            nodes=self.nodes,
            stale=self.stale,
            max_age_seconds=self.max_age.total_seconds() if self.max_age is not None else None,
            future=self.future,
            lost_bytes=self.lost_bytes,
            lost_records=self.lost_records,
            incomplete=self.incomplete,
            incomplete_records=self.incomplete_records,
            timestamp_unit=self.timestamp_unit,
        )


class HealthCountsDocument(Document, frozen=True, kw_only=True):
    """``healthReports`` in ``rollout status --json``: the counts of ``rollback check``'s
    ``reports``, with ``maxAgeSeconds``."""

    records: int
    invalid: int
    nodes: int
    stale: int
    max_age_seconds: float | None
    future: int
    lost_bytes: int
    lost_records: int
    incomplete: int
    incomplete_records: int
    timestamp_unit: str | None


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
    health: HealthCounts | None = None
    """Set when health exports were given (each tier then has its ``health``)."""

    @property
    def paused(self) -> bool:
        return not self.rollout.is_active

    def warnings(self) -> list[str]:
        """What an operator must know: a paused rollout, the updater's cut-off."""
        return rollout_warnings(self.rollout, self.where)

    @property
    def where(self) -> str:
        return (
            f"the VersionBeacon {self.address} (chain {self.chain_id}, block {self.block.number})"
        )

    def document(self) -> RolloutStatusDocument:
        """``rollout status --json``."""
        return RolloutStatusDocument(
            chain_id=self.chain_id,
            beacon=self.address,
            block=self.block.number,
            time=iso(self.block.time),
            at=iso(self.at),
            rollout=self.rollout,
            paused=self.paused,
            warnings=self.warnings(),
            notes=self.rollout.plan().notes(),
            tiers=[t.document() for t in self.tiers],
            health_reports=self.health.document() if self.health is not None else UNSET,
        )


class RolloutStatusDocument(Document, frozen=True):
    """``rollout status --json``; ``healthReports`` only with health exports."""

    chain_id: int
    beacon: str
    block: int
    time: str
    at: str
    rollout: RolloutConfig
    paused: bool
    warnings: list[str]
    notes: list[str]
    tiers: list[TierStatusDocument]
    health_reports: HealthCountsDocument | UnsetType = UNSET


def rollout_warnings(rollout: RolloutConfig, where: str) -> list[str]:
    """The warnings every command that reads the beacon's plan shows (stderr and JSON)."""
    found = [f"the rollout is PAUSED on {where}"] if not rollout.is_active else []
    return found + rollout.plan().warnings()


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


def with_health(
    status: RolloutStatus,
    latest: Mapping[str, HealthReport],
    *,
    records: int,
    invalid: int = 0,
    max_age: timedelta | None = None,
    read: ReadCounts | None = None,
) -> RolloutStatus:
    """``status`` with each tier's per-cohort adoption from the latest report per node.

    Reports carry no tier, so every tier is measured against all of them: a node counts as
    reporting in its cohort (under the beacon's plan), as on the tier's version when its
    latest report names the tier's current versionString, and as a success when that
    report is healthy (:func:`noderr_deploy.rollback.adoption`). A node whose latest report
    is older than ``max_age`` before the status's moment is stale: counted, left out.
    A tier without a version has reporting nodes but none on its version. Node buckets
    are computed once here, for all tiers. ``read`` is the rest of what the read counted
    (future, lost and incomplete records, the timestamp unit).
    """
    from noderr_deploy.cohorts import buckets_of
    from noderr_deploy.health.stamps import utc
    from noderr_deploy.rollback import adoption

    fresh: Mapping[str, HealthReport] = latest
    if max_age is not None:
        try:
            cutoff = status.at - max_age
        except OverflowError:  # --at near the year 1: nothing is older than that
            cutoff = status.at.replace(year=1, month=1, day=1, hour=0, minute=0, second=0)
        fresh = {n: r for n, r in latest.items() if utc(r.timestamp) >= cutoff}
    plan = status.rollout.plan()
    ids = list(fresh)
    known = dict(zip(ids, buckets_of(n.encode("utf-8") for n in ids), strict=True))
    tiers = tuple(
        dataclasses.replace(
            t,
            # Report versions are never empty (the schema), so "" matches no node.
            health=tuple(
                adoption(
                    fresh,
                    plan=plan,
                    version=t.version.version_string if t.version else "",
                    buckets=known,
                )
            ),
        )
        for t in status.tiers
    )
    counts = HealthCounts(
        records=records,
        invalid=invalid,
        nodes=len(latest),
        stale=len(latest) - len(fresh),
        max_age=max_age,
        incomplete=sum(r.incomplete for r in fresh.values()),
    )
    if read is not None:  # the rest of what the read counted
        counts = dataclasses.replace(
            counts,
            future=read.future,
            lost_bytes=read.lost_bytes,
            lost_records=read.lost_records,
            incomplete_records=read.incomplete_records,
            timestamp_unit=read.timestamp_unit,
        )
    return dataclasses.replace(status, tiers=tiers, health=counts)
