"""A VersionBeacon answered from Python values: well-formed JSON-RPC replies to the reads.

``FakeBeacon(state).answer(batch)`` returns the entries a real node would send for the
batch (``eth_chainId``, ``eth_getBlockByNumber``, ``eth_getCode``, ``eth_call`` of the
beacon's read functions), so tests can damage them one way at a time and compare the
outcome with the well-formed answer. Serve it with
:class:`tests.support.rpc_servers.ScriptedServer` for whole-command tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode, encode

from noderr_deploy.chain.beacon import abi_function

_FUNCTIONS = ("rolloutConfig", "nextVersionId", "currentVersionId", "versions")


@dataclass
class BeaconState:
    chain_id: int = 31337
    block: int = 12
    time: int = 1_772_366_400  # 2026-03-01T12:00:00Z
    rollout: tuple[int, int, int, bool] = (5, 25, 24, True)
    current: dict[int, int] = field(default_factory=lambda: {0: 1, 1: 0, 2: 2})
    versions: dict[int, tuple[Any, ...]] = field(
        default_factory=lambda: {
            1: ("1.0.0", "1.0.0-validator", b"\x01" * 32, 1_772_280_000, "0x" + "22" * 20,
                True, False),
            2: ("2.0.0", "2.0.0-oracle", b"\x02" * 32, 1_772_362_800, "0x" + "33" * 20,
                True, True),
        }
    )  # fmt: skip


class FakeBeacon:
    """Answers JSON-RPC batches from a :class:`BeaconState`."""

    def __init__(self, state: BeaconState | None = None) -> None:
        self.state = state or BeaconState()
        self._by_selector = {abi_function(n).selector.hex(): abi_function(n) for n in _FUNCTIONS}

    def result(self, method: str, params: list[Any]) -> Any:
        s = self.state
        if method == "eth_chainId":
            return hex(s.chain_id)
        if method == "eth_getBlockByNumber":
            return {"number": hex(s.block), "timestamp": hex(s.time), "hash": "0x" + "00" * 32}
        if method == "eth_getCode":
            return "0x6080604052"
        if method == "eth_call":
            data = bytes.fromhex(params[0]["data"][2:])
            fn = self._by_selector[data[:4].hex()]
            args = decode(list(fn.inputs), data[4:])
            values: tuple[Any, ...]
            if fn.name == "rolloutConfig":
                values = s.rollout
            elif fn.name == "nextVersionId":
                values = (max(s.versions, default=0) + 1,)
            elif fn.name == "currentVersionId":
                values = (s.current.get(args[0], 0),)
            else:
                values = s.versions[args[0]]
            return "0x" + encode(list(fn.outputs), list(values)).hex()
        raise KeyError(method)

    def answer(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"jsonrpc": "2.0", "id": c["id"], "result": self.result(c["method"], c["params"])}
            for c in batch
        ]

    def http(self, batch: list[dict[str, Any]]) -> tuple[int, bytes]:
        """For :class:`~tests.support.rpc_servers.ScriptedServer`."""
        return 200, json.dumps(self.answer(batch)).encode()
