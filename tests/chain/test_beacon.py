"""The shipped VersionBeacon ABI and the call encoding/decoding built on it."""

from __future__ import annotations

from eth_abi.abi import encode
from hypothesis import given
from hypothesis import strategies as st

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


VERSIONS = ("string", "string", "bytes32", "uint256", "address", "bool", "bool")


@given(st.binary(max_size=40), st.text(max_size=20))
def test_a_version_string_of_any_bytes_decodes(raw: bytes, tag: str) -> None:
    # A hostile review: one versionString that is not UTF-8 made eth_abi refuse the
    # answer, and every tier's read with it. Its bytes are kept: valid UTF-8 reads as
    # text, any other byte as the lone surrogate that stands for it.
    fields = [raw, tag.encode(), b"\x01" * 32, 7, "0x" + "11" * 20, True, False]
    data = encode(["bytes", "bytes", *VERSIONS[2:]], fields)
    decoded = abi_function("versions").decode(data)
    assert decoded[0].encode("utf-8", "surrogateescape") == raw
    assert decoded[1] == tag
    assert decoded[3] == 7
    if raw.isascii():
        assert decoded[0] == raw.decode()


def test_strings_inside_tuples_and_arrays_decode_alike() -> None:
    from noderr_deploy.chain.beacon import AbiFunction

    f = AbiFunction("f", (), ("(string,uint8)[]", "string[2]"))
    data = encode(["(bytes,uint8)[]", "bytes[2]"], [[(b"a\xff", 1)], [b"x", b"\xfe"]])
    assert f.decode(data) == (((("a\udcff", 1),)), ("x", "\udcfe"))
