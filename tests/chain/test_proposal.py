"""The three output documents, the Safe checksum, and the atomic write."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy.chain.binding import Values, bind
from noderr_deploy.chain.proposal import (
    Action,
    Format,
    RollbackMetadata,
    _serialise,
    call_args,
    document,
    safe_checksum,
)
from noderr_deploy.chain.writeabi import load_abi
from noderr_deploy.keccak import keccak256
from noderr_deploy.ui.output import to_json
from tests.support.components import in_ci

BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SAFE = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

# The Transaction Builder's rule, written out in JavaScript so that Node's own JSON.stringify
# and Array.prototype.sort are the oracle for the Python port (escaping, key order).
SERIALISE_JS = r"""
const ser = (j) => {
  if (Array.isArray(j)) return `[${j.map(ser).join(',')}]`;
  if (typeof j === 'object' && j !== null) {
    const keys = Object.keys(j).sort();
    let acc = `{${JSON.stringify(keys)}`;
    for (const k of keys) acc += `${ser(j[k])},`;
    return `${acc}}`;
  }
  return JSON.stringify(j);
};
const docs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(docs.map(ser)));
"""


def action(reason: str = "cohort1 unhealthy") -> Action:
    call = bind(
        load_abi(None).function("emergencyRollback"),
        Values(beacon_tier=2, to_version_id=1, reason=reason),
    )
    return Action(
        kind="emergency_rollback",
        title="Emergency rollback of tier oracle",
        description=f"Reason: {reason}",
        chain_id=31337,
        target=BEACON,
        call=call,
        metadata=RollbackMetadata(
            chain_id=31337,
            function=call.function.signature,
            args=call_args(call),
            tier="oracle",
            beacon_tier=2,
            reason=reason,
            to_version_id=1,
            current_version_id=None,
            block=1,
        ),
        tier="oracle",
        beacon_tier=2,
    )


def encoded(document: object) -> Any:
    """A document as the one encoder writes it, read back."""
    return json.loads(to_json(document))


def node_serialise(docs: list[Any]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        if in_ci():
            pytest.fail("node is not on PATH")
        pytest.skip("node is not on PATH")
    done = subprocess.run(
        [node, "-e", SERIALISE_JS],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return list(json.loads(done.stdout))


def test_safe_batch_shape() -> None:
    batch = encoded(document(action(), Format.safe, safe=SAFE, created_at_ms=1_700_000_000_000))
    assert batch["version"] == "1.0"
    assert batch["chainId"] == "31337"
    assert batch["createdAt"] == 1_700_000_000_000
    assert batch["meta"]["createdFromSafeAddress"] == SAFE
    (tx,) = batch["transactions"]
    assert tx["to"] == BEACON
    assert tx["value"] == "0"
    assert tx["contractMethod"] == {
        "inputs": [
            {"internalType": "enum VersionBeacon.NodeTier", "name": "tier", "type": "uint8"},
            {"internalType": "uint256", "name": "toVersionId", "type": "uint256"},
        ],
        "name": "emergencyRollback",
        "payable": False,
    }
    assert tx["contractInputsValues"] == {"tier": "2", "toVersionId": "1"}


def test_checksum_is_the_apps() -> None:
    batch = encoded(document(action(), Format.safe, safe=SAFE, created_at_ms=1))
    without = {**batch, "meta": {k: v for k, v in batch["meta"].items() if k != "checksum"}}
    without["meta"]["name"] = None
    (text,) = node_serialise([without])
    assert batch["meta"]["checksum"] == "0x" + keccak256(text.encode()).hex()
    # Renaming a batch keeps it valid (the app ignores the name); any other change does not.
    renamed = {**batch, "meta": {**batch["meta"], "name": "another name"}}
    assert safe_checksum(renamed) == batch["meta"]["checksum"]
    edited = json.loads(json.dumps(batch))
    edited["transactions"][0]["data"] = edited["transactions"][0]["data"][:-1] + "2"
    assert safe_checksum(edited) != batch["meta"]["checksum"]


JSON_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"]),  # lone surrogates cannot be UTF-8
    max_size=20,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


# Few examples of many documents each: every example starts one Node process.
@settings(max_examples=8, deadline=None)
@given(st.lists(JSON_VALUES, min_size=20, max_size=60))
def test_serialisation_matches_javascript_for_any_json(docs: list[Any]) -> None:
    assert [_serialise(d) for d in docs] == node_serialise(docs)


def test_serialisation_of_hostile_text_matches_javascript() -> None:
    texts = ["\x00\x1f\x7f", "\u2028\u2029", '"\\/', "é😀", "\ud7ff\ue000\uffff", "[/]<b>"]
    docs: list[Any] = [{t: t} for t in texts] + [{"😀": 1, "\uffff": 2, "a": 3, "10": 4, "9": 5}]
    assert [_serialise(d) for d in docs] == node_serialise(docs)


def test_proposal_and_tx_shapes() -> None:
    proposal = encoded(document(action(), Format.proposal, safe=None, created_at_ms=0))
    assert set(proposal) == {"type", "description", "target", "data", "value", "metadata"}
    assert proposal["type"] == "emergency_rollback"
    assert proposal["metadata"]["function"] == "emergencyRollback(uint8,uint256)"
    assert proposal["metadata"]["args"] == {"tier": 2, "toVersionId": 1}
    tx = encoded(document(action(), Format.tx, safe=None, created_at_ms=0))
    assert tx == {"chainId": 31337, "to": BEACON, "value": "0", "data": action().data}
