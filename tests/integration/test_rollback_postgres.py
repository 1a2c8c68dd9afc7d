"""``noderr rollback check`` against the real PostgreSQL: the same verdict as a ``\\copy``
export, no password in any output, one error line and the right exit code per failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.components import REPO_ROOT, free_port, require
from tests.support.postgres import TelemetryDb, password_of, with_options, with_password

T0 = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
AT = "2026-03-01T06:00:00Z"


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NODERR_")},
        "PYTHONPATH": str(REPO_ROOT),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "noderr_deploy", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fleet(db: TelemetryDb) -> None:
    """40 nodes, three heartbeats each: some unhealthy, some on another version, a NULL
    metric in a newer heartbeat, a node only incomplete, a future one, a stale one."""
    rows: list[dict[str, Any]] = []
    for n in range(40):
        for minute in (0, 10, 20):
            rows.append(
                {
                    "node_id": f"node-{n:03d}",
                    "timestamp": T0 + timedelta(minutes=minute),
                    "cpu_usage": 97 if n % 9 == 0 else 20 + minute,
                    "memory_usage": None if (n == 5 and minute == 20) else 30,
                    "errors": n % 4,
                    "uptime": None if n == 6 else 3600,
                    "version": "1.4.1" if n % 10 == 3 else "1.4.2",
                }
            )
    rows.append({"node_id": "only-null", "timestamp": T0, "version": "1.4.2", "errors": None})
    rows.append({"node_id": "node-001", "timestamp": T0 + timedelta(days=300), "version": "1.4.2"})
    rows.append({"node_id": "old", "timestamp": T0 - timedelta(days=3), "version": "1.4.2"})
    db.insert(rows)


def check(cwd: Path, health: str, *more: str, env: dict[str, str] | None = None) -> Any:
    return run(
        cwd,
        "rollback",
        "check",
        "--health",
        health,
        "--version",
        "1.4.2",
        "--at",
        AT,
        "--max-age",
        "1d",
        "--json",
        *more,
        env=env,
    )


def copy_export(db: TelemetryDb, path: Path) -> None:
    psql = shutil.which("psql")
    if psql is None:
        require("psql", "install the postgresql-client package (scripts/test does)")
    subprocess.run(
        [
            psql,
            "-X",
            "-q",
            db.dsn,
            "-c",
            f"\\copy (select * from node_telemetry) to '{path}' csv header",
        ],
        check=True,
        timeout=60,
    )


@pytest.mark.parametrize("policy", ["complete", "latest"])
def test_dsn_and_copy_export_give_the_same_verdict(
    telemetry_db: TelemetryDb, tmp_path: Path, policy: str
) -> None:
    fleet(telemetry_db)
    export = tmp_path / "telemetry.csv"
    copy_export(telemetry_db, export)
    direct = check(tmp_path, telemetry_db.dsn, "--incomplete", policy)
    from_file = check(tmp_path, str(export), "--incomplete", policy)
    assert direct.returncode == from_file.returncode == 3, direct.stderr + from_file.stderr
    assert direct.stdout == from_file.stdout
    reports = json.loads(direct.stdout)["reports"]
    assert reports["records"] == 123
    assert reports["future"] == 1
    assert reports["stale"] == 1
    # node-005's last heartbeat, only-null, and the future and stale rows (no cpu).
    assert reports["incompleteRecords"] == 4
    # only-null always; node-005 only when its newer incomplete heartbeat is kept.
    assert reports["incomplete"] == (1 if policy == "complete" else 2)
    assert password_of(telemetry_db.dsn) not in direct.stdout + direct.stderr


def test_the_dsn_may_come_from_the_environment(telemetry_db: TelemetryDb, tmp_path: Path) -> None:
    fleet(telemetry_db)
    result = run(
        tmp_path,
        "rollback",
        "check",
        "--version",
        "1.4.2",
        "--at",
        AT,
        "--json",
        env={"NODERR_HEALTH_DSN": telemetry_db.dsn},
    )
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["reports"]["nodes"] == 42


def test_since_limits_the_rows_read(telemetry_db: TelemetryDb, tmp_path: Path) -> None:
    fleet(telemetry_db)
    result = check(tmp_path, telemetry_db.dsn, "--since", "45m")
    reports = json.loads(result.stdout)["reports"]
    # From 05:15 on: the 05:20 heartbeats, and the future one (counted, not used).
    assert (reports["records"], reports["future"]) == (41, 1)


def failure(cwd: Path, dsn: str, *more: str) -> subprocess.CompletedProcess[str]:
    result = run(cwd, "--debug", "rollback", "check", "--health", dsn, "--version", "1", *more)
    assert "internal error" not in result.stderr
    return result


def assert_one_error_without_secrets(result: subprocess.CompletedProcess[str], dsn: str) -> None:
    secret = password_of(dsn)
    assert secret not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr


def test_wrong_password_exit_1_no_secret_even_with_debug(
    telemetry_db: TelemetryDb, tmp_path: Path
) -> None:
    dsn = with_password(telemetry_db.dsn, "wrong-Secret-93")
    result = failure(tmp_path, dsn)
    assert result.returncode == 1
    assert "password authentication failed" in result.stderr
    assert_one_error_without_secrets(result, dsn)


def test_dead_server_exit_1(postgres_dsn: str, tmp_path: Path) -> None:
    host = postgres_dsn.split("@", 1)[1].split("/", 1)[0]
    dsn = postgres_dsn.replace(host, f"127.0.0.1:{free_port()}")
    result = failure(tmp_path, dsn, "--timeout", "2")
    assert result.returncode == 1
    assert "cannot connect to postgresql://***@127.0.0.1:" in result.stderr
    assert_one_error_without_secrets(result, dsn)


def test_missing_table_or_column_exit_2(telemetry_db: TelemetryDb, tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text(
        "health: {table: heartbeats}\ntiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"
    )
    result = failure(tmp_path, telemetry_db.dsn)
    assert result.returncode == 2
    assert "no table 'heartbeats'" in result.stderr
    assert_one_error_without_secrets(result, telemetry_db.dsn)
    (tmp_path / "tiers.yaml").unlink()
    result = failure(tmp_path, telemetry_db.dsn, "--columns", "cpu=load")
    assert result.returncode == 2
    assert "has no column 'load' (cpu)" in result.stderr
    assert_one_error_without_secrets(result, telemetry_db.dsn)


def test_statement_timeout_exit_1(telemetry_db: TelemetryDb, tmp_path: Path) -> None:
    fleet(telemetry_db)
    telemetry_db.conn.execute(
        "CREATE VIEW slow AS SELECT t.* FROM node_telemetry t,"
        " LATERAL pg_sleep(0.05 + 0 * t.id) AS s"
    )
    (tmp_path / "tiers.yaml").write_text(
        "health: {table: slow}\ntiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"
    )
    result = failure(tmp_path, telemetry_db.dsn, "--timeout", "0.5")
    assert result.returncode == 1
    assert "ran over --timeout 0.5s" in result.stderr
    assert_one_error_without_secrets(result, telemetry_db.dsn)


def test_malformed_rows_exit_2_by_id(telemetry_db: TelemetryDb, tmp_path: Path) -> None:
    fleet(telemetry_db)
    telemetry_db.insert([{"node_id": "x", "timestamp": T0, "version": "", "cpu_usage": 101}])
    result = failure(tmp_path, telemetry_db.dsn, "--at", AT)
    assert result.returncode == 2
    assert "node_telemetry:124: version: empty; cpu_usage: 101.00 is above 100" in result.stderr
    skipped = failure(tmp_path, telemetry_db.dsn, "--at", AT, "--skip-invalid", "--json")
    assert skipped.returncode in (0, 3), skipped.stderr
    assert json.loads(skipped.stdout)["reports"]["invalid"] == 1


@pytest.mark.parametrize("style", ["German", "SQL,DMY", "Postgres"])
def test_any_datestyle_reads_as_iso(telemetry_db: TelemetryDb, tmp_path: Path, style: str) -> None:
    # Review round 3: a role with DateStyle German made psycopg refuse every timestamptz,
    # an internal error. The read sets ISO for its own transaction.
    fleet(telemetry_db)
    expected = check(tmp_path, telemetry_db.dsn)
    styled = with_options(
        telemetry_db.admin_dsn,
        options=f"-csearch_path={telemetry_db.schema} -cDateStyle={style}",
    )
    result = check(tmp_path, styled)
    assert result.returncode == expected.returncode == 3, result.stderr
    assert result.stdout == expected.stdout
