"""The rollback thresholds' ranges: one set of rules for tiers.yaml and the verdict."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.config.thresholds import (
    MAX_ERROR_RATE,
    MAX_MIN_NODES,
    error_rate_problem,
    min_nodes_problem,
    read_error_rate,
    read_min_nodes,
    read_unhealthy,
    threshold_problems,
    unhealthy_problem,
)


@pytest.mark.parametrize("value", [0, 0.0, 0.1, 1, 1.0])
def test_unhealthy_share_within_0_and_1(value: float) -> None:
    assert unhealthy_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1.0001, "Input should be less than or equal to 1"),
        (math.inf, "Input should be less than or equal to 1"),
        (math.nan, "not a number (NaN compares with no value: give a number)"),
        (-0.0001, "Input should be greater than or equal to 0"),
        (-math.inf, "Input should be greater than or equal to 0"),
    ],
)
def test_unhealthy_share_out_of_range(value: float, problem: str) -> None:
    assert unhealthy_problem(value) == problem


def test_error_rate_has_no_upper_bound_but_is_a_number() -> None:
    assert error_rate_problem(0) is None
    assert error_rate_problem(MAX_ERROR_RATE) is None
    # .inf would never trigger: refused, as the flag refuses 'inf'.
    assert error_rate_problem(math.inf).startswith("not a finite number")
    assert error_rate_problem(-0.01) == "Input should be greater than or equal to 0"
    assert error_rate_problem(math.nan).startswith("not a number")


def test_min_nodes_at_least_one_at_most_a_billion() -> None:
    assert min_nodes_problem(1) is None
    assert min_nodes_problem(MAX_MIN_NODES) is None
    assert min_nodes_problem(0) == "Input should be greater than or equal to 1"
    assert min_nodes_problem(10**30) == "Input should be less than or equal to 1000000000"


def test_every_problem_at_once_keyed_as_in_tiers_yaml() -> None:
    assert threshold_problems(0.1, 0.05, 1) == []
    assert threshold_problems(2, -1, 0) == [
        ("unhealthy_threshold", "Input should be less than or equal to 1"),
        ("error_rate_threshold", "Input should be greater than or equal to 0"),
        ("min_nodes", "Input should be greater than or equal to 1"),
    ]


# -- thresholds as an operator types them (flags, environment variables) ------------------------


@pytest.mark.parametrize(
    ("read", "text", "value"),
    [
        (read_unhealthy, "0.1", 0.1),
        (read_unhealthy, " 1 ", 1.0),
        (read_unhealthy, ".5", 0.5),
        (read_unhealthy, "-0", 0.0),
        (read_unhealthy, "1e-310", 1e-310),  # tiny but a float: kept
        (read_error_rate, "1e308", 1e308),  # finite: a threshold, not "not finite"
        (read_error_rate, "1.7976931348623157e308", MAX_ERROR_RATE),
        (read_error_rate, "-0.0", 0.0),
        (read_error_rate, "5.", 5.0),
    ],
)
def test_thresholds_as_typed(read: Callable[[str], float], text: str, value: float) -> None:
    got = read(text)
    assert got == value
    assert math.copysign(1, got) == 1  # -0 is 0: one spelling of a zero threshold


@pytest.mark.parametrize(
    ("read", "text", "message"),
    [
        (read_error_rate, "1e309", "'1e309' is out of range (a number from 0 to 1.797"),
        (read_error_rate, "1" + "0" * 400, "'1000000000000000000000000000000000000...' is out of"),
        (read_unhealthy, "1e308", "'1e308' is out of range (a number from 0 to 1)"),
        (read_unhealthy, "-1", "'-1' is out of range (a number from 0 to 1)"),
        (read_error_rate, "1e-400", "'1e-400' is out of range (too close to 0 to tell from it"),
        (read_unhealthy, "nan", "not a finite number: 'nan' (a number from 0 to 1)"),
        (read_error_rate, "-Infinity", "not a finite number: '-Infinity'"),
        (read_unhealthy, "\uff15", "not a number: '\uff15' (a number from 0 to 1, in ASCII digits"),
        (read_error_rate, "1_0", "not a number: '1_0'"),
        (read_error_rate, "0x10", "not a number: '0x10'"),
        (read_error_rate, "", "not a number: ''"),
    ],
)
def test_threshold_messages_say_what_is_wrong(
    read: Callable[[str], float], text: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        read(text)
    assert str(caught.value).startswith(message), caught.value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "'0' is out of range (a whole number from 1 to 1000000000)"),
        ("1000000001", "'1000000001' is out of range"),
        ("9" * 100, "'" + "9" * 40 + "' is out of range"),
        ("\uff15", "not a whole number: '\uff15'"),
        ("1.0", "not a whole number: '1.0'"),
        ("1e3", "not a whole number: '1e3'"),
        ("-0", "not a whole number: '-0'"),
    ],
)
def test_min_nodes_as_typed(text: str, message: str) -> None:
    assert read_min_nodes(" 7 ") == 7
    assert read_min_nodes(str(MAX_MIN_NODES)) == MAX_MIN_NODES
    with pytest.raises(ValueError) as caught:
        read_min_nodes(text)
    assert str(caught.value).startswith(message), caught.value


_DECIMAL_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


@given(
    st.text(alphabet=st.sampled_from("0123456789.+-eE naif_x\uff15\t"), max_size=14)
    | st.floats().map(repr)
    | st.text()
)
def test_any_text_is_a_threshold_in_range_or_a_true_message(text: str) -> None:
    for read, high in ((read_unhealthy, 1.0), (read_error_rate, MAX_ERROR_RATE)):
        try:
            value = read(text)
        except ValueError as exc:
            why = str(exc)
            if why.startswith("not a finite number"):
                assert not math.isfinite(float(text))
            elif " is out of range " in why:  # a finite number in our grammar, past the range
                assert _DECIMAL_TEXT.fullmatch(text)
                assert not 0 <= float(text) <= high or (float(text) == 0 and "close to 0" in why)
            else:
                assert why.startswith("not a number: ")
                assert not _DECIMAL_TEXT.fullmatch(text)
            continue
        assert _DECIMAL_TEXT.fullmatch(text)
        assert 0 <= value <= high
        assert value == float(text)
