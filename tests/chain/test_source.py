"""Where the plan comes from: flag > environment (both arrive as flags) > tiers.yaml > default."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from noderr_deploy.chain.source import PlanFlags, resolve_rollout
from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.errors import ConfigError, UsageError

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """A directory with no tiers.yaml in it (nor, on this machine, above it)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not any((d / "tiers.yaml").exists() for d in (empty, *empty.parents))
    return empty


def test_defaults_without_any_source(nowhere: Path) -> None:
    source = resolve_rollout(PlanFlags(), published_at=None, config=None, cwd=nowhere)
    assert source.plan == RolloutPlan(5, 25, 24)
    assert set(source.origins.values()) == {"default"}


def test_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("rollout: {canary_percentage: 10, cohort_delay_hours: 6}\n")
    flags = PlanFlags(cohort_delay_hours=2, names={"cohort_delay_hours": "--delay-hours"})
    source = resolve_rollout(flags, published_at=T0, config=path)
    assert source.plan == RolloutPlan(10, 25, 2)
    assert source.published_at == T0
    assert source.origins == {
        "canary_percentage": str(path),
        "cohort_percentage": "default",
        "cohort_delay_hours": "--delay-hours",
    }


def test_all_flags_never_read_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "tiers.yaml"
    broken.write_text("rollout: {canary_percentage: 500}\n")
    flags = PlanFlags(1, 2, 3)
    assert resolve_rollout(flags, published_at=None, config=broken).plan == RolloutPlan(1, 2, 3)
    with pytest.raises(ConfigError) as caught:
        resolve_rollout(PlanFlags(1, 2), published_at=None, config=broken)
    assert any("canary_percentage: 500 is not within" in line for line in caught.value.details)


def test_invalid_merge_names_every_source(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout: {cohort_percentage: 30}\n")
    flags = PlanFlags(
        canary_percentage=20,
        cohort_delay_hours=1.5,
        names={
            "canary_percentage": "NODERR_CANARY_PERCENTAGE",
            "cohort_delay_hours": "--delay-hours",
        },
    )
    with pytest.raises(UsageError) as caught:
        resolve_rollout(flags, published_at=None, config=path)
    assert caught.value.message == (
        "invalid rollout plan: --delay-hours: 1.5 is not a whole number of hours"
        " (the VersionBeacon stores whole hours)"
    )
    assert caught.value.details == [
        "canary_percentage = 20 (from NODERR_CANARY_PERCENTAGE)",
        f"cohort_percentage = 30 (from {path})",
        "cohort_delay_hours = 1.5 (from --delay-hours)",
    ]


def test_a_plan_that_leaves_cohort4_empty_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text("rollout: {cohort_percentage: 30}\n")
    flags = PlanFlags(canary_percentage=20, names={"canary_percentage": "--canary"})
    source = resolve_rollout(flags, published_at=None, config=path)
    assert source.plan.bounds()["cohort3"] == (80, 100)
    assert source.plan.bounds()["cohort4"] == (100, 100)
    assert source.plan.notes() == [
        "cohort4 is empty: canary 20 + 3 x cohort 30 >= 100, so cohort3 ends at bucket 99"
    ]


def test_invalid_flag_is_named(nowhere: Path) -> None:
    flags = PlanFlags(canary_percentage=101, names={"canary_percentage": "--canary"})
    with pytest.raises(UsageError, match=r"^invalid rollout plan: --canary: 101 is not within"):
        resolve_rollout(flags, published_at=None, config=None, cwd=nowhere)


# -- the VersionBeacon as the source (reads are tested against anvil in tests/integration) --


def test_only_command_line_plan_values_contradict_the_chain() -> None:
    from noderr_deploy.chain.source import check_chain_conflicts

    env_only = PlanFlags(
        canary_percentage=10, names={"canary_percentage": "NODERR_CANARY_PERCENTAGE"}
    )
    assert env_only.on_command_line() == []
    check_chain_conflicts(env_only, published_at_given=False, tier="oracle", chain_flag="--tier")
    mixed = PlanFlags(
        canary_percentage=10,
        cohort_percentage=20,
        cohort_delay_hours=1,
        names={
            "canary_percentage": "--canary",
            "cohort_percentage": "NODERR_COHORT_PERCENTAGE",
            "cohort_delay_hours": "--delay-hours",
        },
    )
    assert mixed.on_command_line() == ["--canary", "--delay-hours"]
    with pytest.raises(UsageError, match=r"^--canary/--delay-hours and --beacon contradict"):
        check_chain_conflicts(mixed, published_at_given=False, tier=None, chain_flag="--beacon")


def test_published_at_contradicts_a_tier_only() -> None:
    from noderr_deploy.chain.source import check_chain_conflicts

    check_chain_conflicts(PlanFlags(), published_at_given=True, tier=None, chain_flag="--rpc-url")
    with pytest.raises(UsageError, match=r"^--published-at and --tier contradict"):
        check_chain_conflicts(
            PlanFlags(), published_at_given=True, tier="oracle", chain_flag="--tier"
        )


def test_chain_source_notes_and_now() -> None:
    from noderr_deploy.chain.rpc import BlockInfo
    from noderr_deploy.chain.source import ChainSource, RolloutSource

    block = BlockInfo(7, T0)
    address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    source = ChainSource(
        address, 31337, block, paused=True, tier="guardian", beacon_tier=1, version=None
    )
    where = f"the VersionBeacon {address} (chain 31337, block 7)"
    assert source.notes() == [
        f"the rollout is PAUSED on {where}",
        f"tier 'guardian' (beacon tier 1) has no version published on {where}:"
        " no publish time, so no activation times",
    ]
    untiered = ChainSource(
        address, 31337, block, paused=False, tier=None, beacon_tier=None, version=None
    )
    assert untiered.notes() == []
    assert RolloutSource(RolloutPlan(), None, {}, chain=untiered).now == T0
    assert RolloutSource(RolloutPlan(), None, {}).now is None
