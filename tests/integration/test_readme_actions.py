"""README listing of ``rollback propose`` (``publish``'s is in test_readme_build.py, after the
build that pushes its image), produced on a throwaway anvil in the state it shows.

The listing runner of tests/test_docs.py runs it, with ``NODERR_RPC_URL`` and
``NODERR_BEACON_ADDRESS`` pointing at the chain built here; the file it writes is checked
too (a proposal file is the point of the command).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.test_readme_chain import README_BEACON, exported, readme_beacon
from tests.support.anvil import Anvil
from tests.support.beacon_chain import GUARDIAN, ORACLE
from tests.support.solidity import CompiledContract
from tests.test_docs import assert_listing, listing_starting

README_SAFE = "0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE"

# The listings this module runs (tests/test_docs.py checks that every listing it does not
# run is run by one of these modules, or cannot be run).
RUNS = ("$ noderr rollback propose --tier oracle",)


def test_the_rollback_propose_listing(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    # oracle 1.4.0 (id 1), guardian 1.4.0 (id 2), oracle 2.0.0 (id 3) in block 7.
    node, beacon = readme_beacon(anvil_factory, solc)
    assert beacon.publish(ORACLE, "1.4.0").version_id == 1
    assert beacon.publish(GUARDIAN, "1.4.0").version_id == 2
    node.rpc("anvil_mine", ["0x3"])  # blocks 4 to 6: the README shows block 7
    newest = beacon.publish(ORACLE, "2.0.0")
    assert (newest.version_id, newest.block) == (3, 7)

    assert_listing(exported(node.url) + listing_starting(RUNS[0]), tmp_path)
    batch = json.loads((tmp_path / "rollback.json").read_text())
    assert batch["meta"]["createdFromSafeAddress"] == README_SAFE
    assert batch["chainId"] == "31337"
    (transaction,) = batch["transactions"]
    assert transaction["to"] == README_BEACON
    assert transaction["contractInputsValues"] == {"tier": "2", "toVersionId": "1"}
