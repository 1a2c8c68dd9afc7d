"""Fuzzing the read path with damaged replies: one error line or the right answer.

A :class:`~tests.support.fake_beacon.FakeBeacon` gives the well-formed replies to every
batch of a beacon read; hypothesis damages each batch in one of many ways (ids, order,
entries, values, bodies). Whatever it does, the read either gives exactly the answer of
the undamaged replies, or fails with one :class:`~noderr_deploy.errors.NoderrError` line
(exit 1): never another exception, never another answer. Damage is limited to what no
well-formed reply could be (a value that is valid but different is another chain state,
not damage).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noderr_deploy.chain.beacon import read_beacon
from noderr_deploy.chain.rpc import RpcClient
from noderr_deploy.chain.transport import Deadline
from noderr_deploy.cli import app
from noderr_deploy.errors import NoderrError
from tests.support.fake_beacon import FakeBeacon
from tests.support.rpc_servers import ScriptedServer

ADDRESS = "0x" + "ab" * 20
URL = "http://127.0.0.1:1/v2/fuzzKEY0123456789abcdef"
TIERS = [0, 1, 2]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
# Values no slot of a well-formed reply can hold (no hex quantity, no hex data, no block).
malformed_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["number", "x"]), st.integers(), max_size=2),
    st.text(max_size=12).filter(lambda t: not t.startswith("0x")),
    st.sampled_from(["0x", "0xz", "0x 1", "0X1", "0x" + "0" * 65, "0x123"]),
)
KINDS = (
    "none", "reorder", "drop", "duplicate", "foreign id", "string id", "extra", "not object",
    "result", "block field", "error", "error malformed", "neither", "both", "whole json",
    "bytes", "truncate", "nested",
)  # fmt: skip
damage = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 50),
    malformed_values,
    json_values.filter(
        lambda v: not isinstance(v, list) or not any(isinstance(e, dict) for e in v)
    ),
    st.binary(max_size=40),
    st.text(max_size=30),
)
Damage = tuple[str, int, Any, Any, bytes, str]


def apply(spec: Damage, entries: list[dict[str, Any]]) -> bytes:
    """The reply body for ``entries`` damaged as ``spec`` says."""
    kind, n, bad, junk, raw, text = spec
    entries = [dict(e) for e in entries]
    i = n % len(entries)
    if kind == "reorder":
        entries = entries[n % len(entries) :] + entries[: n % len(entries)]
        entries.reverse()
    elif kind == "drop":
        del entries[i]
    elif kind == "duplicate":
        entries.append(dict(entries[i]))
    elif kind == "foreign id":
        entries[i]["id"] = 10_000 + n
    elif kind == "string id":
        entries[i]["id"] = str(entries[i]["id"])
    elif kind == "extra":
        entries.append({"jsonrpc": "2.0", "id": 10_000 + n, "result": "0x1"})
    elif kind == "not object":
        entries[i] = junk if not isinstance(junk, dict) else [junk]  # type: ignore[assignment]
    elif kind == "result":
        entries[i]["result"] = bad
    elif kind == "block field":
        block = next((e for e in entries if isinstance(e.get("result"), dict)), None)
        if block is None:
            entries[i]["result"] = bad
        else:
            key = ("number", "timestamp")[n % 2]
            if n % 3 == 0:
                del block["result"][key]
            else:
                block["result"][key] = bad
    elif kind == "error":
        del entries[i]["result"]
        entries[i]["error"] = {"code": -32000 - n, "message": text}
    elif kind == "error malformed":
        del entries[i]["result"]
        entries[i]["error"] = bad if not isinstance(bad, dict) else {"code": 1}
    elif kind == "neither":
        del entries[i]["result"]
    elif kind == "both":
        entries[i]["error"] = {"code": 1, "message": text}
    elif kind == "whole json":
        return json.dumps(junk).encode()
    elif kind == "bytes":
        return raw
    elif kind == "truncate":
        body = json.dumps(entries).encode()
        return body[: n % len(body)]
    elif kind == "nested":
        return b"[" * (1000 + n * 1000) + b"]" * (1000 + n * 1000)
    return json.dumps(entries).encode()


class DamagingTransport:
    """Answers from the fake beacon, damaging batch ``k`` with ``specs[k]``."""

    def __init__(self, beacon: FakeBeacon, specs: list[Damage]) -> None:
        self.beacon = beacon
        self.specs = specs
        self.batches = 0

    def __call__(self, body: bytes, deadline: Deadline) -> bytes:
        entries = self.beacon.answer(json.loads(body))
        spec = self.specs[self.batches % len(self.specs)]
        self.batches += 1
        return apply(spec, entries)


def read(specs: list[Damage]) -> Any:
    client = RpcClient(URL, deadline=Deadline(5), transport=DamagingTransport(FakeBeacon(), specs))
    return read_beacon(client, ADDRESS, TIERS, "latest", chain_id=31337)


BASELINE = read([("none", 0, None, None, b"", "")])


@settings(max_examples=400, deadline=None)
@given(st.lists(damage, min_size=3, max_size=3))
def test_damaged_replies_give_the_right_answer_or_one_error_line(specs: list[Damage]) -> None:
    try:
        snapshot = read(specs)
    except NoderrError as failure:
        assert failure.exit_code == 1, failure.message
        assert "\n" not in failure.message
        assert "fuzzKEY" not in failure.message
        assert all(c.isprintable() for c in failure.message)
    else:
        assert snapshot == BASELINE


def test_reordered_replies_give_the_same_answer() -> None:
    assert read([("reorder", k, None, None, b"", "") for k in (1, 2, 3)]) == BASELINE


@pytest.mark.parametrize(
    "kind", ["drop", "duplicate", "foreign id", "string id", "extra", "neither", "both"]
)
def test_each_structural_damage_fails(kind: str) -> None:
    for batch in range(3):
        specs: list[Damage] = [("none", 0, None, None, b"", "")] * 3
        specs[batch] = (kind, 1, None, None, b"", "x")
        with pytest.raises(NoderrError):
            read(specs)


@pytest.fixture(scope="module")
def run_status() -> Callable[[list[Damage]], Any]:
    beacon = FakeBeacon()
    state: dict[str, Any] = {"specs": [], "batches": 0}

    def answer(batch: list[dict[str, Any]]) -> tuple[int, bytes]:
        specs = state["specs"]
        spec = specs[state["batches"] % len(specs)]
        state["batches"] += 1
        return 200, apply(spec, beacon.answer(batch))

    server = ScriptedServer(answer).start()

    def run(specs: list[Damage]) -> Any:
        state.update(specs=specs, batches=0)
        env = {
            "NODERR_RPC_URL": server.url + "/v2/fuzzKEY0123456789abcdef",
            "NODERR_BEACON_ADDRESS": ADDRESS,
            "NODERR_CHAIN_ID": "31337",
            "NODERR_CONFIG": None,
        }
        return CliRunner().invoke(app, ["rollout", "status", "--json", "-q"], env=env)

    yield run  # type: ignore[misc]
    server.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(damage, min_size=3, max_size=3))
def test_the_command_exits_0_with_the_right_json_or_1_with_one_line(
    run_status: Callable[[list[Damage]], Any], specs: list[Damage]
) -> None:
    result = run_status(specs)
    assert result.exit_code in (0, 1), result.stderr
    assert "internal error" not in result.stderr
    assert "fuzzKEY" not in result.stderr + result.stdout
    if result.exit_code == 0:
        clean = run_status([("none", 0, None, None, b"", "")] * 3)
        assert json.loads(result.stdout) == json.loads(clean.stdout)
    else:
        assert result.stdout == ""
        assert result.stderr.startswith("error: ")
        assert result.stderr.count("\n") == 1
