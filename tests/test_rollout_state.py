"""Phases, schedules and the engine's update decision, from beacon values (no chain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from noderr_deploy.beacon import RolloutConfig, VersionInfo
from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket
from noderr_deploy.errors import ChainError
from noderr_deploy.rollout_state import node_version, tier_status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLAN = RolloutPlan(5, 25, 24)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


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
    doc = status.to_json()
    assert doc["versionId"] is None
    assert doc["schedule"] == []


def test_tier_json_shape() -> None:
    doc = tier_status("oracle", 2, version(), PLAN, T0).to_json()
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
    assert (before.should_update, after.should_update, same.should_update) == (False, True, False)


def test_canary_updates_at_publish_time() -> None:
    result = node_version(node_in("canary"), "oracle", version(), PLAN, at=T0)
    assert result.should_update is True
    assert result.update_priority == "normal"


def test_emergency_priority_and_json() -> None:
    node_id = node_in("cohort2")
    result = node_version(node_id, "oracle", version(emergency=True), PLAN, at=T0, current="x")
    assert result.to_json() == {
        "nodeId": node_id,
        "tier": "oracle",
        "versionId": 4,
        "versionString": "1.4.0",
        "dockerImageTag": "1.4.0-oracle",
        "configHash": "0x" + "ab" * 32,
        "cohort": "cohort2",
        "bucket": bucket(node_id),
        "activatesAt": "2026-03-03T12:00:00Z",
        "shouldUpdate": False,
        "updatePriority": "emergency",
    }


def test_invalid_rollout_config_on_chain() -> None:
    with pytest.raises(ChainError) as failure:
        RolloutConfig(40, 30, 24, True).plan()
    assert failure.value.message == (
        "the beacon's rollout config is invalid: canary 40 + 3 x cohort 30 > 100:"
        " cohort4 would be empty"
    )
