"""``noderr rollout status --health`` against a VersionBeacon on a real anvil.

Per tier and cohort (the beacon's plan): nodes reporting, nodes on the tier's current
versionString, and the healthy share of those. Nothing is mocked.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.cohorts import COHORTS, RolloutPlan
from tests.health_data import ids_in, jsonl, record
from tests.support.anvil import Anvil
from tests.support.beacon_chain import ORACLE, VALIDATOR, BeaconDriver

TIERS_YAML = """\
tiers:
  validator: {beacon_tier: 0, size_budget: 1GB}
  guardian:  {beacon_tier: 1, size_budget: 1GB}
  oracle:    {beacon_tier: 2, size_budget: 1GB}
"""
PLAN = RolloutPlan(10, 20, 12)


@pytest.fixture
def beacon(beacon: BeaconDriver) -> BeaconDriver:
    """The shared fixture's beacon, with this module's rollout config."""
    beacon.set_rollout(PLAN.canary_percentage, PLAN.cohort_percentage, 12)
    return beacon


@pytest.fixture
def status(tmp_path: Path, node: Anvil, beacon: BeaconDriver) -> Callable[..., Any]:
    config = tmp_path / "tiers.yaml"
    config.write_text(TIERS_YAML)

    def invoke(*args: str) -> Any:
        env = {
            "NODERR_RPC_URL": node.url,
            "NODERR_BEACON_ADDRESS": beacon.address,
            "NODERR_CONFIG": str(config),
            "NODERR_MAX_AGE": None,
        }
        return CliRunner().invoke(app, ["rollout", "status", "--quiet", *args], env=env)

    return invoke


def ok_json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return dict(json.loads(result.stdout))


def block_time(node: Anvil) -> datetime:
    block = node.rpc("eth_getBlockByNumber", ["latest", False])
    return datetime.fromtimestamp(int(block["timestamp"], 16), tz=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def fleet(tmp_path: Path) -> Path:
    """Per cohort of PLAN: canary 4 on 2.0.0 (1 unhealthy), 1 on 1.9.0; cohort1 3 on
    2.0.0 (1 degraded, 1 with healthStatus healthy despite cpu 99), 2 on 1.9.0; cohort2
    3 on 1.9.0; cohort3 none; cohort4 2 on 1.0.0 (the validator's version)."""
    docs: list[dict[str, Any]] = []
    canary = ids_in("canary", 5, PLAN)
    docs += [record(n, version="2.0.0", cpu=99 if i == 0 else 10) for i, n in enumerate(canary[:4])]
    docs.append(record(canary[4], version="1.9.0"))
    c1 = ids_in("cohort1", 5, PLAN)
    docs += [
        record(c1[0], version="2.0.0"),
        record(c1[1], version="2.0.0", memory=95),
        record(c1[2], version="2.0.0", cpu=99, healthStatus="healthy"),
        record(c1[3], version="1.9.0"),
        record(c1[4], version="1.9.0"),
    ]
    docs += [record(n, version="1.9.0") for n in ids_in("cohort2", 3, PLAN)]
    docs += [record(n, version="1.0.0") for n in ids_in("cohort4", 2, PLAN)]
    path = tmp_path / "health.jsonl"
    path.write_bytes(jsonl(*docs))
    return path


def rows(tier: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (h["cohort"], h["reporting"], h["onVersion"], h["healthy"], h["successRate"])
        for h in tier["health"]
    ]


def test_health_per_tier_and_cohort(
    beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path
) -> None:
    beacon.publish(VALIDATOR, "1.0.0")
    beacon.publish(ORACLE, "2.0.0")
    export = fleet(tmp_path)
    doc = ok_json(status("--json", "--health", str(export)))
    validator, guardian, oracle = doc["tiers"]
    reporting = [5, 5, 3, 0, 2]
    assert rows(oracle) == [
        ("canary", 5, 4, 3, 0.75),
        ("cohort1", 5, 3, 2, 2 / 3),
        ("cohort2", 3, 0, 0, None),
        ("cohort3", 0, 0, 0, None),
        ("cohort4", 2, 0, 0, None),
    ]
    assert rows(validator) == [
        (c, n, *((2, 2, 1.0) if c == "cohort4" else (0, 0, None)))
        for c, n in zip(COHORTS, reporting, strict=True)
    ]
    assert guardian["versionId"] is None
    assert [h["reporting"] for h in guardian["health"]] == reporting
    assert {h["onVersion"] for h in guardian["health"]} == {0}
    assert doc["healthReports"] == {
        "records": 15,
        "invalid": 0,
        "nodes": 15,
        "stale": 0,
        "maxAgeSeconds": None,
        "future": 0,
        "lostBytes": 0,
        "lostRecords": 0,
        "incomplete": 0,
        "incompleteRecords": 0,
        "timestampUnit": None,
    }


def test_health_table(beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path) -> None:
    beacon.publish(ORACLE, "2.0.0")
    export = fleet(tmp_path)
    result = status("--health", str(export), "--tier", "oracle", "--tier", "guardian")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "Health exports: 15 record(s), 0 invalid skipped; 15 node(s), 0 stale"
    table = lines[lines.index("  isActive     yes") + 1 :]
    header = table[0].split()
    assert header == ["cohort", "activates", "at", "active", "reporting", "on", "version",
                      "healthy", "success"]  # fmt: skip
    cells = [line.split() for line in table[1:6]]
    assert [c[0] for c in cells] == list(COHORTS)
    assert [c[3:] for c in cells] == [
        ["5", "4", "3", "75.0%"],
        ["5", "3", "2", "66.7%"],
        ["3", "0", "0", "-"],
        ["0", "0", "0", "-"],
        ["2", "0", "0", "-"],
    ]
    assert lines[-1] == "guardian: no version published; 15 node(s) reporting"


def test_max_age_is_measured_from_block_time(
    node: Anvil, beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path
) -> None:
    beacon.publish(ORACLE, "2.0.0")
    node.increase_time(3 * 86400)  # chain time now far from the wall clock
    now = block_time(node)
    fresh, old = ids_in("canary", 2, PLAN)
    export = tmp_path / "health.jsonl.gz"
    export.write_bytes(
        gzip.compress(
            jsonl(
                record(fresh, version="2.0.0", timestamp=stamp(now - timedelta(minutes=15))),
                record(
                    old, version="2.0.0", timestamp=stamp(now - timedelta(minutes=15, seconds=1))
                ),
            )
        )
    )
    doc = ok_json(status("--json", "-t", "oracle", "--health", str(export), "--max-age", "15m"))
    assert rows(doc["tiers"][0])[0] == ("canary", 1, 1, 1, 1.0)
    assert doc["healthReports"]["stale"] == 1
    assert doc["healthReports"]["maxAgeSeconds"] == 900
    # --at moves the moment the age is measured from, like the phases.
    later = str(int((now + timedelta(hours=1)).timestamp()))
    doc = ok_json(
        status("--json", "-t", "oracle", "-H", str(export), "--max-age", "15m", "--at", later)
    )
    assert doc["healthReports"]["stale"] == 2
    assert rows(doc["tiers"][0])[0] == ("canary", 0, 0, 0, None)


def test_pinned_block_measures_the_version_of_that_block(
    beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path
) -> None:
    old = beacon.publish(ORACLE, "1.9.0")
    beacon.publish(ORACLE, "2.0.0")
    export = fleet(tmp_path)
    pinned = ok_json(status("--json", "-t", "oracle", "--block", str(old.block), "-H", str(export)))
    assert pinned["tiers"][0]["versionString"] == "1.9.0"
    assert [r[2] for r in rows(pinned["tiers"][0])] == [1, 2, 3, 0, 0]


def test_invalid_records_and_several_files(
    beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path
) -> None:
    beacon.publish(ORACLE, "2.0.0")
    export = fleet(tmp_path)
    bad = tmp_path / "more.jsonl"
    bad.write_bytes(jsonl(record("extra-node", version="2.0.0"), "{not json", record("x", cpu=101)))
    result = status("--json", "-t", "oracle", "--health", str(export), str(bad))
    assert result.exit_code == 2
    # Without --at the chain is read first (its warnings come first), then the exports.
    lines = result.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("error:"))
    assert (
        lines[error] == "error: 2 malformed health records (use --skip-invalid to leave them out)"
    )
    assert lines[error + 1].startswith(f"  {bad}:2: ")
    result = status("--json", "-t", "oracle", "--health", str(export), str(bad), "--skip-invalid")
    doc = ok_json(result)
    assert (doc["healthReports"]["records"], doc["healthReports"]["invalid"]) == (16, 2)
    assert sum(h["reporting"] for h in doc["tiers"][0]["health"]) == 16


def test_without_health_the_document_is_unchanged(
    beacon: BeaconDriver, status: Callable[..., Any]
) -> None:
    beacon.publish(ORACLE, "2.0.0")
    doc = ok_json(status("--json", "-t", "oracle"))
    assert "healthReports" not in doc
    assert "health" not in doc["tiers"][0]


def test_health_straight_from_postgresql_matches_the_export(
    beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path, telemetry_db: Any
) -> None:
    """The same reports in node_telemetry (with a health_status column): the same rows."""
    beacon.publish(VALIDATOR, "1.0.0")
    beacon.publish(ORACLE, "2.0.0")
    export = fleet(tmp_path)
    telemetry_db.conn.execute("ALTER TABLE node_telemetry ADD COLUMN health_status text")
    docs = [json.loads(line) for line in export.read_text().splitlines()]
    telemetry_db.insert(
        {
            "node_id": d["nodeId"],
            "version": d["version"],
            "timestamp": d["timestamp"],
            "cpu_usage": d["metrics"]["cpu"],
            "memory_usage": d["metrics"]["memory"],
            "errors": d["metrics"]["errors"],
            "uptime": d["metrics"]["uptime"],
            "health_status": d.get("healthStatus"),
        }
        for d in docs
    )
    from_file = ok_json(status("--json", "--health", str(export)))
    direct = ok_json(status("--json", "--health", telemetry_db.dsn))
    assert [rows(t) for t in direct["tiers"]] == [rows(t) for t in from_file["tiers"]]
    assert direct["healthReports"] == from_file["healthReports"]
    assert telemetry_db.dsn.split("@")[0] not in json.dumps(direct)


# -- parity with rollback check: the same options, rules and counts ----------------------

COUNTS = (
    "records", "invalid", "nodes", "stale", "future", "lostBytes", "lostRecords",
    "incomplete", "incompleteRecords", "timestampUnit",
)  # fmt: skip
HEADER = "host,ver,ts,load,mem,errors,uptime"
COLUMNS = "nodeId=host,version=ver,timestamp=ts,cpu=load,memory=mem"


def telemetry_csv(tmp_path: Path, at: datetime) -> Path:
    """Every class the health options decide, in one export with its own column names and
    epoch-millisecond timestamps, every node on 2.0.0 (so that rollback check's incomplete
    nodes, on the version, are all of them)."""

    def ms(delta: timedelta) -> str:
        return str(int((at + delta).timestamp() * 1000))

    canary, cohort1 = ids_in("canary", 3, PLAN), ids_in("cohort1", 4, PLAN)
    minute = timedelta(minutes=1)
    rows = [
        f"{canary[0]},2.0.0,{ms(-5 * minute)},10,10,0,1",
        f"{canary[1]},2.0.0,{ms(-5 * minute)},99,10,0,1",  # unhealthy
        f"{canary[2]},2.0.0,{ms(-10 * minute)},10,10,0,1",
        f"{canary[2]},2.0.0,{ms(-minute)},10,,0,1",  # newer, incomplete
        f"{cohort1[0]},2.0.0,{ms(-minute)},,,,1",  # incomplete only
        f"{cohort1[1]},2.0.0,{ms(-120 * minute)},10,10,0,1",  # stale with --max-age 1h
        f"{cohort1[2]},2.0.0,{ms(-5 * minute)},10,10,0,1",
        f"{cohort1[2]},2.0.0,{ms(60 * minute)},99,99,99,1",  # future: never kept
        "bad,2.0.0,not a time,10,10,0,1",  # malformed
        f'{cohort1[3]},2.0.0,"{ms(-minute)},10,10,0,1',  # a stray quote: the rest is lost
        f"late,2.0.0,{ms(-minute)},10,10,0,1",
    ]
    path = tmp_path / "telemetry.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def rollback_check_json(
    node: Anvil, beacon: BeaconDriver, tmp_path: Path, options: list[str]
) -> Any:
    """``rollback check --tier oracle --json`` over the health ``options`` status read."""
    env = {"NODERR_RPC_URL": node.url, "NODERR_BEACON_ADDRESS": beacon.address,
           "NODERR_CONFIG": str(tmp_path / "tiers.yaml"), "NODERR_MAX_AGE": None}  # fmt: skip
    check = CliRunner().invoke(
        app, ["rollback", "check", "-q", "--json", "--tier", "oracle", *options], env=env
    )
    assert check.exit_code in (0, 3), (check.stdout, check.stderr)
    return json.loads(check.stdout)


@pytest.mark.parametrize("policy", ["complete", "latest"])
def test_rollout_status_counts_what_rollback_check_counts(
    node: Anvil, beacon: BeaconDriver, status: Callable[..., Any], tmp_path: Path, policy: str
) -> None:
    beacon.publish(ORACLE, "2.0.0")
    at = block_time(node)
    export = telemetry_csv(tmp_path, at)
    options = ["--health", str(export), "--columns", COLUMNS, "--max-age", "1h", "--at",
               stamp(at), "--incomplete", policy, "--skip-invalid", "--max-skew", "5m"]  # fmt: skip
    rollout = ok_json(status("--json", "-t", "oracle", *options))
    check = rollback_check_json(node, beacon, tmp_path, options)
    reports = check["reports"]
    assert {k: rollout["healthReports"][k] for k in COUNTS} == {k: reports[k] for k in COUNTS}
    assert reports["future"] == 1 and reports["invalid"] == 1 and reports["lostBytes"] > 0
    assert reports["timestampUnit"] == "ms" and reports["stale"] == 1
    assert reports["incomplete"] == (1 if policy == "complete" else 2)
    # Per cohort: the healthy nodes judged are the successes.
    cohorts = check["cohorts"]
    oracle = rollout["tiers"][0]["health"]
    assert [c["healthy"] for c in cohorts] == [h["healthy"] for h in oracle]
    assert [c["nodes"] for c in cohorts] == [h["onVersion"] - h["incomplete"] for h in oracle]
    # The human summary says the same counts.
    table = status("-t", "oracle", *options)
    assert table.exit_code == 0, table.stderr
    incomplete = reports["incomplete"]
    assert table.stdout.splitlines()[3] == (
        f"Health exports: {reports['records']} record(s), 1 invalid skipped, 1 future left out,"
        f" {reports['lostBytes']} bytes lost ({reports['lostRecords']} records or more);"
        f" {reports['nodes']} node(s), 1 stale (latest report older than 1h),"
        f" {incomplete} incomplete"
    )
    assert "skipped 1 malformed health record and" in table.stderr


@pytest.mark.parametrize("policy", ["complete", "latest"])
def test_from_postgresql_too_both_commands_count_alike(  # noqa: PLR0917 - fixtures
    node: Anvil,
    beacon: BeaconDriver,
    status: Callable[..., Any],
    tmp_path: Path,
    telemetry_db: Any,
    policy: str,
) -> None:
    beacon.publish(ORACLE, "2.0.0")
    at = block_time(node)
    canary, cohort1 = ids_in("canary", 3, PLAN), ids_in("cohort1", 3, PLAN)
    minute = timedelta(minutes=1)

    def row(node_id: str, when: timedelta, cpu: float | None = 10, memory: float | None = 10,
            errors: float | None = 0) -> dict[str, Any]:  # fmt: skip
        return {"node_id": node_id, "version": "2.0.0", "timestamp": at + when,
                "cpu_usage": cpu, "memory_usage": memory, "errors": errors}  # fmt: skip

    telemetry_db.insert(
        [
            row(canary[0], -5 * minute),
            row(canary[1], -5 * minute, cpu=99),
            row(canary[2], -10 * minute),
            row(canary[2], -minute, memory=None),  # newer, incomplete
            row(cohort1[0], -minute, cpu=None, memory=None, errors=None),
            row(cohort1[1], -120 * minute),  # stale with --max-age 1h
            row(cohort1[2], -5 * minute),
            row(cohort1[2], 60 * minute, cpu=99),  # future
            row("long-ago", -3 * 86400 * minute),  # before --since
        ]
    )
    options = ["--health", telemetry_db.dsn, "--at", stamp(at), "--max-age", "1h",
               "--incomplete", policy, "--since", "1d", "--max-skew", "5m"]  # fmt: skip
    rollout = ok_json(status("--json", "-t", "oracle", *options))
    check = rollback_check_json(node, beacon, tmp_path, options)
    reports = check["reports"]
    assert {k: rollout["healthReports"][k] for k in COUNTS} == {k: reports[k] for k in COUNTS}
    assert (reports["future"], reports["stale"], reports["nodes"]) == (1, 1, 6)
    assert reports["incomplete"] == (1 if policy == "complete" else 2)
    cohorts = check["cohorts"]
    assert [c["healthy"] for c in cohorts] == [h["healthy"] for h in rollout["tiers"][0]["health"]]
