"""Phases, schedules and the engine's update decision, from beacon values (no chain)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from noderr_deploy.chain.beacon import BeaconSnapshot, RolloutConfig, VersionInfo
from noderr_deploy.chain.nodeversion import node_version
from noderr_deploy.chain.state import (
    HealthCounts,
    RolloutStatus,
    rollout_status,
    tier_status,
    with_health,
)
from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket
from noderr_deploy.errors import ChainError
from noderr_deploy.health.latest import latest_per_node
from noderr_deploy.ui.output import to_json

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLAN = RolloutPlan(5, 25, 24)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def encoded(document: object) -> Any:
    """A document as the one encoder writes it, read back."""
    return json.loads(to_json(document))


def version(emergency: bool = False) -> VersionInfo:
    return VersionInfo(
        version_id=4,
        version_string="1.4.0",
        docker_image_tag="1.4.0-oracle",
        config_hash="0x" + "ab" * 32,
        published_at=T0,
        publisher="0x" + "22" * 20,
        is_active=True,
        is_emergency_rollback=emergency,
    )


def node_in(cohort: str) -> str:
    return next(f"n{i}" for i in range(10_000) if PLAN.cohort_of_bucket(bucket(f"n{i}")) == cohort)


@pytest.mark.parametrize("k", range(1, 6))
def test_phase_changes_exactly_at_each_boundary(k: int) -> None:
    phases = (*COHORTS, "complete")
    before = tier_status("oracle", 2, version(), PLAN, T0 + k * DAY - SECOND)
    at = tier_status("oracle", 2, version(), PLAN, T0 + k * DAY)
    assert (before.phase, at.phase) == (phases[k - 1], phases[k])
    assert [e.active for e in before.schedule] == [i < k for i in range(5)]
    assert [e.active for e in at.schedule] == [i <= k for i in range(5)]


def test_no_version_has_no_phase() -> None:
    status = tier_status("guardian", 1, None, PLAN, T0)
    assert (status.phase, status.schedule) == (None, ())
    doc = encoded(status.document())
    assert doc["versionId"] is None
    assert doc["schedule"] == []


def test_tier_json_shape() -> None:
    doc = encoded(tier_status("oracle", 2, version(), PLAN, T0).document())
    assert list(doc) == [
        "tier", "beaconTier", "versionId", "versionString", "dockerImageTag", "configHash",
        "publishedAt", "publisher", "isActive", "isEmergencyRollback", "phase", "schedule",
    ]  # fmt: skip
    assert doc["publishedAt"] == "2026-03-01T12:00:00Z"
    assert doc["schedule"][4] == {
        "cohort": "cohort4",
        "activatesAt": "2026-03-05T12:00:00Z",
        "active": False,
    }


@pytest.mark.parametrize("cohort", COHORTS)
def test_should_update_once_the_cohort_is_active(cohort: str) -> None:
    k = COHORTS.index(cohort)
    node_id = node_in(cohort)
    before = node_version(node_id, "oracle", version(), PLAN, at=T0 + k * DAY - SECOND)
    after = node_version(node_id, "oracle", version(), PLAN, at=T0 + k * DAY, current="1.3.9")
    same = node_version(node_id, "oracle", version(), PLAN, at=T0 + k * DAY, current="1.4.0")
    assert (before.cohort, before.bucket) == (cohort, bucket(node_id))
    assert before.activates_at == T0 + k * DAY
    # The canary is active from the publish time on, and before it too (isCohortActive).
    assert (before.should_update, after.should_update, same.should_update) == (k == 0, True, False)


def test_canary_updates_at_publish_time() -> None:
    result = node_version(node_in("canary"), "oracle", version(), PLAN, at=T0)
    assert result.should_update is True
    assert result.update_priority == "normal"


def test_emergency_priority_and_json() -> None:
    node_id = node_in("cohort2")
    result = node_version(node_id, "oracle", version(emergency=True), PLAN, at=T0, current="x")
    assert encoded(result.document()) == {
        "nodeId": node_id,
        "tier": "oracle",
        "versionId": 4,
        "versionString": "1.4.0",
        "dockerImageTag": "1.4.0-oracle",
        "configHash": "0x" + "ab" * 32,
        "publishedAt": "2026-03-01T12:00:00Z",
        "cohort": "cohort2",
        "bucket": bucket(node_id),
        "activatesAt": "2026-03-03T12:00:00Z",
        "at": "2026-03-01T12:00:00Z",
        "shouldUpdate": False,
        "updatePriority": "emergency",
        "paused": False,
        "warnings": [],
        "notes": [],
    }


def test_invalid_rollout_config_on_chain() -> None:
    # The contract's setter refuses percentages above 100; a beacon holding one is broken.
    with pytest.raises(ChainError) as failure:
        RolloutConfig(140, 30, 24, True).plan()
    assert failure.value.message == (
        "the beacon's rollout config is invalid: canary_percentage: 140 is not within 0..100"
    )
    assert RolloutConfig(40, 30, 24, True).plan().bounds()["cohort4"] == (100, 100)


# -- health exports ---------------------------------------------------------------------------


def status_of_two_tiers(at: datetime = T0 + DAY) -> RolloutStatus:
    """Oracle runs version() under PLAN; guardian has no version."""
    from noderr_deploy.chain.rpc import BlockInfo

    snapshot = BeaconSnapshot(
        chain_id=31337,
        address="0x" + "11" * 20,
        block=BlockInfo(9, at),
        rollout=RolloutConfig(5, 25, 24, True),
        versions={2: version(), 1: None},
    )
    return rollout_status(snapshot, [("oracle", 2), ("guardian", 1)])


def test_health_per_cohort_counts_reporting_on_version_and_healthy() -> None:
    from tests.health_data import ids_in, report

    (a, b), (c,) = ids_in("canary", 2, PLAN), ids_in("cohort1", 1, PLAN)
    reports = [
        report(a, version="1.4.0", at=T0),
        report(b, version="1.4.0", cpu=99, at=T0),  # unhealthy
        report(c, version="1.4.0", cpu=92, at=T0 + SECOND),  # degraded: not a success
        report(c, version="1.3.0", at=T0),  # older, read later: the one above wins
        report("other", version="1.3.0", at=T0),  # not on the version
    ]
    result = with_health(status_of_two_tiers(), latest_per_node(reports), records=5)
    oracle, guardian = result.tiers
    assert oracle.health is not None and guardian.health is not None
    assert [c.cohort for c in oracle.health] == list(COHORTS)
    canary, cohort1 = oracle.health[0], oracle.health[1]
    assert (canary.reporting, canary.on_version, canary.healthy) == (2, 2, 1)
    assert canary.success_rate == 0.5
    assert (cohort1.reporting, cohort1.on_version, cohort1.healthy) == (1, 1, 0)
    assert cohort1.success_rate == 0.0
    assert sum(c.reporting for c in oracle.health) == 4
    assert sum(c.on_version for c in oracle.health) == 3
    # A tier without a version: the same nodes report, none is on its (absent) version.
    assert [c.reporting for c in guardian.health] == [c.reporting for c in oracle.health]
    assert {(c.on_version, c.healthy, c.success_rate) for c in guardian.health} == {(0, 0, None)}
    assert result.health == HealthCounts(records=5, invalid=0, nodes=4, stale=0)


def test_max_age_leaves_stale_nodes_out_at_the_status_moment() -> None:
    from tests.health_data import report

    node = node_in("canary")
    moment = T0 + DAY
    latest = latest_per_node(
        [report(node, version="1.4.0", at=moment - timedelta(minutes=15)),
         report(node + "-old", version="1.4.0", at=moment - timedelta(minutes=15) - SECOND)]
    )  # fmt: skip
    result = with_health(
        status_of_two_tiers(moment), latest, records=2, invalid=1, max_age=timedelta(minutes=15)
    )
    oracle = result.tiers[0]
    assert oracle.health is not None
    assert sum(c.reporting for c in oracle.health) == 1  # exactly 15 min old is not stale
    assert result.health == HealthCounts(2, 1, 2, 1, timedelta(minutes=15))


def test_health_json_only_with_health() -> None:
    from tests.health_data import report

    plain = status_of_two_tiers()
    assert "healthReports" not in encoded(plain.document())
    assert all("health" not in t for t in encoded(plain.document())["tiers"])
    latest = latest_per_node([report(node_in("cohort2"), version="1.4.0", at=T0 + DAY / 2)])
    doc = encoded(with_health(plain, latest, records=1, max_age=DAY).document())
    assert doc["healthReports"] == {
        "records": 1, "invalid": 0, "nodes": 1, "stale": 0, "maxAgeSeconds": 86400.0,
        "future": 0, "lostBytes": 0, "lostRecords": 0, "incomplete": 0,
        "incompleteRecords": 0, "timestampUnit": None,
    }  # fmt: skip
    assert doc["tiers"][0]["health"][2] == {
        "cohort": "cohort2", "reporting": 1, "onVersion": 1, "healthy": 1, "successRate": 1.0,
        "incomplete": 0,
    }  # fmt: skip
    assert doc["tiers"][0]["health"][0] == {
        "cohort": "canary", "reporting": 0, "onVersion": 0, "healthy": 0, "successRate": None,
        "incomplete": 0,
    }  # fmt: skip
    assert list(doc["tiers"][0])[-2:] == ["schedule", "health"]
