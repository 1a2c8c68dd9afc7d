"""Reading telemetry straight from a real PostgreSQL (``scripts/services start-postgres``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from noderr_deploy.errors import DatabaseError, TableError
from noderr_deploy.health.columns import ColumnMap
from noderr_deploy.health.postgres import TableQuery, read_table
from tests.support.components import free_port
from tests.support.postgres import TelemetryDb, password_of, with_password

T0 = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


def row(node: str, minutes: int, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "node_id": node,
        "timestamp": T0 + timedelta(minutes=minutes),
        "cpu_usage": 10,
        "memory_usage": 20,
        "errors": 0,
        "uptime": 60,
        "version": "1.4.2",
    }
    return base | values


def test_latest_per_node_is_chosen_by_the_server(telemetry_db: TelemetryDb) -> None:
    telemetry_db.copy_in(
        ["node_id", "timestamp", "cpu_usage", "memory_usage", "errors", "version"],
        (
            (f"node-{n}", T0 + timedelta(minutes=m), m % 100, 20, n, "1.4.2")
            for n in range(3)
            for m in range(200)
        ),
    )
    telemetry_db.conn.execute("SELECT public.pg_stat_statements_reset()")
    read = read_table(telemetry_db.dsn, TableQuery())
    assert read.fetched == 3
    assert read.records == 600
    assert {n: r.timestamp for n, r in read.latest.items()} == {
        f"node-{n}": T0 + timedelta(minutes=199) for n in range(3)
    }
    # What the server says went through the cursor: one row per node, not 600.
    fetched = telemetry_db.conn.execute(
        "SELECT coalesce(sum(rows), 0) FROM public.pg_stat_statements WHERE query ILIKE 'FETCH%'"
    ).fetchone()
    assert fetched == (3,)


def test_a_tie_goes_to_the_later_insert(telemetry_db: TelemetryDb) -> None:
    telemetry_db.insert([row("a", 0, errors=1), row("a", 0, errors=2), row("a", -5, errors=3)])
    report = read_table(telemetry_db.dsn, TableQuery()).latest["a"]
    assert report.metrics.errors == 2


def test_null_metrics_are_incomplete_and_do_not_hide_a_complete_report(
    telemetry_db: TelemetryDb,
) -> None:
    telemetry_db.insert(
        [
            row("a", 0, cpu_usage=50),
            row("a", 5, cpu_usage=None),  # newer, but says nothing about health
            row("b", 5, memory_usage=None, errors=None),
            row("c", 5, uptime=None),  # uptime alone: complete
        ]
    )
    read = read_table(telemetry_db.dsn, TableQuery())
    a, b, c = (read.latest[n] for n in "abc")
    assert not a.incomplete and a.metrics.cpu == 50
    assert b.incomplete and b.metrics.missing == ("memory", "errors")
    assert not c.incomplete and c.metrics.uptime is None
    assert (read.records, read.incomplete_records) == (4, 2)
    newest = read_table(telemetry_db.dsn, TableQuery(incomplete="latest")).latest["a"]
    assert newest.incomplete
    assert newest.metrics.cpu is None


def test_since_window_and_horizon(telemetry_db: TelemetryDb) -> None:
    telemetry_db.insert([row("a", 0), row("a", 10), row("a", 60 * 24 * 365), row("b", -120)])
    read = read_table(
        telemetry_db.dsn,
        TableQuery(since=T0 - timedelta(minutes=60), horizon=T0 + timedelta(minutes=30)),
    )
    assert set(read.latest) == {"a"}
    assert read.latest["a"].timestamp == T0 + timedelta(minutes=10)
    assert (read.records, read.future) == (3, 1)


def test_malformed_rows_are_listed_by_id_naming_every_field(telemetry_db: TelemetryDb) -> None:
    telemetry_db.insert(
        [row("a", 0), row("", 0, cpu_usage=101, version=None), row("c", 0, errors=-1)]
    )
    read = read_table(telemetry_db.dsn, TableQuery())
    assert read.problems.count == 2
    assert [str(p) for p in read.problems.listed] == [
        "node_telemetry:2: node_id: empty; version: NULL; cpu_usage: 101.00 is above 100",
        "node_telemetry:3: errors: -1 is below 0",
    ]
    assert set(read.latest) == {"a"}


def test_mapped_columns_of_another_table(telemetry_db: TelemetryDb) -> None:
    telemetry_db.conn.execute(
        'CREATE TABLE beats ("Host" text, at timestamp, load float8, mem real, errs bigint,'
        " ver text, status text)"
    )
    telemetry_db.conn.execute(
        "INSERT INTO beats VALUES ('h1', '2026-03-01 05:00', 97, 10, 0, '2', 'degraded')"
    )
    columns = ColumnMap.of(
        {
            "nodeId": "Host",
            "timestamp": "at",
            "cpu": "load",
            "memory": "mem",
            "errors": "errs",
            "version": "ver",
            "healthStatus": "status",
        }
    )
    read = read_table(telemetry_db.dsn, TableQuery(table="beats", columns=columns))
    report = read.latest["h1"]
    assert (report.health_status, report.timestamp) == ("degraded", T0)


def _assert_secret_free(message: str, dsn: str) -> None:
    assert password_of(dsn) not in message
    assert dsn not in message


def test_wrong_password_is_a_server_error_without_the_password(telemetry_db: TelemetryDb) -> None:
    dsn = with_password(telemetry_db.dsn, "not-the-Password-42")
    with pytest.raises(DatabaseError) as caught:
        read_table(dsn, TableQuery(timeout=5))
    assert "password authentication failed" in caught.value.message
    _assert_secret_free(caught.value.message, dsn)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_dead_server_is_a_server_error(postgres_dsn: str) -> None:
    port = free_port()
    dsn = postgres_dsn.replace(postgres_dsn.split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{port}")
    with pytest.raises(DatabaseError) as caught:
        read_table(dsn, TableQuery(timeout=2))
    assert f"cannot connect to postgresql://***@127.0.0.1:{port}/" in caught.value.message
    _assert_secret_free(caught.value.message, dsn)


def test_missing_table_and_columns_are_named(telemetry_db: TelemetryDb) -> None:
    with pytest.raises(TableError, match="no table 'heartbeats'"):
        read_table(telemetry_db.dsn, TableQuery(table="heartbeats"))
    for name in ("a.b.c.d", "x; DROP TABLE node_telemetry"):
        with pytest.raises(TableError, match=f"table '{name}': "):
            read_table(telemetry_db.dsn, TableQuery(table=name))
    telemetry_db.conn.execute("ALTER TABLE node_telemetry DROP COLUMN cpu_usage")
    telemetry_db.conn.execute("ALTER TABLE node_telemetry DROP COLUMN version")
    with pytest.raises(TableError) as caught:
        read_table(telemetry_db.dsn, TableQuery())
    assert "has no column 'version' (version), 'cpu_usage' (cpu)" in caught.value.message
    _assert_secret_free(caught.value.message, telemetry_db.dsn)


def test_statement_timeout_is_a_server_error(telemetry_db: TelemetryDb) -> None:
    telemetry_db.insert([row("a", 0), row("b", 0)])
    telemetry_db.conn.execute(
        "CREATE VIEW slow AS SELECT t.* FROM node_telemetry t, LATERAL pg_sleep(1) AS s"
    )
    with pytest.raises(DatabaseError, match=r"ran over --timeout 0.3s"):
        read_table(telemetry_db.dsn, TableQuery(table="slow", timeout=0.3))
