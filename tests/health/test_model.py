"""Health records: derived status, timestamps, latest-wins and the problem list."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.health.latest import Latest, latest_per_node
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import Metrics, derived_status, status_of
from noderr_deploy.health.stamps import utc
from tests.health_data import T0, report


@pytest.mark.parametrize(
    ("cpu", "memory", "errors", "expected"),
    [
        (10, 10, 10, "healthy"),  # errors > 10, not >= 10
        (10, 10, 10.5, "unhealthy"),
        (95, 10, 0, "degraded"),  # cpu > 95 is unhealthy; 95 is only > 90
        (95.01, 10, 0, "unhealthy"),
        (90, 90, 0, "healthy"),
        (90.01, 10, 0, "degraded"),
        (10, 90.01, 0, "degraded"),
        (10, 100, 11, "unhealthy"),
    ],
)
def test_derived_status_boundaries(cpu: float, memory: float, errors: float, expected: str) -> None:
    assert derived_status(Metrics(uptime=1, cpu=cpu, memory=memory, errors=errors)) == expected


def test_health_status_overrides() -> None:
    assert status_of(report(cpu=99, status="healthy")) == "healthy"
    assert status_of(report(cpu=99)) == "unhealthy"


def test_utc_normalises_every_kind_of_timestamp() -> None:
    naive = datetime(2026, 11, 1, 12, 0)
    plus_two = datetime(2026, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc(naive) == T0 and utc(naive).tzinfo is UTC
    assert utc(plus_two) == T0 and utc(plus_two).tzinfo is UTC
    assert utc(T0.timestamp()) == T0
    assert utc(T0) is T0


def test_latest_compares_across_offsets_naive_and_numbers() -> None:
    later_with_offset = datetime(2026, 11, 1, 14, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    reports = [
        report("a", cpu=1, at=T0.timestamp()),
        report("a", cpu=2, at=datetime(2026, 11, 1, 12, 0)),  # naive = UTC: a tie, read later
        report("a", cpu=3, at=later_with_offset),
        report("a", cpu=4, at=T0),  # older
    ]
    latest = latest_per_node(reports)
    assert latest["a"].metrics.cpu == 3
    assert latest["a"].timestamp == T0 + timedelta(seconds=1)
    assert latest["a"].timestamp.tzinfo is UTC  # normalised


def test_sorted_batches_take_the_fast_path_and_agree() -> None:
    sorted_batch = [
        report(f"n{i % 5}", cpu=i, at=T0 + timedelta(seconds=i // 2)) for i in range(40)
    ]
    fast = Latest()
    fast.add_many(sorted_batch)
    slow = latest_per_node(sorted_batch)
    assert {k: v.metrics.cpu for k, v in fast.by_node.items()} == {
        k: v.metrics.cpu for k, v in slow.items()
    }


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 5), st.sampled_from(["dt", "naive", "num"])),
        max_size=60,
    ),
    st.integers(1, 7),
)
def test_batched_latest_matches_the_rule(rows: list[tuple[int, int, str]], batch: int) -> None:
    """Whatever the batching and the timestamp kinds, the result is rule 1 applied naively."""
    reports = []
    for i, (node, second, kind) in enumerate(rows):
        moment = T0 + timedelta(seconds=second)
        at: datetime | float = {
            "dt": moment,
            "naive": moment.replace(tzinfo=None),
            "num": moment.timestamp(),
        }[kind]
        reports.append(report(f"n{node}", uptime=i, at=at))
    expected: dict[str, tuple[datetime, float]] = {}
    for r in reports:
        old = expected.get(r.node_id)
        if old is None or utc(r.timestamp) >= old[0]:
            expected[r.node_id] = (utc(r.timestamp), r.metrics.uptime)
    latest = Latest()
    for start in range(0, len(reports), batch):
        latest.add_many(reports[start : start + batch])
    assert {k: (utc(v.timestamp), v.metrics.uptime) for k, v in latest.by_node.items()} == expected
    assert latest.records == len(reports)


@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 8)), max_size=80),
    st.integers(1, 9),
)
def test_batched_latest_matches_the_rule_for_aware_timestamps(
    rows: list[tuple[int, int]], batch: int
) -> None:
    """All timestamps comparable: the sorted fast path and the late records mix."""
    reports = [
        report(f"n{node}", uptime=i, at=T0 + timedelta(seconds=second))
        for i, (node, second) in enumerate(rows)
    ]
    expected: dict[str, tuple[datetime, float]] = {}
    for r in reports:
        old = expected.get(r.node_id)
        if old is None or utc(r.timestamp) >= old[0]:
            expected[r.node_id] = (utc(r.timestamp), r.metrics.uptime)
    latest = Latest()
    for start in range(0, len(reports), batch):
        latest.add_many(reports[start : start + batch])
    assert {k: (utc(v.timestamp), v.metrics.uptime) for k, v in latest.by_node.items()} == expected


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 3), st.sampled_from(["dt", "naive", "num"])),
        max_size=60,
    ),
    st.integers(1, 7),
)
def test_feeding_batches_from_the_end_matches_the_rule(
    rows: list[tuple[int, int, str]], batch: int
) -> None:
    """add_earlier(): the last batch first, each in read order; ties go to the later record."""
    reports = []
    for i, (node, second, kind) in enumerate(rows):
        moment = T0 + timedelta(seconds=second)
        at: datetime | float = {
            "dt": moment,
            "naive": moment.replace(tzinfo=None),
            "num": moment.timestamp(),
        }[kind]
        reports.append(report(f"n{node}", uptime=i, at=at))
    expected = {k: v.metrics.uptime for k, v in latest_per_node(reports).items()}
    latest = Latest()
    starts = list(range(0, len(reports), batch))
    for start in reversed(starts):
        latest.add_earlier(reports[start : start + batch])
    assert {k: v.metrics.uptime for k, v in latest.by_node.items()} == expected
    assert latest.records == len(reports)


def test_merge_lets_the_later_part_win_ties() -> None:
    first, second = Latest(), Latest()
    first.add_many([report("a", cpu=1), report("b", cpu=1, at=T0 + timedelta(1))])
    second.add_many([report("a", cpu=2), report("b", cpu=2)])
    first.merge(second)
    assert first.by_node["a"].metrics.cpu == 2  # tie: the later part wins
    assert first.by_node["b"].metrics.cpu == 1  # newer in the earlier part
    assert first.records == 4


def test_merge_then_fast_path_stays_exact() -> None:
    latest = Latest()
    latest.add_many([report("a", cpu=1, at=T0 + timedelta(hours=1))])
    later = Latest()
    later.add_many([report("b", at=T0)])
    latest.merge(later)
    latest.add_many([report("a", cpu=2, at=T0 + timedelta(minutes=30))])  # in order, but older
    assert latest.by_node["a"].metrics.cpu == 1


def test_shuffled_input_gives_the_same_latest() -> None:
    rng = random.Random(7)
    reports = [
        report(f"n{rng.randrange(20)}", uptime=i, at=T0 + timedelta(seconds=i)) for i in range(300)
    ]
    expected = {k: v.metrics.uptime for k, v in latest_per_node(reports).items()}
    rng.shuffle(reports)
    assert {k: v.metrics.uptime for k, v in latest_per_node(reports).items()} == expected


def test_problems_list_twenty_and_count_the_rest() -> None:
    problems = Problems()
    for i in range(25):
        problems.add("f.jsonl", i + 1, "bad")
    lines = problems.lines()
    assert len(lines) == 21
    assert lines[0] == "f.jsonl:1: bad"
    assert lines[19] == "f.jsonl:20: bad"
    assert lines[20] == "... and 5 more"
    assert problems.lines(3)[-1] == "... and 22 more"


def test_problems_extend_shifts_lines() -> None:
    first, second = Problems(), Problems()
    first.add("f", 3, "x")
    second.add("f", 2, "y")
    first.extend(second, line_offset=10)
    assert first.lines() == ["f:3: x", "f:12: y"]
