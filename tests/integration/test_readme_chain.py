"""README listings that read a chain, produced on a throwaway anvil in the state they show.

The listing runner of tests/test_docs.py runs them; here the chain is built first: the
VersionBeacon deployed at anvil's first address, rollout 10/20/12, oracle's version 1
(1.4.0) published at 2026-03-01T13:00:00Z, and block 4 at 2026-03-02T02:00:00Z.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.support.anvil import Anvil
from tests.support.beacon_chain import CONTRACTS, ORACLE, BeaconDriver
from tests.support.solidity import CompiledContract
from tests.test_docs import ROOT, assert_listing, console_listings, listing_starting, run_listing

README_RPC = "http://127.0.0.1:8545"
README_BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

# The listings this module runs (tests/test_docs.py checks that every listing it does not
# run is run by one of these modules, or cannot be run).
EXPORTS = "$ export NODERR_RPC_URL=http://127.0.0.1:8545 NODERR_BEACON_ADDRESS="
STATUS_HEALTH = "$ noderr rollout status --tier oracle --tier guardian --health health.jsonl"
STATUS_JSON = "$ noderr rollout status --tier oracle --block 5 --json"
VERSION = "$ noderr version node-042 --tier oracle --current 1.3.2"
CHECK = "$ noderr rollback check --tier oracle --health exports/"
RUNS = (EXPORTS, STATUS_HEALTH, STATUS_JSON, VERSION, CHECK)


listing = listing_starting


def readme_beacon(
    anvil_factory: Callable[..., Anvil],
    solc: Callable[..., CompiledContract],
    timestamp: str | None = None,
) -> tuple[Anvil, BeaconDriver]:
    """A throwaway anvil (genesis at ``timestamp``, UTC) with the test VersionBeacon at the
    README's address (anvil's first deployment)."""
    node = anvil_factory(**({"timestamp": ts(timestamp)} if timestamp else {}))
    abi, bytecode = solc(CONTRACTS / "VersionBeacon.sol")
    beacon = BeaconDriver.deploy(node.url, abi, bytecode)
    assert beacon.address == README_BEACON
    return node, beacon


def exported(url: str) -> str:
    """The listing line that points the commands after it at the chain ``url``."""
    return f"$ export NODERR_RPC_URL={url} NODERR_BEACON_ADDRESS={README_BEACON}\n"


def same_json(actual: str, expected: str) -> bool:
    """The README re-indents long JSON for reading: compared as data, not as text."""
    return bool(json.loads(actual) == json.loads(expected))


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_the_cohort_from_the_chain_listing(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    node, beacon = readme_beacon(anvil_factory, solc, "2026-03-01T12:00:00")
    beacon.set_rollout(10, 20, 12)
    published = beacon.publish(
        ORACLE, "1.4.0", "1.4.0-oracle", b"\x3f" * 32, at=ts("2026-03-01T13:00:00")
    )
    assert published.version_id == 1
    beacon.set_next_timestamp(ts("2026-03-02T02:00:00"))
    assert int(node.rpc("eth_blockNumber", []), 16) == 4

    (block,) = [b for b in console_listings() if "noderr cohort node-7 node-5" in b]
    script = '$ seq -f "node-%g" 0 9999 > nodes.txt\n' + block.replace(README_RPC, node.url)
    assert_listing(script, tmp_path)

    # The same chain, with the health export the rollout status listing reads.
    work = tmp_path / "status"
    work.mkdir()
    (work / "health.jsonl").write_text(readme_health())
    export = exported(node.url)
    assert_listing(export + listing(STATUS_HEALTH), work)


# The README's health.jsonl, per cohort of the 10/20/12 plan: (nodes reporting, of them on
# oracle's 1.4.0, of those healthy); one more node's report is stale (older than 15m).
README_HEALTH = {
    "canary": (5, 4, 3),
    "cohort1": (9, 7, 6),
    "cohort2": (8, 4, 4),
    "cohort3": (7, 6, 6),
    "cohort4": (10, 4, 2),
}


def readme_health() -> str:
    """JSON Lines with exactly the counts of :data:`README_HEALTH` at block 4's time."""
    from noderr_deploy.cohorts import RolloutPlan, bucket

    plan = RolloutPlan.of(10, 20, 12)
    ids: dict[str, list[str]] = {name: [] for name in README_HEALTH}
    n = 0
    while any(len(ids[c]) < README_HEALTH[c][0] + (c == "cohort4") for c in ids):
        node_id = f"node-{n}"
        n += 1
        cohort = next(c for c, (lo, hi) in plan.bounds().items() if lo <= bucket(node_id) <= hi)
        if len(ids[cohort]) < README_HEALTH[cohort][0] + (cohort == "cohort4"):
            ids[cohort].append(node_id)
    lines = []
    for cohort, (_, on_version, healthy) in README_HEALTH.items():
        for i, node_id in enumerate(ids[cohort]):
            stale = cohort == "cohort4" and i == len(ids[cohort]) - 1
            errors = 0 if i < healthy or i >= on_version else 20
            record = {
                "nodeId": node_id,
                "version": "1.4.0" if i < on_version else "1.3.2",
                "metrics": {"uptime": 3600, "cpu": 20.0, "memory": 40.0, "errors": errors},
                "timestamp": "2026-03-02T01:00:00Z" if stale else "2026-03-02T01:59:00Z",
            }
            lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def test_the_rollout_status_and_version_listings(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    # all (slot 0) 1.4.0 in block 2, oracle 1.4.0 in block 5 at 14:00, block 6 two days on.
    node, beacon = readme_beacon(anvil_factory, solc, "2026-03-01T12:00:00")
    beacon.publish(0, "1.4.0", "1.4.0-all", b"\x9c" * 32, at=ts("2026-03-01T13:00:00"))
    beacon.set_next_timestamp(ts("2026-03-01T13:20:00"))
    beacon.set_next_timestamp(ts("2026-03-01T13:40:00"))
    beacon.publish(ORACLE, "1.4.0", "1.4.0-oracle", b"\x3f" * 32, at=ts("2026-03-01T14:00:00"))
    beacon.set_next_timestamp(ts("2026-03-03T14:00:00"))
    assert int(node.rpc("eth_blockNumber", []), 16) == 6

    export = exported(node.url)
    at_block_5 = tmp_path / "block5"
    at_block_5.mkdir()
    actual, expected = run_listing(export + listing(STATUS_JSON), at_block_5)
    assert same_json(actual, expected), (
        f"README listing out of date.\n--- README shows:\n{expected}--- the commands print:\n"
        f"{actual}"
    )
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
        assert_listing(script, work)


def test_the_rollback_check_from_the_chain_listing(
    anvil_factory: Callable[..., Anvil], solc: Callable[..., CompiledContract], tmp_path: Path
) -> None:
    # oracle's current version is 1.4.2: `--tier oracle` takes the version to judge from it.
    node, beacon = readme_beacon(anvil_factory, solc, "2026-03-03T12:00:00")
    beacon.publish(ORACLE, "1.4.2", at=ts("2026-03-03T12:30:00"))
    (tmp_path / "exports").mkdir()
    shutil.copy(ROOT / "examples" / "health" / "reports.jsonl", tmp_path / "exports")
    export = exported(node.url)
    actual, expected = run_listing(export + listing(CHECK), tmp_path)
    # stderr's line (where the version came from), then jq's: the version the check judged.
    assert expected.endswith("\n1.4.2\n")
    assert actual == expected
    assert the_check_ran(tmp_path, node.url)


def the_check_ran(work: Path, url: str) -> bool:
    """The same command without jq: a verdict from the chain's version (the listing's pipe
    alone would print 1.4.2 from any JSON that has it)."""
    script = (
        f"$ NODERR_RPC_URL={url} NODERR_BEACON_ADDRESS={README_BEACON} noderr rollback check"
        " --tier oracle --health exports/ --max-age 15m --json 2>/dev/null\n"
    )
    actual, _ = run_listing(script, work)
    verdict = json.loads(actual)
    return bool(verdict["version"] == "1.4.2" and verdict["tier"] == "oracle")
