"""Binding a write ABI's parameters by name, and encoding the call (no chain needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.chain.binding import Values, bind, coerce, parse_args
from noderr_deploy.chain.writeabi import load_abi, parse_abi
from noderr_deploy.errors import InputError, UsageError

ROLLBACK = Values(
    tier_name="oracle",
    beacon_tier=2,
    reason="cohort1 unhealthy",
    to_version_id=1,
    emergency=True,
    canary_percentage=5,
    cohort_percentage=25,
    cohort_delay_hours=24,
)


def function(signature_inputs: list[dict[str, Any]], name: str = "f") -> Any:
    abi = parse_abi([{"type": "function", "name": name, "inputs": signature_inputs}], "test")
    return abi.function(name)


def p(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


def decoded(call: Any) -> tuple[Any, ...]:
    data = bytes.fromhex(call.data[2:])
    assert data[:4] == call.function.selector
    return tuple(decode([i.canonical for i in call.function.inputs], data[4:]))


def test_the_shipped_abi_binds_the_test_contracts_rollback() -> None:
    abi = load_abi(None)
    call = bind(abi.function("emergencyRollback"), ROLLBACK)
    assert call.function.signature == "emergencyRollback(uint8,uint256)"
    assert call.args == (2, 1)
    assert decoded(call) == (2, 1)
    # The selector is keccak256 of the signature, as the EVM dispatches on it.
    assert call.data.startswith("0x" + call.function.selector.hex())
    assert abi.event("VersionPublished") is not None


def test_the_governance_abi_binds_the_tiers_name_and_the_reason() -> None:
    f = function([p("tier", "string"), p("reason", "string")], "emergencyRollback")
    call = bind(f, ROLLBACK)
    assert decoded(call) == ("oracle", "cohort1 unhealthy")


@pytest.mark.parametrize("name", ["_tier", "__TIER", "Tier", "tIeR"])
def test_names_ignore_case_and_leading_underscores(name: str) -> None:
    assert bind(function([p(name, "uint8")]), ROLLBACK).args == (2,)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("versionString", "1.4.0"),
        ("semver", "1.4.0"),
        ("_version", "1.4.0"),
        ("dockerImageTag", "1.4.0-oracle"),
        ("imageTag", "1.4.0-oracle"),
        ("image", "1.4.0-oracle"),
    ],
)
def test_version_and_image_aliases(name: str, expected: str) -> None:
    values = Values(version="1.4.0", image="1.4.0-oracle")
    assert bind(function([p(name, "string")]), values).args == (expected,)


@pytest.mark.parametrize("name", ["toVersionId", "targetVersionId", "versionId", "_versionId"])
def test_target_aliases(name: str) -> None:
    assert bind(function([p(name, "uint256")]), ROLLBACK).args == (1,)


def test_rollout_tuple_in_the_unit_of_its_name() -> None:
    components = [
        p("canaryPercentage", "uint8"),
        p("cohortPercentage", "uint8"),
        p("delayBetweenCohorts", "uint32"),
    ]
    f = function([p("rolloutConfig", "tuple", components=components)])
    assert bind(f, ROLLBACK).args == ((5, 25, 86400),)
    hours = [*components[:2], p("cohortDelayHours", "uint256")]
    assert bind(function([p("c", "tuple", components=hours)]), ROLLBACK).args == ((5, 25, 24),)


def test_a_delay_that_is_not_whole_in_its_unit_is_refused() -> None:
    f = function([p("cohortDelayHours", "uint256")])
    with pytest.raises(UsageError, match="not a whole number of hours"):
        bind(f, Values(cohort_delay_hours=1.5))


def test_every_unbindable_parameter_is_named() -> None:
    f = function([p("tier", "uint8"), p("ipfsHash", "string"), p("salt", "bytes32")], "g")
    with pytest.raises(UsageError) as caught:
        bind(f, ROLLBACK)
    assert caught.value.message == (
        "cannot bind g parameter ipfsHash (string): no value is known by that name;"
        " or --arg ipfsHash=VALUE (and 1 more)"
    )
    assert caught.value.details == [
        "salt (bytes32): no value is known by that name; or --arg salt=VALUE"
    ]
    assert caught.value.exit_code == 2


def test_a_known_name_without_a_value_says_which_flag_gives_it() -> None:
    f = function([p("toVersionId", "uint256")])
    with pytest.raises(UsageError, match=r"no value: pass --to-version-id; or --arg"):
        bind(f, Values(hints={"to_version_id": "--to-version-id"}))


def test_a_value_of_the_wrong_kind_is_not_bound() -> None:
    with pytest.raises(UsageError, match="reason is text, the parameter a uint256"):
        bind(function([p("reason", "uint256")]), ROLLBACK)
    with pytest.raises(UsageError, match="a tier is bound to an integer type or string"):
        bind(function([p("tier", "bytes32")]), ROLLBACK)
    with pytest.raises(UsageError, match="300 does not fit a uint8"):
        bind(function([p("tier", "uint8")]), Values(beacon_tier=300))


def test_arg_supplies_and_overrides() -> None:
    f = function([p("tier", "uint8"), p("ipfsHash", "string"), p("flags", "bool[]")])
    args = parse_args(["ipfsHash=Qm=x", "TIER=0x01", "flags=[true,false]"])
    call = bind(f, ROLLBACK, args)
    assert call.args == (1, "Qm=x", [True, False])
    assert call.origins == ("--arg", "--arg", "--arg")


def test_an_arg_naming_no_parameter_is_refused() -> None:
    with pytest.raises(UsageError, match="--arg reasn: f\\(uint8\\) has no such parameter"):
        bind(function([p("tier", "uint8")]), ROLLBACK, parse_args(["reasn=x"]))


@pytest.mark.parametrize("text", ["noequals", "=value", "__=1"])
def test_malformed_arg(text: str) -> None:
    with pytest.raises(UsageError, match="expected NAME=VALUE"):
        parse_args([text])


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("uint8", "256", "does not fit a uint8"),
        ("uint8", "-1", "does not fit a uint8"),
        ("int8", "-129", "does not fit a int8"),
        ("uint256", "1e3", "not an integer"),
        ("bool", "maybe", "not true or false"),
        ("bytes32", "0x1234", "is 2 bytes, a bytes32 is 32"),
        ("bytes", "0xzz", "not 0x-prefixed hex"),
        ("address", "0x123", "expected 0x followed by 40 hex digits"),
        ("address", "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".lower()[:-1] + "D", "checksum"),
        ("(uint8,bool)", "[1]", "expected 2 values"),
        ("uint8[2]", "[1,2,3]", "is not a uint8[2]"),
        ("uint8[]", "not json", "is not JSON"),
    ],
)
def test_coerce_refuses_misfits(kind: str, text: str, message: str) -> None:
    if kind.startswith("("):
        param = (
            parse_abi(
                [
                    {
                        "type": "function",
                        "name": "f",
                        "inputs": [
                            p("c", "tuple", components=[p("a", "uint8"), p("b", "bool")]),
                        ],
                    }
                ],
                "t",
            )
            .functions[0]
            .inputs[0]
        )
    else:
        param = function([p("x", kind)]).inputs[0]
    with pytest.raises(ValueError, match=re.escape(message)):
        coerce(param, text)


@given(st.text())
def test_any_text_round_trips_through_a_string_parameter(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # the commands refuse text that is not UTF-8 before binding
    f = function([p("reason", "string"), p("note", "string")])
    call = bind(f, Values(reason=text), parse_args([f"note={text}"]))
    assert decoded(call) == (text, text)


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_uint256_args_round_trip(number: int) -> None:
    f = function([p("versionId", "uint256")])
    for text in (str(number), hex(number)):
        assert decoded(bind(f, Values(), {"versionid": text})) == (number,)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"x": 1}', "not an ABI"),
        ("[1]", "entry 0 is not an object"),
        ('[{"type": "function"}]', "entry 0 (function) has no name"),
        ('[{"type": "function", "name": "f", "inputs": [{"name": "t"}]}]', "without a type"),
        (
            '[{"type": "function", "name": "f", "inputs": [{"name": "t", "type": "tuple"}]}]',
            "tuple parameter without components",
        ),
        (
            '[{"type": "function", "name": "f",'
            ' "inputs": [{"name": "\\u001b[2J", "type": "uint8"}]}]',
            "parameter name '\\x1b[2J' is not an identifier",
        ),
        (
            '[{"type": "function", "name": "f", "inputs": [{"name": "t", "type": "uint8 x"}]}]',
            "parameter type 'uint8 x' is not an ABI type",
        ),
        ('[{"type": "function", "name": "f[red]", "inputs": []}]', "'f[red]' is not an identifier"),
    ],
)
def test_damaged_abi_files_are_exit_2_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "abi.json"
    path.write_text(content)
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        load_abi(path)
    assert str(path) in caught.value.message
    assert caught.value.exit_code == 2


def test_an_artifact_with_abi_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / "VersionBeacon.json"
    path.write_text(
        json.dumps({"abi": [{"type": "function", "name": "emergencyRollback", "inputs": []}]})
    )
    assert load_abi(path).function("emergencyRollback").signature == "emergencyRollback()"


def test_overloads_and_missing_functions_are_refused() -> None:
    entries = [
        {"type": "function", "name": "emergencyRollback", "inputs": [p("tier", "uint8")]},
        {"type": "function", "name": "emergencyRollback", "inputs": [p("tier", "string")]},
        {"type": "function", "name": "view", "stateMutability": "view", "inputs": []},
    ]
    abi = parse_abi(entries, "x.json")
    with pytest.raises(UsageError, match="2 functions named emergencyRollback"):
        abi.function("emergencyRollback")
    with pytest.raises(UsageError, match="has no function publishVersion"):
        abi.function("publishVersion")
    with pytest.raises(UsageError, match="has no function view"):
        abi.function("view")  # reads are no proposal
