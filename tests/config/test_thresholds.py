"""The rollback thresholds' ranges: one set of rules for tiers.yaml and the verdict."""

from __future__ import annotations

import math

import pytest

from noderr_deploy.config.thresholds import (
    error_rate_problem,
    min_nodes_problem,
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
        (math.nan, "Input should be less than or equal to 1"),
        (-0.0001, "Input should be greater than or equal to 0"),
        (-math.inf, "Input should be greater than or equal to 0"),
    ],
)
def test_unhealthy_share_out_of_range(value: float, problem: str) -> None:
    assert unhealthy_problem(value) == problem


def test_error_rate_has_no_upper_bound_but_is_a_number() -> None:
    assert error_rate_problem(0) is None
    assert error_rate_problem(math.inf) is None  # as pydantic accepted it: never triggers
    assert error_rate_problem(-0.01) == "Input should be greater than or equal to 0"
    assert error_rate_problem(math.nan) == "Input should be greater than or equal to 0"


def test_min_nodes_at_least_one() -> None:
    assert min_nodes_problem(1) is None
    assert min_nodes_problem(0) == "Input should be greater than or equal to 1"


def test_every_problem_at_once_keyed_as_in_tiers_yaml() -> None:
    assert threshold_problems(0.1, 0.05, 1) == []
    assert threshold_problems(2, -1, 0) == [
        ("unhealthy_threshold", "Input should be less than or equal to 1"),
        ("error_rate_threshold", "Input should be greater than or equal to 0"),
        ("min_nodes", "Input should be greater than or equal to 1"),
    ]
