"""What ``noderr rollback check`` evaluates, resolved from flags, chain, tiers.yaml, defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from noderr_deploy.chain.beacon import VersionInfo
from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.config.sections import FileSettings
from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.rollback import Thresholds
from noderr_deploy.rollback.settings import (
    ChainRead,
    resolve_target,
    resolve_thresholds,
)

FILE = FileSettings(
    rollout={"canary_percentage": 10, "cohort_delay_hours": 12},
    rollback={"unhealthy_threshold": 0.5, "min_nodes": 3},
)


def offline(tier: str) -> ChainRead:
    raise AssertionError(f"the chain was read for {tier!r} without --tier")


def test_thresholds_flag_over_file_over_default() -> None:
    assert resolve_thresholds(FileSettings(), None, None, None) == Thresholds()
    assert resolve_thresholds(FILE, None, None, None) == Thresholds(0.5, 0.05, 3)
    assert resolve_thresholds(FILE, 0.2, 1.0, 1) == Thresholds(0.2, 1.0, 1)


def test_target_plan_flag_over_file_over_default_without_the_chain() -> None:
    target = resolve_target("1.4.2", None, FILE, None, None, read_chain=offline)
    assert (target.version, target.tier, target.plan) == ("1.4.2", None, RolloutPlan(10, 25, 12))
    flags = resolve_target("1.4.2", None, FILE, 0, 30, read_chain=offline)
    assert flags.plan == RolloutPlan(0, 30, 12)
    assert resolve_target("1.4.2", None, FileSettings(), None, None).plan == RolloutPlan()


def test_an_invalid_merged_plan_is_a_usage_error() -> None:
    # 10/40 is a plan the engine runs (cohort4 empty); a size above 100 is not.
    assert resolve_target("1.4.2", None, FILE, None, 40).plan.bounds()["cohort4"] == (100, 100)
    with pytest.raises(UsageError, match=r"^invalid rollout plan: cohort_percentage: 101 is not"):
        resolve_target("1.4.2", None, FILE, None, 101)


def version(text: str) -> VersionInfo:
    return VersionInfo(
        version_id=7,
        version_string=text,
        docker_image_tag=f"{text}-oracle",
        config_hash="0x" + "00" * 32,
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
        publisher="0x" + "11" * 20,
        is_active=True,
        is_emergency_rollback=False,
    )


def test_tier_takes_version_and_plan_from_the_chain() -> None:
    asked: list[str] = []

    def chain(tier: str) -> ChainRead:
        asked.append(tier)
        return ChainRead("oracle", 2, RolloutPlan(20, 20, 6), version("1.5.0"))

    target = resolve_target(None, "Oracle", FILE, None, 10, read_chain=chain)
    assert asked == ["Oracle"]
    assert (target.version, target.tier, target.plan) == ("1.5.0", "oracle", RolloutPlan(20, 10, 6))
    assert resolve_target("1.4.2", "oracle", FILE, None, None, read_chain=chain).version == "1.4.2"


def test_tier_without_a_published_version() -> None:
    def chain(tier: str) -> ChainRead:
        return ChainRead("oracle", 2, RolloutPlan(), None)

    with pytest.raises(
        ChainError, match=r"no version published for tier 'oracle' \(beacon tier 2\)"
    ):
        resolve_target(None, "oracle", FILE, None, None, read_chain=chain)
    with pytest.raises(UsageError, match="--tier needs the VersionBeacon"):
        resolve_target(None, "oracle", FILE, None, None)
