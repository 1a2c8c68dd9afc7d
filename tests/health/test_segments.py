"""Claiming a file's segments from both ends, and reading them forwards or backwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.segments import (
    Claims,
    Taker,
    add_problems,
    read_claimed,
    regions,
    split_points,
)
from tests.health_data import by_rule, export


def test_claims_from_both_ends_meet_and_give_each_segment_once() -> None:
    claims = Claims([(0, 5), (5, 6), (6, 6)])
    assert [claims.take(0, True), claims.take(0, False), claims.take(0, True)] == [0, 4, 1]
    assert [claims.take(0, False), claims.take(0, False), claims.take(0, True)] == [3, 2, None]
    assert claims.take(0, False) is None
    assert [claims.take(1, False), claims.take(1, True)] == [5, None]
    assert claims.take(2, True) is None  # an empty region


def test_the_last_segments_are_reserved_for_the_front() -> None:
    claims = Claims([(0, 5)], reserve=2)
    assert [claims.take(0, False), claims.take(0, False), claims.take(0, False)] == [4, 3, 2]
    assert claims.take(0, False) is None  # two left: both for the front
    assert [claims.take(0, True), claims.take(0, True), claims.take(0, True)] == [0, 1, None]


def test_regions_are_sized_by_their_takers() -> None:
    assert regions(10, 1) == [(0, 10)]
    assert regions(10, 2) == [(0, 10)]
    assert regions(9, 3) == [(0, 6), (6, 9)]
    assert regions(10, 4) == [(0, 5), (5, 10)]


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 19])
def test_one_taker_reading_backwards_finds_what_reading_forwards_finds(
    tmp_path: Path, chunk: int
) -> None:
    path = export(tmp_path / "h.jsonl")
    expected_latest, expected_problems = by_rule(path)
    points = split_points(path, path.stat().st_size, 7)
    latest = Latest()
    taker = Taker(1, 2)  # from the back of region 0, with nobody at the front
    segments = read_claimed(
        path, points, Claims([(0, len(points) - 1)]), taker, latest, chunk=chunk
    )
    assert [s.index for s in segments] == list(range(len(points) - 2, -1, -1))
    problems = Problems()
    add_problems(problems, segments)
    assert {k: v.metrics.uptime for k, v in latest.by_node.items()} == expected_latest
    assert problems.lines() == expected_problems
    assert latest.records == 2995
    assert sum(s.newlines for s in segments) == 2999
