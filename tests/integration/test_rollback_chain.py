"""``noderr rollback check --tier`` against a real anvil chain and VersionBeacon.

The version under evaluation and the rollout plan come from the chain; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.cohorts import RolloutPlan
from tests.health_data import ids_in, jsonl, record
from tests.support.anvil import Anvil
from tests.support.beacon_chain import GUARDIAN, ORACLE, BeaconDriver

TIERS_YAML = """\
rollout: {canary_percentage: 5, cohort_percentage: 25}
tiers:
  validator: {beacon_tier: 0, size_budget: 1GB}
  guardian:  {beacon_tier: 1, size_budget: 1GB}
  oracle:    {beacon_tier: 2, size_budget: 1GB}
"""
CHAIN_PLAN = RolloutPlan(canary_percentage=10, cohort_percentage=20)


@pytest.fixture
def beacon(beacon: BeaconDriver) -> BeaconDriver:
    """The shared fixture's beacon, with this module's rollout config."""
    beacon.set_rollout(CHAIN_PLAN.canary_percentage, CHAIN_PLAN.cohort_percentage, 24)
    return beacon


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """Canary nodes of the chain's plan: 2 of 10 unhealthy on 1.4.2, all healthy on 1.4.1."""
    canary = ids_in("canary", 10, CHAIN_PLAN)
    docs = [record(n, version="1.4.2", cpu=99 if i < 2 else 10) for i, n in enumerate(canary)]
    docs += [record(f"old-{n}", version="1.4.1") for n in canary]
    path = tmp_path / "health.jsonl"
    path.write_bytes(jsonl(*docs))
    (tmp_path / "tiers.yaml").write_text(TIERS_YAML)
    return path


def check(node: Anvil, beacon: BeaconDriver, export: Path, *args: str) -> Any:
    env = {
        "NODERR_RPC_URL": node.url,
        "NODERR_BEACON_ADDRESS": beacon.address,
        "NODERR_CONFIG": str(export.parent / "tiers.yaml"),
    }
    argv = ["rollback", "check", "--health", str(export), "--quiet", "--json", *args]
    return CliRunner().invoke(app, argv, env=env)


def test_tier_takes_version_and_plan_from_the_chain(
    node: Anvil, beacon: BeaconDriver, export: Path
) -> None:
    beacon.publish(ORACLE, "1.4.1")
    beacon.publish(ORACLE, "1.4.2")
    result = check(node, beacon, export, "--tier", "oracle")
    assert result.exit_code == 3, result.stderr
    document = json.loads(result.stdout)
    assert (document["tier"], document["version"]) == ("oracle", "1.4.2")
    assert document["plan"] == {
        "canaryPercentage": 10,
        "cohortPercentage": 20,
        "cohortDelayHours": 24,
    }
    assert document["reports"]["otherVersion"] == 10
    assert document["cohorts"][0]["nodes"] == 10
    assert document["cohorts"][0]["reasons"] == ["unhealthy 20.0% > 10.0%"]


def test_version_beats_the_chain_and_the_plan_is_the_chains(
    node: Anvil, beacon: BeaconDriver, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beacon.publish(ORACLE, "1.4.2")
    # Plan values in the environment (and tiers.yaml's 5/25) are ambient: the chain wins.
    monkeypatch.setenv("NODERR_CANARY_PERCENTAGE", "5")
    result = check(node, beacon, export, "--tier", "oracle", "--version", "1.4.1")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["tier"], document["version"]) == ("oracle", "1.4.1")
    assert (document["plan"]["canaryPercentage"], document["plan"]["cohortPercentage"]) == (10, 20)
    assert document["verdict"] == "ok"


def test_tier_without_a_version_is_exit_1(node: Anvil, beacon: BeaconDriver, export: Path) -> None:
    beacon.publish(ORACLE, "1.4.2")
    result = check(node, beacon, export, "--tier", "guardian")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: no version published for tier 'guardian' (beacon tier {GUARDIAN}) on the"
        " VersionBeacon: nothing to evaluate (pass --version V to choose one)\n"
    )


def test_unreachable_chain_is_exit_1(node: Anvil, beacon: BeaconDriver, export: Path) -> None:
    node.kill()
    result = check(node, beacon, export, "--tier", "oracle")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: RPC {node.url} unreachable")


def test_hostile_chain_text_reaches_no_signer_raw(node: Anvil, beacon: BeaconDriver) -> None:
    # A hostile review: the proposal's description carried the chain's ESC, U+202E and
    # newlines raw, for signers to read (and `jq -r .description` to echo). The version
    # strings are escaped in it; the JSON document keeps them exact where they are data.
    beacon.publish(ORACLE, "1.0.0", "1.0.0-oracle")
    hostile = "2.0\x1b[31m\u202e\nforged line"
    beacon.publish(ORACLE, hostile, "2.0.0-oracle")
    env = {"NODERR_RPC_URL": node.url, "NODERR_BEACON_ADDRESS": beacon.address}
    argv = ["rollback", "propose", "--tier", "oracle", "--reason", "bad", "--format", "proposal"]
    result = CliRunner().invoke(app, argv, env={**env, "NODERR_CONFIG": None})
    assert result.exit_code == 0, result.stderr
    description = json.loads(result.stdout)["description"]
    for raw in ("\x1b", "\u202e", "\nforged line"):
        assert raw not in description, description
    assert "2.0\\x1b[31m\\u202e\\nforged line" in description
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
