"""Sharing one JSON Lines file between processes: gathering every node, or folding each
node where it is owned."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.errors import InputError
from noderr_deploy.health import parallel
from noderr_deploy.health.read import read_folded, read_latest
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.segments import Claims
from noderr_deploy.health.sizes import ReadSizes
from noderr_deploy.rollback import CohortTally, Thresholds, verdict
from tests.health_data import T0, by_rule, export


class SeenClaims(Claims):
    """Claims that remember the last one made, for :func:`worker_started`."""

    last: Claims | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial = list(self._bounds)
        SeenClaims.last = self


@pytest.fixture(autouse=True)
def _seen_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "Claims", SeenClaims)


def worker_started() -> None:
    """Hold this process back until the worker reading region 0 from the back has claimed a
    segment, so that the test does not pass with this process having read everything."""
    claims = SeenClaims.last
    assert isinstance(claims, SeenClaims)
    bounds = claims._bounds
    high = claims.initial[1]
    deadline = time.monotonic() + 30
    while bounds[1] == high and bounds[0] < bounds[1] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bounds[1] < high


SHARED = ReadSizes(parallel_min=1, segment=20_000, chunk=3000)
"""Small files are shared between processes, in about 20 segments."""


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_small_segments_shared_between_processes(tmp_path: Path, workers: int) -> None:
    path = export(tmp_path / "h.jsonl")
    expected_latest, expected_problems = by_rule(path)
    result = read_latest(
        [path], workers=workers, skip_invalid=True, while_reading=worker_started, sizes=SHARED
    )
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


def test_a_result_too_large_for_shared_memory_goes_through_the_pipe(tmp_path: Path) -> None:
    path = export(tmp_path / "h.jsonl")
    expected_latest, _ = by_rule(path)
    sizes = ReadSizes(parallel_min=1, area=16, segment=20_000)
    result = read_latest(
        [path], workers=2, skip_invalid=True, while_reading=worker_started, sizes=sizes
    )
    assert {k: v.metrics.uptime for k, v in result.latest.items()} == expected_latest


# -- folding: the nodes shared out by owner, merged and folded where they are owned -------------


@dataclass
class Uptimes:
    """A fold that keeps each node's uptime and which processes folded nodes; it fails the
    test when a node is folded twice."""

    seen: dict[str, float] = field(default_factory=dict)
    pids: set[int] = field(default_factory=set)
    prepared: set[str] = field(default_factory=set)

    def prepare(self, nodes: Iterable[str]) -> None:
        self.prepared |= set(nodes)

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        assert not self.seen.keys() & latest.keys()
        self.seen.update({node: report.metrics.uptime for node, report in latest.items()})
        self.pids.add(os.getpid())

    def combine(self, other: Uptimes) -> None:
        assert not self.seen.keys() & other.seen.keys()
        self.seen.update(other.seen)
        self.pids |= other.pids
        self.prepared |= other.prepared


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_each_process_folds_the_nodes_it_owns(tmp_path: Path, workers: int) -> None:
    path = export(tmp_path / "h.jsonl")
    expected_latest, expected_problems = by_rule(path)
    hold = worker_started if workers > 1 else None
    result = read_folded(
        [path], Uptimes, workers=workers, skip_invalid=True, while_reading=hold, sizes=SHARED
    )
    # Ties and out-of-order records are decided as one process reading in order does.
    assert result.fold.seen == expected_latest
    assert len(result.fold.pids) == workers  # every process owned and folded some nodes
    # Workers prepared the nodes they own of what they read themselves (this process has
    # nothing to wait for, so it prepares nothing).
    assert result.fold.prepared <= result.fold.seen.keys()
    assert bool(result.fold.prepared) is (workers > 1)
    assert result.problems.lines() == expected_problems
    assert (result.records, result.nodes) == (2995, 97)


def test_the_rollback_tally_is_the_same_read_by_one_process_or_two(tmp_path: Path) -> None:
    path = export(tmp_path / "h.jsonl", count=6000, nodes=500)
    plan = RolloutPlan()

    def tally() -> CohortTally:
        return CohortTally.for_plan(plan, "1.0.0", T0)

    one = read_folded([path], tally, workers=1, skip_invalid=True, sizes=SHARED)
    two = read_folded(
        [path], tally, workers=2, skip_invalid=True, while_reading=worker_started, sizes=SHARED
    )
    assert one.fold == two.fold != tally()
    thresholds = Thresholds()
    assert verdict(one.fold, plan=plan, thresholds=thresholds, at=T0) == verdict(
        two.fold, plan=plan, thresholds=thresholds, at=T0
    )


def test_malformed_records_stop_the_workers_before_anything_is_folded(tmp_path: Path) -> None:
    path = export(tmp_path / "h.jsonl")
    folds: list[Uptimes] = []

    def make() -> Uptimes:
        folds.append(Uptimes())
        return folds[-1]

    with pytest.raises(InputError) as caught:
        read_folded([path], make, workers=2, while_reading=worker_started, sizes=SHARED)
    assert caught.value.message.startswith("5 malformed health records")
    assert [line.split(": ")[0] for line in caught.value.details] == [
        f"{path}:{n}" for n in (1, 6, 10, 1501, 2999)
    ]
    assert [fold.seen for fold in folds] == [{}]  # made early (for the workers), never fed
    assert multiprocessing.active_children() == []


@dataclass
class FailsInWorker(Uptimes):
    """Folds here, fails in a worker: raises, or ends the worker at once."""

    parent: int = field(default_factory=os.getpid)
    how: str = "raise"

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        if os.getpid() != self.parent:
            if self.how == "raise":
                raise ValueError("this fold cannot be folded here")
            os._exit(9)
        super().add(latest)


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("raise", "this fold cannot be folded here"),
        ("die", "a health reader worker ended without sending its fold"),
    ],
)
def test_a_failing_worker_fails_the_read(tmp_path: Path, how: str, error: str) -> None:
    path = export(tmp_path / "h.jsonl")
    with pytest.raises((ValueError, RuntimeError), match=error):
        read_folded(
            [path], lambda: FailsInWorker(how=how), workers=2, skip_invalid=True, sizes=SHARED
        )
    assert multiprocessing.active_children() == []


def test_folding_parcels_too_large_for_shared_memory_go_through_the_pipe(
    tmp_path: Path,
) -> None:
    path = export(tmp_path / "h.jsonl")
    expected_latest, _ = by_rule(path)
    sizes = ReadSizes(parallel_min=1, segment=20_000, chunk=3000, area=16)
    result = read_folded(
        [path], Uptimes, workers=2, skip_invalid=True, while_reading=worker_started, sizes=sizes
    )
    assert result.fold.seen == expected_latest
