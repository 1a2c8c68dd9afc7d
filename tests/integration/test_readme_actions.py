"""README listings of the beacon actions (``rollback propose``, ``publish``), produced on a
throwaway anvil (and, for ``publish``, the test registry) in the state they show.

The listing runner of tests/test_docs.py runs them, with ``NODERR_RPC_URL`` and
``NODERR_BEACON_ADDRESS`` pointing at the chain built here; what each writes is checked
too (a proposal file is the point of the command).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support.anvil import Anvil
from tests.support.beacon_chain import CONTRACTS, GUARDIAN, ORACLE, BeaconDriver
from tests.support.solidity import CompiledContract
from tests.test_docs import console_listings, first_command, listing_pattern, run_listing

README_BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
README_SAFE = "0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE"

# The listings this module runs (tests/test_docs.py checks that every listing it does not
# run is run by one of these modules, or cannot be run).
RUNS = ("$ noderr rollback propose --tier oracle",)


def listing(start: str) -> str:
    (block,) = [b for b in console_listings() if first_command(b).startswith(start)]
    return block


def check(script: str, work: Path, url: str) -> None:
    export = f"$ export NODERR_RPC_URL={url} NODERR_BEACON_ADDRESS={README_BEACON}\n"
    actual, expected = run_listing(export + script, work)
    assert listing_pattern(expected).match(actual), (
        f"README listing out of date.\n--- README shows:\n{expected}--- the commands print:\n"
        f"{actual}"
    )


def test_the_rollback_propose_listing(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    # oracle 1.4.0 (id 1), guardian 1.4.0 (id 2), oracle 2.0.0 (id 3) in block 7.
    node = anvil_factory()
    abi, bytecode = solc(CONTRACTS / "VersionBeacon.sol")
    beacon = BeaconDriver.deploy(node.url, abi, bytecode)
    assert beacon.address == README_BEACON
    assert beacon.publish(ORACLE, "1.4.0").version_id == 1
    assert beacon.publish(GUARDIAN, "1.4.0").version_id == 2
    node.rpc("anvil_mine", ["0x3"])  # blocks 4 to 6: the README shows block 7
    newest = beacon.publish(ORACLE, "2.0.0")
    assert (newest.version_id, newest.block) == (3, 7)

    check(listing(RUNS[0]), tmp_path, node.url)
    batch = json.loads((tmp_path / "rollback.json").read_text())
    assert batch["meta"]["createdFromSafeAddress"] == README_SAFE
    assert batch["chainId"] == "31337"
    (transaction,) = batch["transactions"]
    assert transaction["to"] == README_BEACON
    assert transaction["contractInputsValues"] == {"tier": "2", "toVersionId": "1"}
