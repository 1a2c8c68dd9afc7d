"""``noderr rollback propose`` and ``noderr publish`` through a real Safe on anvil.

The test beacon (contracts/VersionBeacon.sol) is owned by a 2-of-3 Safe v1.4.1 deployed from
the npm package's artifacts: only a Safe transaction signed by two owners may write to it.
A proposal in Safe Transaction Builder format is executed the way the Safe app does it
(EIP-712 ``SafeTx`` signatures, ``execTransaction``), then ``rollout status`` reads the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.chain.proposal import safe_checksum
from noderr_deploy.cli import app
from tests.support.anvil import Anvil
from tests.support.beacon_chain import CONTRACTS, ORACLE, VALIDATOR, BeaconDriver
from tests.support.components import require
from tests.support.safe import SafeDriver, artifacts_present, deploy_safe, transfer_beacon

TIERS_YAML = """\
registry: {registry}
tiers:
  validator: {{beacon_tier: 0, size_budget: 1GB}}
  guardian:  {{beacon_tier: 1, size_budget: 1GB}}
  oracle:    {{beacon_tier: 2, size_budget: 1GB}}
"""


@pytest.fixture
def safe(node: Anvil) -> SafeDriver:
    if not artifacts_present():
        require("Safe contracts", "no @safe-global/safe-contracts artifacts: run `npm ci`")
    return deploy_safe(node.url)


@pytest.fixture
def guarded(
    node: Anvil, solc: Callable[..., Any], beacon: BeaconDriver, safe: SafeDriver
) -> BeaconDriver:
    """The beacon with 1.0.0 then 2.0.0 published for oracle, then handed to the Safe."""
    beacon.publish(ORACLE, "1.0.0")
    beacon.publish(VALIDATOR, "0.9.0")
    beacon.publish(ORACLE, "2.0.0")
    abi, _ = solc(CONTRACTS / "VersionBeacon.sol")
    transfer_beacon(node.url, abi, beacon.address, safe.address)
    return beacon


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., Any]:
    config = tmp_path / "tiers.yaml"
    config.write_text(TIERS_YAML.format(registry="127.0.0.1:5000"))

    def invoke(*args: str, url: str, address: str, **env: str) -> Any:
        environ = {
            "NODERR_RPC_URL": url,
            "NODERR_BEACON_ADDRESS": address,
            "NODERR_CONFIG": str(config),
            **env,
        }
        return CliRunner().invoke(app, list(args), env=environ)

    return invoke


def status(run: Callable[..., Any], url: str, address: str) -> dict[str, Any]:
    result = run("rollout", "status", "--json", "--tier", "oracle", url=url, address=address)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout)["tiers"][0])


def execute_batch(safe: SafeDriver, batch: dict[str, Any]) -> None:
    for tx in batch["transactions"]:
        receipt = safe.execute(tx["to"], int(tx["value"]), tx["data"])
        assert safe.executed(receipt), receipt


def test_rollback_proposal_executed_by_the_safe(
    node: Anvil, guarded: BeaconDriver, safe: SafeDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "rollback.json"
    before = status(run, node.url, guarded.address)
    assert before["versionString"] == "2.0.0"
    result = run(
        "rollback",
        "propose",
        "--tier",
        "oracle",
        "--reason",
        "cohort1 unhealthy 40% > 10%",
        "--format",
        "safe",
        "--safe",
        safe.address,
        "--out",
        str(out),
        url=node.url,
        address=guarded.address,
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    batch = json.loads(out.read_text())
    assert batch["chainId"] == str(node.chain_id)
    assert batch["meta"]["createdFromSafeAddress"] == safe.address
    assert batch["meta"]["checksum"] == safe_checksum(batch)
    (tx,) = batch["transactions"]
    assert tx["to"] == guarded.address
    assert tx["contractMethod"]["name"] == "emergencyRollback"
    # 1.0.0 is id 1; the validator's 0.9.0 (id 2) is another tier's; 2.0.0 is id 3.
    assert tx["contractInputsValues"] == {"tier": "2", "toVersionId": "1"}
    assert "emergencyRollback(uint8,uint256)" in result.stderr
    assert "cohort1 unhealthy 40% > 10%" in batch["meta"]["description"]

    # Nobody but the Safe may write: the deployer's own attempt reverts.
    with pytest.raises(Exception, match="not the owner"):
        guarded.emergency_rollback(ORACLE, 1)
    # One owner's signature is not enough.
    with pytest.raises(Exception, match="GS020"):
        safe.execute(tx["to"], 0, tx["data"], signers=safe.owners[:1])

    execute_batch(safe, batch)
    after = status(run, node.url, guarded.address)
    assert after["versionString"] == "1.0.0"
    assert after["isEmergencyRollback"] is True
    assert after["versionId"] == 4


def test_publish_proposal_executed_by_the_safe(
    node: Anvil, guarded: BeaconDriver, safe: SafeDriver, run: Callable[..., Any], tmp_path: Path
) -> None:
    config = tmp_path / "node.json"
    config.write_bytes(b'{"maxPeers": 50}\n')
    result = run(
        "publish",
        "--tier",
        "oracle",
        "--version",
        "3.0.0",
        "--config-file",
        str(config),
        "--no-verify-image",
        "--format",
        "safe",
        "--safe",
        safe.address,
        url=node.url,
        address=guarded.address,
    )
    assert result.exit_code == 0, result.stderr
    batch = json.loads(result.stdout)
    (tx,) = batch["transactions"]
    from noderr_deploy.keccak import keccak256

    assert tx["contractInputsValues"] == {
        "tier": "2",
        "versionString": "3.0.0",
        "dockerImageTag": "3.0.0-oracle",
        "configHash": "0x" + keccak256(config.read_bytes()).hex(),
        "isEmergencyRollback": "false",
    }
    execute_batch(safe, batch)
    after = status(run, node.url, guarded.address)
    assert after["versionString"] == "3.0.0"
    assert after["dockerImageTag"] == "3.0.0-oracle"
    assert after["isEmergencyRollback"] is False


def test_shipped_write_abi_matches_the_contract(solc: Callable[..., Any]) -> None:
    from importlib import resources

    from noderr_deploy.chain.writeabi import DEFAULT_ABI

    compiled, _ = solc(CONTRACTS / "VersionBeacon.sol")
    shipped = json.loads(resources.files("noderr_deploy").joinpath(DEFAULT_ABI).read_text())
    by_key = {(e["type"], e["name"]): e for e in compiled if "name" in e}
    assert [(e["type"], e["name"]) for e in shipped] == [
        ("function", "publishVersion"),
        ("function", "emergencyRollback"),
        ("event", "VersionPublished"),
        ("event", "EmergencyRollback"),
    ]
    assert all(by_key[(e["type"], e["name"])] == e for e in shipped)
