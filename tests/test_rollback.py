"""The evaluation rules 2-8, each at its boundary, and the deployment engine's own cases."""

from __future__ import annotations

import json
import pickle
from datetime import timedelta

import pytest

from noderr_deploy.cohorts import COHORTS, RolloutPlan, bucket
from noderr_deploy.health.latest import latest_per_node
from noderr_deploy.health.report import HealthReport
from noderr_deploy.rollback import (
    CohortTally,
    RollbackResult,
    Thresholds,
    adoption,
    evaluate,
    verdict,
)
from noderr_deploy.ui.output import to_json
from tests.health_data import ALL_CANARY, T0, ids_in, report


def run(
    reports: list[HealthReport],
    *,
    plan: RolloutPlan = ALL_CANARY,
    version: str = "1.0.0",
    max_age: timedelta | None = None,
    **thresholds: float,
) -> RollbackResult:
    return evaluate(
        latest_per_node(reports),
        plan=plan,
        thresholds=Thresholds(**thresholds),  # type: ignore[arg-type]
        version=version,
        at=T0,
        max_age=max_age,
    )


def fleet(healthy: int, unhealthy: int = 0, errors_each: float = 0) -> list[HealthReport]:
    """``healthy`` + ``unhealthy`` nodes; the unhealthy ones by cpu, so errors stay 0."""
    out = [report(f"h{i}", errors=errors_each) for i in range(healthy)]
    out += [report(f"u{i}", cpu=99) for i in range(unhealthy)]
    return out


def canary(result: RollbackResult):  # type: ignore[no-untyped-def]
    return result.cohorts[0]


# -- the deployment engine's cases -----------------------------------------------------------


def test_engine_15_of_100_unhealthy_triggers() -> None:
    result = run(fleet(85, 15))
    assert canary(result).unhealthy_ratio == 0.15
    assert canary(result).status == "rollback"
    assert canary(result).reasons == ["unhealthy 15.0% > 10.0%"]
    assert result.verdict == "rollback"


def test_engine_error_rate_006_triggers() -> None:
    reports = fleet(100)
    for r in reports[:6]:
        r.metrics.errors = 1  # 6 errors over 100 nodes
    result = run(reports)
    assert canary(result).error_rate == pytest.approx(0.06)
    assert canary(result).reasons == ["error rate 0.06 > 0.05"]
    assert result.verdict == "rollback"


def test_engine_2_percent_unhealthy_error_rate_001_does_not_trigger() -> None:
    reports = fleet(98, 2)
    reports[0].metrics.errors = 1  # 1 error over 100 nodes
    result = run(reports)
    assert canary(result).unhealthy_ratio == 0.02
    assert canary(result).error_rate == 0.01
    assert canary(result).status == "ok"
    assert result.verdict == "ok"


def test_engine_empty_cohort_does_not_trigger() -> None:
    result = run([], plan=RolloutPlan())
    assert [c.status for c in result.cohorts] == ["insufficient"] * 5
    assert all(c.nodes == 0 and c.unhealthy_ratio is None for c in result.cohorts)
    assert result.verdict == "inconclusive"


def test_engine_mixed_metrics_counts() -> None:
    reports = [
        report("a", errors=0),
        report("b", errors=1),
        report("c", errors=2, cpu=92),  # degraded
    ]
    c = canary(run(reports))
    assert (c.nodes, c.healthy, c.degraded, c.unhealthy) == (3, 2, 1, 0)
    assert c.error_rate == 1.0


# -- rule 7 boundaries ------------------------------------------------------------------------


def test_exactly_10_percent_unhealthy_does_not_trigger_one_more_does() -> None:
    at_threshold = run(fleet(90, 10))
    assert canary(at_threshold).unhealthy_ratio == 0.10
    assert canary(at_threshold).status == "ok"
    one_more = run(fleet(89, 11))
    assert canary(one_more).status == "rollback"


def test_error_rate_exactly_005_does_not_trigger_one_more_error_does() -> None:
    reports = fleet(20)
    reports[0].metrics.errors = 1  # 1 / 20 = 0.05
    assert canary(run(reports)).error_rate == 0.05
    assert canary(run(reports)).status == "ok"
    reports[1].metrics.errors = 1
    assert canary(run(reports)).status == "rollback"


def test_min_nodes_boundary() -> None:
    three_bad = [report(f"u{i}", cpu=99) for i in range(3)]
    judged = run(three_bad, min_nodes=3)
    assert canary(judged).status == "rollback"
    short = run(three_bad[:2], min_nodes=3)
    assert canary(short).status == "insufficient"
    assert canary(short).reasons == ["2 nodes < min 3"]
    assert short.verdict == "inconclusive"


def test_thresholds_are_configurable() -> None:
    assert canary(run(fleet(90, 10), unhealthy_ratio=0.05)).status == "rollback"
    assert canary(run(fleet(85, 15), unhealthy_ratio=0.2)).status == "ok"


def test_both_reasons_are_listed() -> None:
    reports = fleet(8, 2, errors_each=1)
    assert canary(run(reports)).reasons == ["unhealthy 20.0% > 10.0%", "error rate 0.8 > 0.05"]


# -- rules 1-5 --------------------------------------------------------------------------------


def test_stale_boundary() -> None:
    age = timedelta(minutes=15)
    on_edge = report("edge", at=T0 - age)
    too_old = report("old", cpu=99, at=T0 - age - timedelta(microseconds=1))
    result = run([on_edge, too_old], max_age=age)
    assert result.reports.stale == 1
    assert canary(result).nodes == 1
    assert result.verdict == "ok"


def test_stale_uses_the_latest_report() -> None:
    reports = [report("a", at=T0 - timedelta(hours=3)), report("a", cpu=99, at=T0)]
    result = run(reports, max_age=timedelta(hours=1))
    assert result.reports.stale == 0
    assert canary(result).unhealthy == 1


def test_latest_wins_out_of_order() -> None:
    reports = [
        report("a", cpu=99, at=T0),
        report("a", cpu=10, at=T0 - timedelta(minutes=1)),  # older, read later: loses
    ]
    assert canary(run(reports)).unhealthy == 1


def test_latest_tie_goes_to_the_later_record() -> None:
    tie = [report("a", cpu=10, at=T0), report("a", cpu=99, at=T0)]
    assert canary(run(tie)).unhealthy == 1
    assert canary(run(tie[::-1])).unhealthy == 0


def test_other_versions_are_excluded_and_counted() -> None:
    reports = [*fleet(9), report("old", version="0.9.0", cpu=99)]
    result = run(reports)
    assert result.reports.other_version == 1
    assert result.reports.nodes == 10
    assert canary(result).nodes == 9
    assert canary(result).unhealthy == 0


def test_version_of_the_latest_report_decides() -> None:
    reports = [report("a", version="1.0.0", at=T0), report("a", version="0.9.0", at=T0)]
    assert run(reports).reports.other_version == 1


@pytest.mark.parametrize(
    ("override", "metrics", "expected"),
    [
        ("healthy", {"cpu": 99, "errors": 50}, "healthy"),
        ("unhealthy", {}, "unhealthy"),
        ("degraded", {"cpu": 99}, "degraded"),
    ],
)
def test_health_status_overrides_metrics(
    override: str, metrics: dict[str, float], expected: str
) -> None:
    c = canary(run([report("a", status=override, **metrics)]))  # type: ignore[arg-type]
    assert getattr(c, expected) == 1


def test_cohorts_come_from_the_node_ids() -> None:
    plan = RolloutPlan()
    reports = [report(node, cpu=99) for node in ids_in("cohort2", 3)]
    reports += [report(node) for node in ids_in("cohort4", 4)]
    result = run(reports, plan=plan)
    by_name = {c.cohort: c for c in result.cohorts}
    assert by_name["cohort2"].unhealthy == 3
    assert by_name["cohort2"].status == "rollback"
    assert by_name["cohort4"].nodes == 4
    assert by_name["cohort4"].status == "ok"
    assert by_name["canary"].status == "insufficient"
    assert result.verdict == "rollback"


def test_reference_ids_land_in_their_cohorts() -> None:
    # node-0 -> bucket 92 (cohort4), node-1 -> 63 (cohort3), node-2 -> 37 (cohort2)
    result = run([report("node-0"), report("node-1"), report("node-2")], plan=RolloutPlan())
    assert [c.nodes for c in result.cohorts] == [0, 0, 1, 1, 1]


def test_all_five_cohorts_always_present_in_order() -> None:
    result = run([report("a")])
    assert [c.cohort for c in result.cohorts] == list(COHORTS)


def test_verdict_ok_needs_one_judged_cohort() -> None:
    assert run([report("a")]).verdict == "ok"
    assert run([report("a", version="2.0.0")]).verdict == "inconclusive"


def test_counts_in_the_result() -> None:
    reports = [
        report("a"),
        report("a"),
        report("b", version="0.1"),
        report("c", at=T0 - timedelta(days=1)),
    ]
    latest = latest_per_node(reports)
    result = evaluate(
        latest,
        plan=ALL_CANARY,
        thresholds=Thresholds(),
        version="1.0.0",
        at=T0,
        max_age=timedelta(hours=1),
        records=4,
        invalid=2,
    )
    counts = result.reports
    assert (counts.records, counts.invalid, counts.nodes, counts.stale, counts.other_version) == (
        4,
        2,
        3,
        1,
        1,
    )
    assert result.at == "2026-11-01T12:00:00Z"


def test_adoption_per_cohort() -> None:
    reports = [report("a"), report("b", cpu=99), report("c", version="0.9.0")]
    rows = adoption(latest_per_node(reports), plan=ALL_CANARY, version="1.0.0")
    assert [r.cohort for r in rows] == list(COHORTS)
    assert (rows[0].reporting, rows[0].on_version, rows[0].healthy) == (3, 2, 1)
    assert rows[0].success_rate == 0.5
    assert rows[1].success_rate is None


def test_partial_tallies_combine_into_the_tally_of_all_nodes() -> None:
    """What the parallel reader does: each process folds the nodes it owns, pickles its
    tally, and the tallies combine into exactly what one fold over every node gives."""
    reports = [
        report(f"n{i}", version="1.0.0" if i % 7 else "0.9.0", errors=i % 3 * 0.1, cpu=i % 100)
        for i in range(400)
    ]
    reports += [report(f"old{i}", at=T0 - timedelta(hours=3)) for i in range(5)]
    latest = latest_per_node(reports)
    plan = RolloutPlan()

    def tally() -> CohortTally:
        return CohortTally.for_plan(plan, "1.0.0", T0, timedelta(hours=1))

    whole = tally()
    whole.add(latest)
    parts = [tally(), tally(), tally()]
    for node, kept in latest.items():  # as the reader splits nodes: by a hash of the id
        parts[bucket(node) % 3].add({node: kept})
    combined = pickle.loads(pickle.dumps(parts[0]))
    for part in parts[1:]:
        combined.combine(pickle.loads(pickle.dumps(part)))
    assert (combined.nodes, combined.stale, combined.other_version) == (405, 5, 58)
    assert combined.counts == whole.counts
    assert sorted(map(sorted, combined.errors)) == sorted(map(sorted, whole.errors))
    thresholds = Thresholds()
    assert verdict(combined, plan=plan, thresholds=thresholds, at=T0) == verdict(
        whole, plan=plan, thresholds=thresholds, at=T0
    )


def test_buckets_prepared_ahead_give_the_same_tally() -> None:
    latest = latest_per_node([report(f"n{i}", cpu=i % 100) for i in range(300)])
    plain = CohortTally.for_plan(RolloutPlan(), "1.0.0", T0)
    plain.add(latest)
    ahead = CohortTally.for_plan(RolloutPlan(), "1.0.0", T0)
    ahead.prepare([f"n{i}" for i in range(0, 400, 2)])  # some of them, and others
    assert ahead.known == {f"n{i}": bucket(f"n{i}") for i in range(0, 400, 2)}
    ahead.add(latest)
    assert ahead == plain
    assert ahead.known == {}  # used up: nothing extra goes back over the pipe


def test_error_totals_do_not_depend_on_the_order_of_the_nodes() -> None:
    """0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1 in floating point: the tally sums exactly,
    so which process folded which node cannot move an error rate by a last bit."""
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1
    errors = [0.1, 0.2, 0.3] * 20
    rates = set()
    for order in (errors, errors[::-1], sorted(errors)):
        latest = latest_per_node(
            [report(f"n{i}", errors=e) for i, e in enumerate(order)] + [report("z")]
        )
        tally = CohortTally.for_plan(ALL_CANARY, "1.0.0", T0)
        tally.add(latest)
        result = verdict(tally, plan=ALL_CANARY, thresholds=Thresholds(), at=T0)
        rates.add(result.cohorts[0].error_rate)
    assert rates == {12 / 61}


def test_adoption_uses_precomputed_buckets() -> None:
    latest = latest_per_node([report("node-0"), report("node-1")])  # buckets 92 and 63
    plain = adoption(latest, plan=RolloutPlan(), version="1.0.0")
    assert [c.reporting for c in plain] == [0, 0, 0, 1, 1]
    cached = adoption(latest, plan=RolloutPlan(), version="1.0.0", buckets={"node-0": 0})
    assert [c.reporting for c in cached] == [1, 0, 0, 1, 0]


# -- the result structs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"unhealthy_ratio": 1.01}, "unhealthy_ratio: Input should be less than or equal to 1"),
        ({"unhealthy_ratio": -0.1}, "unhealthy_ratio: Input should be greater than or equal to 0"),
        ({"unhealthy_ratio": float("nan")}, "unhealthy_ratio: not a number"),
        ({"error_rate": float("inf")}, "error_rate: not a finite number"),
        ({"error_rate": -0.01}, "error_rate: Input should be greater than or equal to 0"),
        ({"min_nodes": 0}, "min_nodes: Input should be greater than or equal to 1"),
    ],
)
def test_thresholds_out_of_range_raise(kwargs: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{problem}"):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_thresholds_report_every_problem_at_once() -> None:
    with pytest.raises(ValueError, match=r"^unhealthy_ratio: .*; error_rate: .*; min_nodes: "):
        Thresholds(unhealthy_ratio=2, error_rate=-1, min_nodes=0)


def test_thresholds_at_their_bounds_and_defaults() -> None:
    assert Thresholds() == Thresholds(unhealthy_ratio=0.10, error_rate=0.05, min_nodes=1)
    low = Thresholds(unhealthy_ratio=0, error_rate=0, min_nodes=1)
    high = Thresholds(unhealthy_ratio=1, error_rate=1e308, min_nodes=10**6)
    # Integers are held as floats, as pydantic held them: the JSON shows 0.0 and 1.0.
    assert (low.unhealthy_ratio, low.error_rate, high.unhealthy_ratio) == (0.0, 0.0, 1.0)
    assert all(type(v) is float for v in (low.unhealthy_ratio, low.error_rate))
    assert type(high.unhealthy_ratio) is float
    assert type(high.min_nodes) is int


def test_results_are_frozen() -> None:
    thresholds = Thresholds()
    with pytest.raises(AttributeError):
        thresholds.min_nodes = 5  # type: ignore[misc]


def test_json_document_keys_and_number_forms() -> None:
    result = evaluate(
        latest_per_node(fleet(3, 1)),
        plan=RolloutPlan(100, 0, 24),  # an int delay, as tiers.yaml may give it
        thresholds=Thresholds(unhealthy_ratio=0),
        version="1.0.0",
        at=T0,
    )
    text = to_json(result)
    assert text.startswith(
        "{\n"
        '  "verdict": "rollback",\n'
        '  "tier": null,\n'
        '  "version": "1.0.0",\n'
        '  "at": "2026-11-01T12:00:00Z",\n'
        '  "plan": {\n'
        '    "canaryPercentage": 100,\n'
        '    "cohortPercentage": 0,\n'
        '    "cohortDelayHours": 24\n'
        "  },\n"
        '  "thresholds": {\n'
        '    "unhealthyRatio": 0.0,\n'
        '    "errorRate": 0.05,\n'
        '    "minNodes": 1\n'
        "  },\n"
        '  "reports": {\n'
        '    "records": 4,\n'
        '    "invalid": 0,\n'
        '    "nodes": 4,\n'
        '    "stale": 0,\n'
        '    "otherVersion": 0,\n'
        '    "future": 0,\n'
        '    "lostBytes": 0,\n'
        '    "lostRecords": 0,\n'
        '    "incomplete": 0,\n'
        '    "incompleteRecords": 0,\n'
        '    "timestampUnit": null\n'
        "  },\n"
    ), text
    cohort = json.loads(text)["cohorts"][0]
    assert list(cohort) == [
        "cohort",
        "nodes",
        "healthy",
        "degraded",
        "unhealthy",
        "unhealthyRatio",
        "errorRate",
        "status",
        "reasons",
    ]
    assert result.triggered == [result.cohorts[0]]
