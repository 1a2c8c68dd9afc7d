"""The core of ``noderr cohort`` called directly: plain values in, a result out."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noderr_deploy.chain.cohort import CohortRequest, run_cohort
from noderr_deploy.chain.source import PlanFlags, RolloutSource
from noderr_deploy.cohorts import bucket
from noderr_deploy.errors import InputError, UsageError

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
PLAN = PlanFlags(10, 20, 24)  # every plan value given: no tiers.yaml is looked for


def now() -> datetime:
    return NOW


def test_rows_of_ids_given_as_arguments() -> None:
    result = run_cohort(CohortRequest(PLAN, node_ids=["node-1", "node-2"]), now=now)
    assert result.ids == [b"node-1", b"node-2"]
    assert list(result.buckets or b"") == [bucket("node-1"), bucket("node-2")]
    assert (result.total, result.origin, result.single, result.counts) == (
        2,
        "the arguments",
        False,
        None,
    )
    assert result.at == NOW  # no --at, no chain: now
    assert result.source.published_at is None


def test_summary_counts_a_repeated_id_once_and_says_so() -> None:
    request = CohortRequest(PLAN, node_ids=["a", "b", "a"], summary=True)
    result = run_cohort(request, now=now)
    assert result.counts is not None and sum(result.counts.values()) == 2
    assert result.total == 3
    assert result.warnings[-1] == (
        "the arguments: 1 repeated node id (1 id given more than once): counted once in the summary"
    )


def test_a_file_from_stdin_is_told_after_the_source_is_known() -> None:
    told: list[RolloutSource] = []
    request = CohortRequest(
        PLAN, file="-", published_at="2026-03-01T12:00:00Z", at="2026-03-03T13:00:00Z"
    )
    result = run_cohort(request, stdin=io.BytesIO(b"x\ny\n"), now=now, on_source=told.append)
    assert told == [result.source]
    assert result.ids == [b"x", b"y"] and result.origin == "<stdin>"
    assert result.at == datetime(2026, 3, 3, 13, tzinfo=UTC)
    assert result.source.published_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_bad_file_fails_after_the_source_was_told(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"x\n\ny\n")
    told: list[RolloutSource] = []
    with pytest.raises(InputError, match=":2: "):
        run_cohort(CohortRequest(PLAN, file=str(path)), now=now, on_source=told.append)
    assert len(told) == 1  # where the plan came from is said before the ids are read


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (CohortRequest(PLAN, node_ids=["a"], at="2026-03-01"), "--at needs a publish time"),
        (CohortRequest(PLAN, node_ids=["a"], published_at="soon"), "--published-at: "),
        (CohortRequest(PLAN, node_ids=["a", ""]), "node id 2 is empty"),
    ],
)
def test_usage_errors(request_: CohortRequest, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        run_cohort(request_, now=now)


def test_a_summary_has_its_shares_and_with_a_publish_time_its_phase_and_schedule() -> None:
    request = CohortRequest(
        PLAN,
        node_ids=["a", "b", "c", "d"],
        published_at="2026-03-01T12:00:00Z",
        at="2026-03-02T12:00:00Z",
        summary=True,
    )
    result = run_cohort(request, now=now)
    assert result.counts is not None and result.shares is not None
    assert sum(result.counts.values()) == 4
    assert result.shares == {name: n * 25.0 for name, n in result.counts.items()}
    assert result.phase == "cohort1"  # one 24 h delay after the publish
    assert result.schedule is not None
    assert [(e.cohort, e.active) for e in result.schedule] == [
        ("canary", True), ("cohort1", True), ("cohort2", False), ("cohort3", False),
        ("cohort4", False),
    ]  # fmt: skip


def test_rows_without_a_publish_time_have_no_phase_or_shares() -> None:
    result = run_cohort(CohortRequest(PLAN, node_ids=["a"]), now=now)
    assert (result.phase, result.schedule, result.shares) == (None, None, None)
