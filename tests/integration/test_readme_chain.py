"""README listings that read a chain, produced on a throwaway anvil in the state they show.

The listing runner of tests/test_docs.py runs them; here the chain is built first: the
VersionBeacon deployed at anvil's first address, rollout 10/20/12, oracle's version 1
(1.4.0) published at 2026-03-01T13:00:00Z, and block 4 at 2026-03-02T02:00:00Z.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.support.anvil import Anvil
from tests.support.beacon_chain import CONTRACTS, ORACLE, BeaconDriver
from tests.support.solidity import CompiledContract
from tests.test_docs import console_listings, listing_pattern, run_listing

README_RPC = "http://127.0.0.1:8545"
README_BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_the_cohort_from_the_chain_listing(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    node = anvil_factory(timestamp=ts("2026-03-01T12:00:00"))
    abi, bytecode = solc(CONTRACTS / "VersionBeacon.sol")
    beacon = BeaconDriver.deploy(node.url, abi, bytecode)
    assert beacon.address == README_BEACON
    beacon.set_rollout(10, 20, 12)
    published = beacon.publish(ORACLE, "1.4.0", at=ts("2026-03-01T13:00:00"))
    assert published.version_id == 1
    beacon.set_next_timestamp(ts("2026-03-02T02:00:00"))
    assert int(node.rpc("eth_blockNumber", []), 16) == 4

    (block,) = [b for b in console_listings() if "noderr cohort node-7 node-5" in b]
    script = '$ seq -f "node-%g" 0 9999 > nodes.txt\n' + block.replace(README_RPC, node.url)
    actual, expected = run_listing(script, tmp_path)
    assert listing_pattern(expected).match(actual), (
        f"README listing out of date.\n--- README shows:\n{expected}--- the commands print:\n"
        f"{actual}"
    )


def test_the_rollout_status_and_version_listings(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    # all (slot 0) 1.4.0 in block 2, oracle 1.4.0 in block 5 at 14:00, block 6 two days on.
    node = anvil_factory(timestamp=ts("2026-03-01T12:00:00"))
    abi, bytecode = solc(CONTRACTS / "VersionBeacon.sol")
    beacon = BeaconDriver.deploy(node.url, abi, bytecode)
    assert beacon.address == README_BEACON
    beacon.publish(0, "1.4.0", "1.4.0-all", b"\x9c" * 32, at=ts("2026-03-01T13:00:00"))
    beacon.set_next_timestamp(ts("2026-03-01T13:20:00"))
    beacon.set_next_timestamp(ts("2026-03-01T13:40:00"))
    beacon.publish(ORACLE, "1.4.0", "1.4.0-oracle", b"\x3f" * 32, at=ts("2026-03-01T14:00:00"))
    beacon.set_next_timestamp(ts("2026-03-03T14:00:00"))
    assert int(node.rpc("eth_blockNumber", []), 16) == 6

    export = f"$ export NODERR_RPC_URL={node.url} NODERR_BEACON_ADDRESS={README_BEACON}\n"
    blocks = [
        b
        for b in console_listings()
        if "noderr rollout status --tier all --tier guardian" in b
        or "noderr version node-042 --tier oracle" in b
    ]
    assert len(blocks) == 2
    for n, block in enumerate(blocks):
        work = tmp_path / str(n)
        work.mkdir()
        script = block.replace(README_RPC, node.url)
        if not script.startswith("$ export"):
            script = export + script
        actual, expected = run_listing(script, work)
        assert listing_pattern(expected).match(actual), (
            f"README listing out of date.\n--- README shows:\n{expected}"
            f"--- the commands print:\n{actual}"
        )
