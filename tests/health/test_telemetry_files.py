"""The network's telemetry as files: psql exports, NULL metrics, epoch milliseconds, the
incomplete policy, on the serial and the parallel path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from noderr_deploy.errors import InputError
from noderr_deploy.health.columns import ColumnMap
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.results import HealthRead
from noderr_deploy.health.rules import ReadRules
from noderr_deploy.health.sizes import ReadSizes

T0 = datetime(2026, 3, 1, 5, 49, 36, 123456, tzinfo=UTC)
SHARED = ReadSizes(parallel_min=1, segment=20_000, chunk=3000)
PSQL_HEADER = (
    "id,node_id,timestamp,uptime,requests,errors,cpu_usage,memory_usage,metrics,version,"
    "disk_usage,network_rx,network_tx"
)


def psql_row(i: int, node: str, stamp: str, cpu: str = "12.50", memory: str = "40.00") -> str:
    return f'{i},{node},{stamp},3600,10,0,{cpu},{memory},"{{""a"": 1}}",1.4.2,,,'


def read(path: Path, rules: ReadRules | None = None, **kwargs: object) -> HealthRead:
    return read_latest([path], rules=rules or ReadRules(), **kwargs)  # type: ignore[arg-type]


def test_psql_copy_export_reads_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.csv"
    path.write_text(
        "\n".join(
            [
                PSQL_HEADER,
                psql_row(1, "n1", "2026-03-01 05:49:36.123456+00"),
                psql_row(2, "n2", "2026-03-01 07:49:36.12+02"),
                psql_row(3, "n3", "2026-03-01 05:49:36.123456+00", cpu=""),
            ]
        )
        + "\n"
    )
    result = read(path)
    assert result.records == 3
    assert result.latest["n1"].timestamp == T0
    assert result.latest["n2"].timestamp == T0.replace(microsecond=120000)
    assert result.latest["n1"].metrics.cpu == 12.5
    assert result.latest["n3"].incomplete
    assert result.latest["n3"].metrics.cpu is None
    assert result.problems.incomplete == 1


def test_header_case_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(PSQL_HEADER.upper() + "\n" + psql_row(1, "n1", "1772344176") + "\n")
    result = read(path)
    assert result.latest["n1"].timestamp == datetime.fromtimestamp(1772344176, UTC)
    assert (result.problems.seconds, result.problems.milliseconds) == (1, 0)


def test_header_without_the_rules_metrics_names_them_all(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("node_id,timestamp,version,errors\nn1,1772344176,1,0\n")
    with pytest.raises(InputError, match=r"t.csv:1: CSV header lacks column\(s\) cpu, memory"):
        read(path)


def test_columns_map_another_export(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("host,ver,ts,load,mem,errs\nh1,2,1772344176123,91,10,0\n")
    columns = ColumnMap.of(
        {
            "nodeId": "host",
            "version": "ver",
            "timestamp": "ts",
            "cpu": "load",
            "memory": "mem",
            "errors": "errs",
        }
    )
    result = read(path, ReadRules(columns=columns))
    assert result.latest["h1"].timestamp == datetime(2026, 3, 1, 5, 49, 36, 123000, tzinfo=UTC)
    assert result.problems.milliseconds == 1


def updater_record(node: str, millis: int, **metrics: float | None) -> dict[str, object]:
    """The node-side updater's telemetry: epoch milliseconds, optional metrics, extras."""
    return {
        "nodeId": node,
        "version": "1.4.2",
        "nodeTier": "oracle",
        "updateResult": "ok",
        "timestamp": millis,
        "metrics": {k: v for k, v in metrics.items() if v is not None},
    }


MS0 = int(T0.timestamp() * 1000)


@pytest.mark.parametrize("unit", ["auto", "ms"])
def test_updater_json_in_milliseconds(tmp_path: Path, unit: str) -> None:
    path = tmp_path / "u.jsonl"
    lines = [
        updater_record("a", MS0, cpu=1, memory=2, errors=0),
        updater_record("b", MS0 + 1000, cpu=1, memory=2),
        {"nodeId": "c", "version": "1.4.2", "timestamp": MS0},  # no metrics at all
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    result = read(path, ReadRules(unit=unit))  # type: ignore[arg-type]
    assert result.latest["a"].timestamp == T0.replace(microsecond=123000)
    assert not result.latest["a"].incomplete
    assert result.latest["b"].metrics.missing == ("errors",)
    assert result.latest["c"].metrics.missing == ("cpu", "memory", "errors")
    assert (result.problems.milliseconds, result.problems.incomplete) == (3, 2)


def test_seconds_unit_refuses_milliseconds_naming_both_readings(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(updater_record("a", MS0, cpu=1, memory=2, errors=0)) + "\n")
    with pytest.raises(InputError) as caught:
        read(path, ReadRules(unit="s"))
    detail = caught.value.details[0]
    assert detail.startswith(f"{path}:1: timestamp: {MS0} is no date in unix seconds")
    assert "as milliseconds 2026-03-01T05:49:36Z" in detail


def test_a_number_that_fits_neither_unit(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(updater_record("a", 10**16, cpu=1, memory=2, errors=0)) + "\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert (
        "as seconds after the year 9999, as milliseconds after the year 9999"
        in (caught.value.details[0])
    )


def series(path: Path, nodes: int = 300) -> None:
    """Per node: a complete report, then a newer incomplete one (each node's cpu is its
    number, to tell the reports apart)."""
    lines = []
    for minute, complete in ((0, True), (5, False)):
        for n in range(nodes):
            metrics = {"uptime": 1, "cpu": n % 100, "memory": 1, "errors": 0}
            if not complete:
                del metrics["cpu"]
            stamp = (T0 + timedelta(minutes=minute)).isoformat()
            lines.append(
                json.dumps(
                    {"nodeId": f"n{n}", "version": "1", "metrics": metrics, "timestamp": stamp}
                )
            )
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("workers", [1, 2])
def test_incomplete_does_not_replace_complete_unless_latest_is_asked(
    tmp_path: Path, workers: int
) -> None:
    path = tmp_path / "h.jsonl"
    series(path)
    kept = read(path, ReadRules(), workers=workers, sizes=SHARED)
    assert not any(r.incomplete for r in kept.latest.values())
    assert {r.timestamp for r in kept.latest.values()} == {T0}
    assert kept.problems.incomplete == 300
    latest = read(path, ReadRules(incomplete="latest"), workers=workers, sizes=SHARED)
    assert all(r.incomplete for r in latest.latest.values())
    assert {r.timestamp for r in latest.latest.values()} == {T0 + timedelta(minutes=5)}


def test_a_complete_report_beats_a_newer_incomplete_one_read_first(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    new = {"nodeId": "a", "version": "1", "timestamp": (T0 + timedelta(hours=1)).isoformat()}
    old = {
        "nodeId": "a",
        "version": "1",
        "timestamp": T0.isoformat(),
        "metrics": {"cpu": 3, "memory": 1, "errors": 0},
    }
    path.write_text(json.dumps(new) + "\n" + json.dumps(old) + "\n")
    assert read(path).latest["a"].metrics.cpu == 3
    assert read(path, ReadRules(incomplete="latest")).latest["a"].incomplete


def test_null_metrics_in_json_are_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps(
            [
                {
                    "nodeId": "a",
                    "version": "1",
                    "timestamp": "2026-03-01T00:00:00Z",
                    "metrics": {"cpu": None, "memory": 1, "errors": 0},
                }
            ]
        )
    )
    result = read(path)
    assert result.latest["a"].incomplete
    assert result.problems.incomplete == 1


def test_incomplete_nodes_are_counted_never_judged() -> None:
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.health.report import HealthReport, Metrics
    from noderr_deploy.rollback import Thresholds, adoption, evaluate

    plan = RolloutPlan(canary_percentage=100, cohort_percentage=0)
    latest = {
        "a": HealthReport(
            node_id="a", version="1", metrics=Metrics(memory=99, errors=50), timestamp=T0
        ),
        "b": HealthReport(
            node_id="b", version="1", metrics=Metrics(cpu=1, memory=1, errors=0), timestamp=T0
        ),
        "c": HealthReport(node_id="c", version="0", timestamp=T0),  # other version first
    }
    result = evaluate(latest, plan=plan, thresholds=Thresholds(), version="1", at=T0)
    assert (result.reports.incomplete, result.reports.other_version) == (1, 1)
    canary = result.cohorts[0]
    assert (canary.nodes, canary.healthy, canary.error_rate) == (1, 1, 0.0)
    assert result.verdict == "ok"
    rows = adoption(latest, plan=plan, version="1")
    assert (rows[0].on_version, rows[0].healthy, rows[0].success_rate) == (2, 1, 1.0)
