"""``noderr cohort`` with its plan (and publish time) from a VersionBeacon on a real anvil.

The beacon of contracts/VersionBeacon.sol is compiled with solc-js and deployed on a private
anvil per test; chain time is moved with anvil's RPC. Nothing is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket
from tests.support.anvil import Anvil
from tests.support.beacon_chain import GUARDIAN, ORACLE, VALIDATOR, BeaconDriver
from tests.support.rpc_servers import CountingProxy

HOUR = 3600
TIERS_YAML = """\
tiers:
  validator: {beacon_tier: 0, size_budget: 1GB}
  guardian:  {beacon_tier: 1, size_budget: 1GB}
  oracle:    {beacon_tier: 2, size_budget: 1GB}
"""
PLAN = RolloutPlan(10, 20, 12)
"""The non-default rollout config the tests put on chain."""
UPDATER_WARNING = (
    "warning: the node auto-updater never updates buckets 90..99 (10% of buckets): canary 10"
    " + 4 x cohort 20 < 100, while the deployment engine places them in cohort4"
)


@pytest.fixture
def cohort(
    tmp_path: Path, node: Anvil, beacon: BeaconDriver, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """``cohort(*args, **env)``: ``noderr cohort`` with the beacon's address and endpoint in
    the environment (so ``--tier`` alone asks for the chain)."""
    config = tmp_path / "tiers.yaml"
    config.write_text(TIERS_YAML)
    for name in ("NODERR_CANARY_PERCENTAGE", "NODERR_COHORT_PERCENTAGE", "NODERR_CHAIN_ID"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, **env: str) -> Any:
        environ = {
            "NODERR_RPC_URL": node.url,
            "NODERR_BEACON_ADDRESS": beacon.address,
            "NODERR_CONFIG": str(config),
            **env,
        }
        return CliRunner().invoke(app, ["cohort", *args], env=environ)

    return invoke


def ok(result: Any) -> Any:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def node_in(cohort: str, plan: RolloutPlan) -> str:
    """A node id whose bucket falls in ``cohort`` under ``plan``."""
    for i in range(10_000):
        if plan.cohort_of_bucket(bucket(f"node-{i}")) == cohort:
            return f"node-{i}"
    raise AssertionError(cohort)


def head(node: Anvil) -> tuple[int, int]:
    block = node.rpc("eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), int(block["timestamp"], 16)


# ---- the plan ----


def test_plan_from_the_chain_changes_cohorts(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    ids = ("validator-eu-1", "node-1", "node-0")  # buckets 75, 63, 92
    offline = json.loads(ok(cohort(*ids, "--json")).stdout)
    assert [r["cohort"] for r in offline] == ["cohort3", "cohort3", "cohort4"]
    beacon.set_rollout(10, 20, 12)
    number, _ = head(node)
    result = ok(cohort(*ids, "--json", "--rpc-url", node.url))
    assert [r["cohort"] for r in json.loads(result.stdout)] == ["cohort4", "cohort3", "cohort4"]
    assert result.stderr.splitlines() == [
        f"plan 10/20/12 (canary/cohort %/delay h) from the VersionBeacon {beacon.address}"
        f" (chain 31337, block {number})",
        UPDATER_WARNING,
    ]


def test_summary_with_the_chain_plan(
    beacon: BeaconDriver, cohort: Callable[..., Any], tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"node-{i}\n" for i in range(10_000)))
    beacon.set_rollout(10, 20, 12)
    document = json.loads(
        ok(cohort("-f", str(ids), "--summary", "--json", "--beacon", beacon.address)).stdout
    )
    buckets = [bucket(f"node-{i}") for i in range(10_000)]
    bounds = [0, 10, 30, 50, 70, 100]
    expected = {
        name: sum(bounds[k] <= b < bounds[k + 1] for b in buckets) for k, name in enumerate(COHORTS)
    }
    assert document["cohorts"] == expected
    assert document["plan"] == {
        "canaryPercentage": 10,
        "cohortPercentage": 20,
        "cohortDelayHours": 12,
    }
    assert document["warnings"] == [UPDATER_WARNING.removeprefix("warning: ")]
    assert "publishedAt" not in document  # no tier, no --published-at: no schedule


def test_environment_plan_values_give_way_to_the_chain(
    beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 20, 12)
    beacon.publish(ORACLE, "1.0.0")
    row = json.loads(
        ok(cohort("node-1", "--tier", "oracle", "--json", NODERR_CANARY_PERCENTAGE="70")).stdout
    )
    assert row["cohort"] == "cohort3"  # 10/20 from the chain; with 70 it would be the canary


def test_pinned_block_reads_the_older_plan(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    old = beacon.publish(VALIDATOR, "1.0.0")
    beacon.set_rollout(10, 20, 12)
    node.increase_time(10 * HOUR)
    pinned = json.loads(
        ok(cohort("validator-eu-1", "-t", "validator", "--block", str(old.block), "--json")).stdout
    )
    assert pinned["cohort"] == "cohort3"  # 5/25/24 at that block
    assert pinned["activatesAt"] == iso(old.timestamp + 3 * 24 * HOUR)
    latest = json.loads(ok(cohort("validator-eu-1", "-t", "validator", "--json")).stdout)
    assert (latest["cohort"], latest["activatesAt"]) == (
        "cohort4",
        iso(old.timestamp + 4 * 12 * HOUR),
    )


# ---- the publish time and "now" ----


def test_tier_gives_publish_time_and_block_time_at_each_boundary(
    beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 20, 12)
    published = beacon.publish(GUARDIAN, "3.1.0")
    t0 = published.timestamp
    ids = [node_in(c, PLAN) for c in COHORTS]
    for k in range(1, 5):
        for offset, reached in ((-1, k - 1), (0, k)):
            beacon.set_next_timestamp(t0 + k * 12 * HOUR + offset)
            rows = json.loads(ok(cohort(*ids, "--tier", "guardian", "--json")).stdout)
            assert [r["cohort"] for r in rows] == list(COHORTS)
            assert [r["activatesAt"] for r in rows] == [iso(t0 + i * 12 * HOUR) for i in range(5)]
            assert [r["active"] for r in rows] == [i <= reached for i in range(5)], (k, offset)


def test_summary_schedule_at_block_time_and_at_override(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 20, 12)
    published = beacon.publish(ORACLE, "2.0.0")
    node.increase_time(25 * HOUR)
    number, now = head(node)
    result = ok(cohort("node-1", "node-2", "--summary", "--json", "--tier", "oracle"))
    document = json.loads(result.stdout)
    assert (document["publishedAt"], document["at"]) == (iso(published.timestamp), iso(now))
    assert document["phase"] == "cohort2"
    assert [e["active"] for e in document["schedule"]] == [True, True, True, False, False]
    assert result.stderr.splitlines()[0] == (
        f"plan 10/20/12 (canary/cohort %/delay h) from the VersionBeacon {beacon.address}"
        f" (chain 31337, block {number}); oracle version {published.version_id} 2.0.0"
        f" published {iso(published.timestamp)}"
    )
    later = str(published.timestamp + 60 * HOUR)
    document = json.loads(
        ok(cohort("node-1", "--summary", "--json", "-t", "oracle", "--at", later)).stdout
    )
    assert (document["at"], document["phase"]) == (iso(published.timestamp + 60 * HOUR), "complete")


def test_published_at_with_the_chain_plan_but_no_tier(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 20, 12)
    _, now = head(node)
    row = json.loads(
        ok(
            cohort(
                "node-2",
                "--beacon",
                beacon.address,
                "--published-at",
                str(now - 24 * HOUR),
                "--json",
            )
        ).stdout
    )
    # node-2: bucket 37, cohort2 under 10/20, due 24 h after publishing: active at block time.
    assert (row["cohort"], row["activatesAt"], row["active"]) == ("cohort2", iso(now), True)


# ---- what the chain may lack ----


def test_tier_without_a_version_keeps_the_chain_plan(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 20, 12)
    beacon.publish(ORACLE, "1.0.0")
    number, _ = head(node)
    for extra in ((), ("--at", "0.0")):
        result = ok(cohort("validator-eu-1", "--tier", "guardian", "--json", *extra))
        assert json.loads(result.stdout) == {
            "nodeId": "validator-eu-1",
            "bucket": 75,
            "cohort": "cohort4",
            "activatesAt": None,
            "active": None,
        }
        where = f"the VersionBeacon {beacon.address} (chain 31337, block {number})"
        assert result.stderr.splitlines()[1:] == [
            UPDATER_WARNING,
            f"warning: tier 'guardian' (beacon tier 1) has no version published on {where}:"
            " no publish time, so no activation times",
        ]


def test_paused_rollout_is_a_warning(beacon: BeaconDriver, cohort: Callable[..., Any]) -> None:
    beacon.publish(VALIDATOR, "1.0.0")
    beacon.set_rollout(5, 25, 24, active=False)
    result = ok(cohort("node-1", "--summary", "--json", "-t", "validator"))
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith(
        "the rollout is PAUSED on the VersionBeacon"
    )
    assert f"warning: {warnings[0]}" in result.stderr.splitlines()


def test_chain_failures(node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]) -> None:
    result = cohort("node-1", "--tier", "oracle", "--chain-id", "84532")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: RPC {node.url} serves chain 31337, not the expected chain 84532"
        " (--chain-id / NODERR_CHAIN_ID / beacon.chain_id)\n"
    )
    nobody = "0x000000000000000000000000000000000000dEaD"
    result = cohort("node-1", "--beacon", nobody)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no contract at {nobody} on chain 31337 (block ")
    node.kill()
    result = cohort("node-1", "--tier", "oracle", "--timeout", "2")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: RPC {node.url} unreachable (reading the chain id and block):"
        " connection refused after 3 attempt(s)\n"
    )


def test_requests_a_chain_read_makes(
    node: Anvil, beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.publish(ORACLE, "1.0.0")
    with CountingProxy(node.url) as proxy:
        ok(cohort("node-1", "--tier", "oracle", "--rpc-url", proxy.url))
        ok(cohort("node-1", "--rpc-url", proxy.url))
    assert proxy.requests == [
        ["eth_chainId", "eth_getBlockByNumber"],
        # rolloutConfig, nextVersionId, currentVersionId
        ["eth_getCode", "eth_call", "eth_call", "eth_call"],
        ["eth_call"],  # versions
        ["eth_chainId", "eth_getBlockByNumber"],
        ["eth_getCode", "eth_call"],  # rolloutConfig only: no tier
    ]


def test_a_rollout_config_that_leaves_cohort4_empty_runs(
    beacon: BeaconDriver, cohort: Callable[..., Any]
) -> None:
    beacon.set_rollout(10, 40, 24)  # the engine's cumulative rule: cohort3 ends at bucket 99
    plan = RolloutPlan(10, 40, 24)
    node_id = node_in("cohort3", plan)
    result = ok(cohort(node_id, "--beacon", beacon.address, "--json"))
    assert json.loads(result.stdout)["cohort"] == "cohort3"
    assert bucket(node_id) >= 90
    assert (
        "cohort4 is empty: canary 10 + 3 x cohort 40 >= 100, so cohort3 ends at bucket 99"
        in result.stderr.splitlines()
    )
