"""The SQL of a DSN read, built from a table's catalog without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from noderr_deploy.health.columns import ColumnMap
from noderr_deploy.health.incomplete import missing_metrics, parse_policy
from noderr_deploy.health.tablesql import (
    Column,
    TableProblem,
    TableSql,
    quote_ident,
    resolve,
    row_reason,
)

NODE_TELEMETRY = [
    Column("id", "int4"),
    Column("node_id", "text"),
    Column("timestamp", "timestamptz"),
    Column("uptime", "int4"),
    Column("requests", "int4"),
    Column("errors", "int4"),
    Column("cpu_usage", "numeric", "numeric(5,2)"),
    Column("memory_usage", "numeric", "numeric(5,2)"),
    Column("metrics", "jsonb"),
    Column("version", "text"),
]


def sql_for(catalog: list[Column], columns: ColumnMap | None = None, **options: object) -> TableSql:
    resolved = resolve(
        "public", "node_telemetry", "'node_telemetry'", catalog, columns or ColumnMap()
    )
    settings: dict[str, object] = {
        "unit": "auto",
        "incomplete": "complete",
        "since": None,
        "horizon": None,
        **options,
    }
    return TableSql(resolved, **settings)  # type: ignore[arg-type]


def test_node_telemetry_resolves_by_its_own_names() -> None:
    resolved = sql_for(NODE_TELEMETRY).resolved
    assert {f: c.name for f, c in resolved.columns.items()} == {
        "nodeId": "node_id",
        "version": "version",
        "uptime": "uptime",
        "cpu": "cpu_usage",
        "memory": "memory_usage",
        "errors": "errors",
        "timestamp": "timestamp",
    }
    assert resolved.id_column == Column("id", "int4")
    assert resolved.table == '"public"."node_telemetry"'


def test_latest_per_node_is_distinct_on_with_complete_rows_first() -> None:
    text, params = sql_for(NODE_TELEMETRY).latest()
    assert text.startswith('SELECT DISTINCT ON ("node_id" COLLATE "C") ')
    order = text[text.index("ORDER BY") :]
    assert order == (
        'ORDER BY "node_id" COLLATE "C",'
        ' ("cpu_usage" IS NULL OR "memory_usage" IS NULL OR "errors" IS NULL),'
        ' "timestamp" DESC, "id" DESC'
    )
    assert params == []


def test_latest_policy_orders_by_time_alone() -> None:
    text, _ = sql_for(NODE_TELEMETRY, incomplete="latest").latest()
    assert text.endswith('ORDER BY "node_id" COLLATE "C", "timestamp" DESC, "id" DESC')


def test_window_and_horizon_are_parameters() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    horizon = datetime(2026, 3, 2, tzinfo=UTC)
    text, params = sql_for(NODE_TELEMETRY, since=since, horizon=horizon).latest()
    assert '"timestamp" >= %s' in text
    assert 'NOT ("timestamp" > %s)' in text
    assert params == [since, horizon]
    text, params = sql_for(NODE_TELEMETRY, since=since, horizon=horizon).counts()
    assert params == [horizon, since]
    assert text.count("%s") == 2


def test_missing_columns_are_all_named_with_the_table_and_its_columns() -> None:
    catalog = [c for c in NODE_TELEMETRY if c.name not in ("cpu_usage", "version")]
    with pytest.raises(TableProblem) as caught:
        sql_for(catalog)
    message = str(caught.value)
    assert "'version' (version)" in message
    assert "'cpu_usage' (cpu)" in message
    assert "node_telemetry" in message
    assert "its columns: id, node_id" in message


def test_optional_columns_may_be_missing_unless_mapped() -> None:
    catalog = [c for c in NODE_TELEMETRY if c.name != "uptime"]
    sql = sql_for(catalog)
    assert "uptime" not in sql.resolved.columns
    assert "NULL::float8" in sql.latest()[0]
    with pytest.raises(TableProblem, match="'up' \\(uptime\\)"):
        sql_for(catalog, ColumnMap.of({"uptime": "up"}))


def test_wrong_column_types_are_named() -> None:
    catalog = [
        Column(c.name, "text", "text") if c.name in ("cpu_usage", "timestamp") else c
        for c in NODE_TELEMETRY
    ]
    with pytest.raises(TableProblem) as caught:
        sql_for(catalog)
    assert "cpu_usage (cpu) is text, expected a number" in str(caught.value)
    assert "timestamp (timestamp) is text" in str(caught.value)


def test_columns_match_in_another_case_only_when_unique() -> None:
    catalog = [Column(c.name.upper(), c.type_name) for c in NODE_TELEMETRY]
    assert sql_for(catalog).resolved.columns["nodeId"].name == "NODE_ID"
    twice = [*catalog, Column("node_Id", "text")]
    with pytest.raises(TableProblem, match="'node_id' \\(nodeId\\)"):
        sql_for(twice)


def test_identifiers_are_quoted_never_raw() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("50%") == '"50%%"'
    hostile = 'cpu"; DROP TABLE node_telemetry; --'
    catalog = [*NODE_TELEMETRY, Column(hostile, "numeric")]
    text, _ = sql_for(catalog, ColumnMap.of({"cpu": hostile})).latest()
    assert '"cpu""; DROP TABLE node_telemetry; --"' in text


def test_numeric_timestamps_follow_the_unit_rule() -> None:
    catalog = [Column("timestamp", "int8") if c.name == "timestamp" else c for c in NODE_TELEMETRY]
    auto = sql_for(catalog).moment()
    assert "32503680000.0" in auto
    assert "to_timestamp" in auto
    assert "/ 1000" in sql_for(catalog, unit="ms").moment()
    assert "/ 1000" not in sql_for(catalog, unit="s").moment()


def test_naive_timestamps_mean_utc() -> None:
    catalog = [
        Column("timestamp", "timestamp") if c.name == "timestamp" else c for c in NODE_TELEMETRY
    ]
    assert sql_for(catalog).moment() == "(\"timestamp\" AT TIME ZONE 'UTC')"


def test_a_malformed_row_names_every_field_at_fault() -> None:
    sql = sql_for(NODE_TELEMETRY)
    fields = sql.malformed_fields()
    row = dict.fromkeys(fields, "1")
    row.update(
        nodeId="", version=None, cpu="120.00", memory="NaN", errors="-1", timestamp="infinity"
    )
    reason = row_reason(sql, [row[f] for f in fields])
    assert reason == (
        "node_id: empty; version: NULL; cpu_usage: 120.00 is above 100;"
        " memory_usage: not a finite number: 'NaN'; errors: -1 is below 0;"
        " timestamp: 'infinity' is no date between the years 1 and 9999"
    )


def test_null_metrics_are_incomplete_not_malformed() -> None:
    sql = sql_for(NODE_TELEMETRY)
    fields = sql.malformed_fields()
    row = {f: None for f in fields} | {
        "nodeId": "n",
        "version": "1",
        "timestamp": "2026-03-01 05:49:36.123456+00",
    }
    assert row_reason(sql, [row[f] for f in fields]) == "not a valid report"
    assert missing_metrics({"cpu": None, "uptime": 3}) == ("cpu", "memory", "errors")
    assert missing_metrics({"cpu": 1, "memory": 2, "errors": 0}) == ()
    assert missing_metrics(None) == ("cpu", "memory", "errors")


def test_incomplete_policies() -> None:
    assert parse_policy(" Latest ") == "latest"
    assert parse_policy("complete") == "complete"
    with pytest.raises(ValueError, match="complete or latest"):
        parse_policy("newest")
