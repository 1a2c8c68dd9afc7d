"""Column mapping: our names and node_telemetry's, any case, --columns, ambiguity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.health.columns import (
    FIELDS,
    NEEDED,
    ColumnError,
    ColumnMap,
    header_index,
    parse_columns,
)

PSQL_HEADER = [
    "id",
    "node_id",
    "timestamp",
    "uptime",
    "requests",
    "errors",
    "cpu_usage",
    "memory_usage",
    "metrics",
    "version",
    "disk_usage",
    "network_rx",
    "network_tx",
]


def test_psql_copy_header_is_read_as_it_is() -> None:
    index = header_index(PSQL_HEADER, ColumnMap())
    assert index == {
        "nodeId": 1,
        "version": 9,
        "uptime": 3,
        "cpu": 6,
        "memory": 7,
        "errors": 5,
        "timestamp": 2,
    }


def test_our_header_still_reads() -> None:
    header = ["nodeId", "version", "uptime", "cpu", "memory", "errors", "timestamp", "healthStatus"]
    assert header_index(header, ColumnMap()) == {name: i for i, name in enumerate(header)}


@given(st.data())
def test_header_names_match_in_any_case(data: st.DataObject) -> None:
    def recase(name: str) -> str:
        flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        return "".join(c.upper() if f else c.lower() for c, f in zip(name, flips, strict=True))

    header = [recase(name) for name in PSQL_HEADER]
    assert header_index(header, ColumnMap()) == header_index(PSQL_HEADER, ColumnMap())


def test_missing_columns_are_all_named_with_what_was_looked_for() -> None:
    with pytest.raises(ColumnError) as caught:
        header_index(["node_id", "timestamp", "version", "errors"], ColumnMap())
    message = str(caught.value)
    assert "lacks column(s) cpu, memory" in message
    assert "cpu: cpu or cpu_usage" in message
    assert "memory: memory or memory_usage" in message
    assert "--columns" in message


def test_uptime_and_status_are_optional() -> None:
    header = ["node_id", "timestamp", "version", "errors", "cpu", "memory"]
    index = header_index(header, ColumnMap())
    assert "uptime" not in index
    assert "healthStatus" not in index


def test_two_columns_for_one_field_are_refused_not_guessed() -> None:
    with pytest.raises(ColumnError, match=r"'cpu' \(column 4\) and 'cpu_usage' \(column 8\)"):
        header_index([*PSQL_HEADER[:3], "cpu", *PSQL_HEADER[3:]], ColumnMap())
    with pytest.raises(ColumnError, match="could both be nodeId"):
        header_index(["NODE_ID", *PSQL_HEADER], ColumnMap())


def test_a_mapping_names_the_one_column_of_its_field() -> None:
    header = ["host", "ver", "ts", "load", "mem", "errs", "cpu"]
    columns = ColumnMap.of(
        parse_columns(["nodeId=host,version=ver,timestamp=ts", "cpu=load,memory=mem,errors=errs"])
    )
    # The unmapped "cpu" column is no longer a candidate: cpu is "load" only.
    assert header_index(header, columns) == {
        "nodeId": 0,
        "version": 1,
        "timestamp": 2,
        "cpu": 3,
        "memory": 4,
        "errors": 5,
    }
    with pytest.raises(ColumnError, match="has no column 'load' \\(cpu\\); the header: 'host', "):
        header_index(["host", "ver", "ts", "mem", "errs", "cpu"], columns)


def test_later_mappings_win_field_by_field() -> None:
    columns = ColumnMap.of({"cpu": "a", "memory": "b"}, {"cpu": "c"})
    assert columns.mapped == {"cpu": "c", "memory": "b"}
    assert columns.table_column("cpu") == "c"
    assert columns.table_column("errors") == "errors"
    assert columns.table_column("nodeId") == "node_id"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cpu", "expected FIELD=COLUMN"),
        ("load=cpu", "unknown field 'load'"),
        ("cpu=", "non-empty"),
        ("cpu=a,memory=A", "cpu and memory are both mapped to column 'A'"),
        ("cpu=a\x1b[31m", "control characters"),
    ],
)
def test_bad_mappings_say_why(spec: str, message: str) -> None:
    with pytest.raises(ColumnError, match=message.replace("[", r"\[")):
        ColumnMap.of(parse_columns([spec]))


def test_field_names_are_matched_in_any_case_and_blank_items_ignored() -> None:
    assert parse_columns(["NODEID=host, ,Cpu=load,"]) == {"nodeId": "host", "cpu": "load"}


def test_hostile_header_cells_are_quoted_in_messages() -> None:
    with pytest.raises(ColumnError) as caught:
        header_index(["[bold]x[/]", "cpu\x1b[2J", "cpu"], ColumnMap.of({"cpu": "CPU\x1b[2J"}))
    assert "\x1b" not in str(caught.value)


def test_every_needed_field_is_a_field() -> None:
    assert set(NEEDED) <= set(FIELDS)


def test_a_column_mapped_to_one_field_is_no_other_fields_default() -> None:
    header = ["cpu_usage", "version", "timestamp", "load", "memory", "errors"]
    columns = ColumnMap.of({"nodeId": "cpu_usage", "cpu": "load"})
    assert header_index(header, columns)["nodeId"] == 0
    with pytest.raises(ColumnError, match="lacks column\\(s\\) cpu"):
        header_index(header[:3] + header[4:], ColumnMap.of({"nodeId": "cpu_usage"}))
