"""The shipped VersionBeacon ABI and the call encoding/decoding built on it."""

from __future__ import annotations

from eth_abi.abi import encode

from noderr_deploy.chain.beacon import abi_function, beacon_abi
from noderr_deploy.keccak import keccak256


def test_abi_is_the_read_surface() -> None:
    signatures = [abi_function(e["name"]).signature for e in beacon_abi()]
    assert signatures == [
        "currentVersionId(uint8)",
        "versions(uint256)",
        "rolloutConfig()",
        "nextVersionId()",
        "getCurrentVersion(uint8)",
        "getVersion(uint256)",
        "getRolloutConfig()",
    ]
    assert all(e["stateMutability"] == "view" for e in beacon_abi())
    assert abi_function("getCurrentVersion").outputs == (
        "(string,string,bytes32,uint256,address,bool,bool)",
    )
    assert abi_function("versions").outputs == (
        "string", "string", "bytes32", "uint256", "address", "bool", "bool",
    )  # fmt: skip


def test_encode_call() -> None:
    selector = keccak256(b"currentVersionId(uint8)")[:4].hex()
    assert abi_function("currentVersionId").encode(2) == "0x" + selector + "00" * 31 + "02"


def test_decode_versions_entry() -> None:
    fn = abi_function("versions")
    values = ("1.0.0", "1.0.0-oracle", b"\x01" * 32, 1_700_000_000, "0x" + "22" * 20, True, False)
    decoded = fn.decode(encode(list(fn.outputs), list(values)))
    assert decoded[:4] == values[:4]
    assert decoded[4] == "0x" + "22" * 20
    assert decoded[5:] == (True, False)
