"""``noderr rollout status`` and ``noderr version`` against a real anvil chain.

The VersionBeacon of contracts/VersionBeacon.sol is compiled with solc-js and deployed on a
private anvil per test; chain time is moved with anvil's RPC. Nothing is mocked: failure
modes use a killed anvil, a closed port and a real socket that never answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.chain.beacon import beacon_abi
from noderr_deploy.cli import app
from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket
from tests.support.anvil import Anvil
from tests.support.beacon_chain import CONTRACTS, GUARDIAN, ORACLE, VALIDATOR, BeaconDriver
from tests.support.beacon_chain import deploy as deploy_contract
from tests.support.rpc_servers import CountingProxy, SilentServer

DAY = 86400
TIERS_YAML = """\
tiers:
  validator: {beacon_tier: 0, size_budget: 1GB}
  guardian:  {beacon_tier: 1, size_budget: 1GB}
  oracle:    {beacon_tier: 2, size_budget: 1GB}
"""


@pytest.fixture
def tiers_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(TIERS_YAML)
    return path


@pytest.fixture
def run(tiers_yaml: Path) -> Callable[..., Any]:
    """``run(*args, url=..., beacon=...)``: the CLI with the chain settings as env vars."""

    def invoke(*args: str, url: str, address: str, **env: str) -> Any:
        environ = {
            "NODERR_RPC_URL": url,
            "NODERR_BEACON_ADDRESS": address,
            "NODERR_CONFIG": str(tiers_yaml),
            **env,
        }
        # --quiet: stderr then holds only the error line, so tests can compare it whole.
        return CliRunner().invoke(app, [*args, "--quiet"], env=environ)

    return invoke


def status_json(run: Callable[..., Any], url: str, address: str, *extra: str) -> dict[str, Any]:
    result = run("rollout", "status", "--json", *extra, url=url, address=address)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


DEFAULT_PLAN = RolloutPlan()


def node_in(cohort: str, plan: RolloutPlan = DEFAULT_PLAN) -> str:
    """A node id whose bucket falls in ``cohort``."""
    for i in range(10_000):
        if plan.cohort_of_bucket(bucket(f"node-{i}")) == cohort:
            return f"node-{i}"
    raise AssertionError(cohort)


# ---- reading ----


def test_status_reads_every_tier_at_one_block(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    v = beacon.publish(VALIDATOR, "1.2.3", config_hash=bytes(range(32)))
    o = beacon.publish(ORACLE, "2.0.0", tag="2.0.0-oracle")
    doc = status_json(run, node.url, beacon.address)
    head = node.rpc("eth_getBlockByNumber", ["latest", False])
    assert doc["block"] == int(head["number"], 16) == o.block
    assert doc["time"] == iso(o.timestamp)
    assert doc["rollout"] == {
        "canaryPercentage": 5,
        "cohortPercentage": 25,
        "cohortDelayHours": 24,
        "isActive": True,
    }
    validator, guardian, oracle = doc["tiers"]
    publisher = beacon.account
    assert validator == {
        "tier": "validator",
        "beaconTier": 0,
        "versionId": v.version_id,
        "versionString": "1.2.3",
        "dockerImageTag": "1.2.3-validator",
        "configHash": "0x" + bytes(range(32)).hex(),
        "publishedAt": iso(v.timestamp),
        "publisher": publisher,
        "isActive": True,
        "isEmergencyRollback": False,
        "phase": "canary",
        "schedule": [
            {"cohort": c, "activatesAt": iso(v.timestamp + k * DAY), "active": k == 0}
            for k, c in enumerate(COHORTS)
        ],
    }
    assert guardian["versionId"] is None
    assert guardian["phase"] is None
    assert guardian["schedule"] == []
    assert (oracle["versionId"], oracle["dockerImageTag"]) == (o.version_id, "2.0.0-oracle")


def test_status_text_shows_versions_missing_tiers_and_pause(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.publish(VALIDATOR, "1.2.3")
    beacon.set_rollout(10, 20, 12, active=False)
    result = run("rollout", "status", url=node.url, address=beacon.address)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "Rollout PAUSED: canary 10%, cohorts of 20%, 12 h apart"
    assert any(
        line.split()[:2] == ["guardian", "1"] and "no version published" in line for line in lines
    )
    assert any(line.startswith("validator") and "canary (paused)" in line for line in lines)
    assert "validator: version 1 1.2.3" in lines


def test_phases_through_time_at_each_boundary(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.set_rollout(5, 25, 24)
    published = beacon.publish(GUARDIAN, "3.1.0")
    t0 = published.timestamp
    nodes = {c: node_in(c) for c in COHORTS}
    expected_phase = (*COHORTS, "complete")
    for k in range(1, 6):
        for offset, phase_index in ((-1, k - 1), (0, k)):
            moment = t0 + k * DAY + offset
            beacon.set_next_timestamp(moment)
            doc = status_json(run, node.url, beacon.address, "--tier", "guardian")
            tier = doc["tiers"][0]
            assert doc["time"] == iso(moment)
            assert tier["phase"] == expected_phase[phase_index], (k, offset)
            active = [e["active"] for e in tier["schedule"]]
            assert active == [i <= min(phase_index, 4) for i in range(5)], (k, offset)
            for i, cohort in enumerate(COHORTS):
                result = run(
                    "version", nodes[cohort], "--tier", "guardian", "--current", "3.0.0", "--json",
                    url=node.url, address=beacon.address,
                )  # fmt: skip
                assert result.exit_code == 0, result.stderr
                answer = json.loads(result.stdout)
                assert answer["cohort"] == cohort
                assert answer["activatesAt"] == iso(t0 + i * DAY)
                assert answer["shouldUpdate"] is (i <= phase_index), (k, offset, cohort)


def test_increase_time_moves_the_phase_on_chain_time(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    beacon.publish(ORACLE, "1.0.0")
    phases = []
    for _ in range(3):
        node.increase_time(DAY + 60)
        phases.append(status_json(run, node.url, beacon.address, "-t", "oracle")["tiers"][0])
    assert [p["phase"] for p in phases] == ["cohort1", "cohort2", "cohort3"]


def test_version_json_and_emergency_priority(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    first = beacon.publish(ORACLE, "1.0.0")
    beacon.publish(ORACLE, "1.1.0")
    rollback = beacon.emergency_rollback(ORACLE, first.version_id)
    node_id = node_in("cohort4")
    result = run(
        "version", node_id, "--tier", "oracle", "--current", "1.1.0", "--json",
        url=node.url, address=beacon.address,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "nodeId": node_id,
        "tier": "oracle",
        "versionId": rollback.version_id,
        "versionString": "1.0.0",
        "dockerImageTag": "1.0.0-oracle",
        "configHash": "0x" + "11" * 32,
        "publishedAt": iso(rollback.timestamp),
        "cohort": "cohort4",
        "bucket": bucket(node_id),
        "activatesAt": iso(rollback.timestamp + 4 * DAY),
        "at": iso(rollback.timestamp),
        "shouldUpdate": False,
        "updatePriority": "emergency",
        "paused": False,
        "warnings": [],
        "notes": [],
    }
    status = status_json(run, node.url, beacon.address, "--tier", "oracle")["tiers"][0]
    assert status["isEmergencyRollback"] is True


def test_at_overrides_chain_time(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    published = beacon.publish(VALIDATOR, "1.0.0")
    later = str(published.timestamp + 2 * DAY)
    doc = status_json(run, node.url, beacon.address, "-t", "validator", "--at", later)
    assert doc["tiers"][0]["phase"] == "cohort2"
    assert doc["time"] == iso(published.timestamp)  # still the block's own time


def test_pinned_block_shows_the_older_state(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    old = beacon.publish(VALIDATOR, "1.0.0")
    beacon.publish(VALIDATOR, "1.1.0")
    beacon.set_rollout(10, 20, 48)
    doc = status_json(run, node.url, beacon.address, "--block", str(old.block))
    assert doc["block"] == old.block
    assert doc["tiers"][0]["versionString"] == "1.0.0"
    assert doc["tiers"][0]["isActive"] is True  # deactivated only in a later block
    assert doc["rollout"]["cohortDelayHours"] == 24
    latest = status_json(run, node.url, beacon.address)
    assert latest["tiers"][0]["versionString"] == "1.1.0"
    node.mine(40)
    safe = status_json(run, node.url, beacon.address, "--block", "safe")
    assert safe["block"] == latest["block"] + 40 - 32  # anvil: safe = latest - 32
    assert safe["tiers"][0]["versionString"] == "1.1.0"
    result = run("rollout", "status", "--block", "0", url=node.url, address=beacon.address)
    assert result.exit_code == 1
    assert result.stderr == f"error: no contract at {beacon.address} on chain 31337 (block 0)\n"


def test_three_tier_status_needs_three_http_requests(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    for tier in (VALIDATOR, GUARDIAN, ORACLE):
        beacon.publish(tier, "1.0.0")
    with CountingProxy(node.url) as proxy:
        doc = status_json(run, proxy.url, beacon.address)
    assert [t["versionString"] for t in doc["tiers"]] == ["1.0.0"] * 3
    assert proxy.requests == [
        ["eth_chainId", "eth_getBlockByNumber"],
        ["eth_getCode", "eth_call", "eth_call", "eth_call", "eth_call", "eth_call"],
        ["eth_call", "eth_call", "eth_call"],
    ]


# ---- failure modes ----


def test_tier_without_version(node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]) -> None:
    result = run("version", "node-1", "--tier", "guardian", url=node.url, address=beacon.address)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no version published for tier 'guardian' (beacon tier 1) on the VersionBeacon"
        f" {beacon.address}, chain 31337, block {int(node.rpc('eth_blockNumber'), 16)}\n"
    )


def test_no_contract_at_address(node: Anvil, run: Callable[..., Any]) -> None:
    address = "0x000000000000000000000000000000000000dEaD"
    result = run("rollout", "status", url=node.url, address=address)
    assert result.exit_code == 1
    assert result.stderr == f"error: no contract at {address} on chain 31337 (block 0)\n"


def test_contract_with_another_abi(
    node: Anvil,
    solc: Callable[..., Any],
    run: Callable[..., Any],
) -> None:
    abi, bytecode = solc(CONTRACTS / "NotABeacon.sol")
    address = deploy_contract(node.url, abi, bytecode)
    result = run("rollout", "status", url=node.url, address=address)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: rolloutConfig() on {address} returned 32 bytes that do not decode as"
        " (uint8, uint8, uint256, bool): is this a VersionBeacon?\n"
    )


def test_call_that_reverts_names_the_function(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    # The beacon's tier enum has 3 members: tier slot 7 makes currentVersionId revert.
    config = tmp_path / "odd.yaml"
    config.write_text("tiers:\n  odd: {beacon_tier: 7, size_budget: 1GB}\n")
    result = run(
        "rollout", "status", url=node.url, address=beacon.address, NODERR_CONFIG=str(config)
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: beacon tier 7 is not a tier slot of the VersionBeacon at {beacon.address}:"
        " currentVersionId(7) reverted (execution reverted"
    )
    assert result.stderr.endswith(
        "; its slots are 0 VALIDATOR, 1 GUARDIAN, 2 ORACLE (check beacon_tier in tiers.yaml)\n"
    )


def test_wrong_chain_id(node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]) -> None:
    result = run("rollout", "status", "--chain-id", "84532", url=node.url, address=beacon.address)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: RPC {node.url} serves chain 31337, not the expected chain 84532"
        " (--chain-id / NODERR_CHAIN_ID / beacon.chain_id)\n"
    )


def test_block_that_does_not_exist_yet(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    result = run("rollout", "status", "--block", "999", url=node.url, address=beacon.address)
    assert result.exit_code == 2
    assert result.stderr == "error: --block 999: no such block on chain 31337 yet\n"


def test_anvil_killed_mid_suite(node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]) -> None:
    beacon.publish(VALIDATOR, "1.0.0")
    assert run("rollout", "status", url=node.url, address=beacon.address).exit_code == 0
    node.kill()
    started = time.monotonic()
    result = run("rollout", "status", url=node.url, address=beacon.address)
    assert time.monotonic() - started < 3
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: RPC {node.url} unreachable (reading the chain id and block):"
        " connection refused after 3 attempt(s)\n"
    )


def test_port_with_nothing_listening_is_redacted(run: Callable[..., Any]) -> None:
    with SilentServer() as probe:  # a port that was free a moment ago
        port = probe.url.rsplit(":", 1)[1]
    url = f"http://user:pw@127.0.0.1:{port}/v2/abcDEF1234567890xyz"
    result = run("rollout", "status", url=url, address="0x" + "11" * 20)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: RPC http://127.0.0.1:{port}/*** unreachable (reading the chain id and"
        " block): connection refused after 3 attempt(s)\n"
    )


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def test_socket_that_never_answers_fails_within_the_timeout(
    silent: SilentServer, run: Callable[..., Any]
) -> None:
    started = time.monotonic()
    result = run("rollout", "status", "--timeout", "1.5", url=silent.url, address="0x" + "11" * 20)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: RPC {silent.url}: no answer within 1.5 s (reading the chain id and block;"
        " raise --timeout or NODERR_RPC_TIMEOUT)\n"
    )
    assert 1.4 < elapsed < 3.0
    assert silent.connections == 1


def test_shipped_abi_matches_the_contract(solc: Callable[..., Any]) -> None:
    abi, _ = solc(CONTRACTS / "VersionBeacon.sol")

    def shape(entry: dict[str, Any]) -> Any:
        def types(params: list[dict[str, Any]]) -> list[Any]:
            return [(p["type"], types(p.get("components", []))) for p in params]

        return (entry["stateMutability"], types(entry["inputs"]), types(entry["outputs"]))

    compiled = {e["name"]: shape(e) for e in abi if e["type"] == "function"}
    shipped = {e["name"]: shape(e) for e in beacon_abi()}
    assert list(shipped) == [
        "currentVersionId",
        "versions",
        "rolloutConfig",
        "nextVersionId",
        "getCurrentVersion",
        "getVersion",
        "getRolloutConfig",
    ]
    assert {name: compiled[name] for name in shipped} == shipped


def test_plan_and_version_from_chain(node: Anvil, beacon: BeaconDriver) -> None:
    from noderr_deploy.chain.beacon import plan_and_version_from_chain
    from noderr_deploy.chain.settings import ChainSettings

    beacon.set_rollout(10, 20, 12)
    published = beacon.publish(ORACLE, "5.0.0")
    settings = ChainSettings(rpc_url=node.url, beacon_address=beacon.address, chain_id=31337)
    plan, version, block = plan_and_version_from_chain(settings, ORACLE)
    assert plan == RolloutPlan(10, 20, 12)
    assert version is not None
    assert (version.version_id, version.version_string) == (published.version_id, "5.0.0")
    assert version.published_at == datetime.fromtimestamp(published.timestamp, tz=UTC)
    assert (block.number, int(block.time.timestamp())) == (published.block, published.timestamp)
    assert plan_and_version_from_chain(settings, GUARDIAN)[1] is None


def test_version_text_when_paused(
    node: Anvil, beacon: BeaconDriver, run: Callable[..., Any]
) -> None:
    published = beacon.publish(VALIDATOR, "2.0.0", tag="2.0.0-all")
    beacon.set_rollout(5, 25, 24, active=False)
    node_id = node_in("cohort3")
    result = run(
        "version", node_id, "-t", "validator", "--current", "2.0.0",
        url=node.url, address=beacon.address,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "field          value",
        f"node           {node_id}",
        "tier           validator (beacon tier 0)",
        f"version        {published.version_id} 2.0.0",
        "image tag      2.0.0-all",
        f"config hash    0x{'11' * 32}",
        f"published      {iso(published.timestamp)}",
        f"cohort         cohort3 (bucket {bucket(node_id)})",
        f"activates at   {iso(published.timestamp + 3 * DAY)}",
        "should update  no (already on it)",
        "rollout        PAUSED on the beacon",
    ]
