"""Sharing one JSON Lines file between processes: claims, reading backwards, merging."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from noderr_deploy import health_formats, health_parallel
from noderr_deploy.cohorts import bucket
from noderr_deploy.health import Latest, Problems, read_latest
from noderr_deploy.health_parallel import Claims, Taker, read_claimed, split_points
from tests.health_data import jsonl, record


def export(path: Path, count: int = 3000, nodes: int = 97) -> Path:
    """Records out of time order with many ties (ten distinct timestamps), and malformed
    lines: three close together at the start, one in the middle, one near the end."""
    lines: list[dict[str, object] | str] = [
        record(f"n{i % nodes}", uptime=i, timestamp=1793534400 + (i * 7919) % 600 // 60)
        for i in range(count)
    ]
    lines[0] = "garbage"
    lines[5] = json.dumps(record("x", memory=101))
    lines[9] = "[]"
    lines[count // 2] = json.dumps(record("x", cpu=-1))
    lines[-2] = "{"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(*lines)[:-1])  # a BOM, no final newline
    return path


def worker_started() -> None:
    """Hold this process back until the worker reading region 0 from the back has claimed a
    segment, so that the test does not pass with this process having read everything."""
    bounds = health_parallel._STATE[-1].claims._bounds
    high = bounds[1]
    deadline = time.monotonic() + 30
    while bounds[1] == high and bounds[0] < bounds[1] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bounds[1] < high


def by_rule(path: Path) -> tuple[dict[str, float], list[str]]:
    """Latest uptime per node and the problems, read by one process from the front."""
    result = read_latest([path], workers=1, skip_invalid=True)
    return {k: v.metrics.uptime for k, v in result.latest.items()}, result.problems.lines()


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
    assert health_parallel._regions(10, 1) == [(0, 10)]
    assert health_parallel._regions(10, 2) == [(0, 10)]
    assert health_parallel._regions(9, 3) == [(0, 6), (6, 9)]
    assert health_parallel._regions(10, 4) == [(0, 5), (5, 10)]


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 19])
def test_one_taker_reading_backwards_finds_what_reading_forwards_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(health_formats, "CHUNK", chunk)
    path = export(tmp_path / "h.jsonl")
    expected_latest, expected_problems = by_rule(path)
    points = split_points(path, path.stat().st_size, 7)
    latest = Latest()
    taker = Taker(1, 2)  # from the back of region 0, with nobody at the front
    segments = read_claimed(path, points, Claims([(0, len(points) - 1)]), taker, latest)
    assert [s.index for s in segments] == list(range(len(points) - 2, -1, -1))
    problems = Problems()
    health_parallel._add_problems(problems, segments)
    assert {k: v.metrics.uptime for k, v in latest.by_node.items()} == expected_latest
    assert problems.lines() == expected_problems
    assert latest.records == 2995
    assert sum(s.newlines for s in segments) == 2999
    # This taker hashed the ids whose hash() % 2 is 1, and only those.
    assert latest.buckets == {node: bucket(node) for node in latest.by_node if hash(node) % 2 == 1}


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_small_segments_shared_between_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(health_formats, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(health_parallel, "SEGMENT", 20_000)  # about 20 segments
    monkeypatch.setattr(health_formats, "CHUNK", 3000)
    path = export(tmp_path / "h.jsonl")
    expected_latest, expected_problems = by_rule(path)
    result = read_latest([path], workers=workers, skip_invalid=True, while_reading=worker_started)
    assert {k: v.metrics.uptime for k, v in result.latest.items()} == expected_latest
    assert result.problems.lines() == expected_problems
    assert [line.split(": ")[0] for line in expected_problems] == [
        f"{path}:1",
        f"{path}:6",
        f"{path}:10",
        f"{path}:1501",
        f"{path}:2999",
    ]
    assert result.records == 2995
    assert result.buckets  # hashed while reading, and right
    assert all(bucket(node) == b for node, b in result.buckets.items())


def test_a_result_too_large_for_shared_memory_goes_through_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_formats, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(health_parallel, "AREA", 16)
    monkeypatch.setattr(health_parallel, "SEGMENT", 20_000)
    path = export(tmp_path / "h.jsonl")
    expected_latest, _ = by_rule(path)
    result = read_latest([path], workers=2, skip_invalid=True, while_reading=worker_started)
    assert {k: v.metrics.uptime for k, v in result.latest.items()} == expected_latest
