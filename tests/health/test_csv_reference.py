"""The CSV reader (C parser over chunks, columns converted in bulk) against a
straightforward reference, one dict per row as ``csv.DictReader`` gives them, over random CSV:
quotes, CR and CRLF endings, NULL fields, blanks, odd headers, values the bulk checks must
hand to the row-by-row path. Same reports, same counts, same lines at fault.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.health import csvfile
from noderr_deploy.health.columns import ColumnMap, header_index
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import MAX_FLOAT, HealthReport, Metrics
from noderr_deploy.health.rules import ReadRules
from noderr_deploy.health.stamps import moment
from noderr_deploy.units import parse_time

NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
LIMITS = {"uptime": MAX_FLOAT, "cpu": 100.0, "memory": 100.0, "errors": MAX_FLOAT}
STATUSES = ("healthy", "degraded", "unhealthy")


def reference(text: str, unit: Any = "auto") -> tuple[Latest, Problems]:
    """What the reader must make of ``text``: each row read as a dict (as
    ``csv.DictReader`` makes them, keeping blank lines, whose line numbers count), each field
    checked on its own, one report at a time."""
    latest, problems = Latest(rules=ReadRules(unit=unit)), Problems()
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader)]
    index = header_index(header, ColumnMap())
    prev = reader.line_num
    for values in reader:
        first, line = prev + 1, reader.line_num
        prev = line
        if not any(v.strip() for v in values):
            continue
        wrong = len(values) != len(header)
        if line > first and (wrong or any(re.search(r"[\r\n][^\r\n]*,", v) for v in values)):
            problems.lose("x", first, "swallowed", size=1, records=line - first)
            continue
        if wrong:
            problems.add("x", line, f"got {len(values)}")
            continue
        row = {field: values[i] for field, i in index.items()}
        report = record(row, unit, problems)
        if report is None:
            problems.add("x", line, "bad")
        else:
            latest.add(report)
    return latest, problems


def record(cells: dict[str, str], unit: Any, problems: Problems) -> HealthReport | None:
    metrics: dict[str, float | None] = {}
    for name in ("uptime", "cpu", "memory", "errors"):
        text = cells.get(name, "").strip()
        if not text:
            metrics[name] = None
            continue
        if not NUMBER.fullmatch(text):
            return None
        value = float(text)
        if not 0 <= value <= LIMITS[name]:
            return None
        metrics[name] = value
    if not cells["nodeId"] or not cells["version"]:
        return None
    status = cells.get("healthStatus") or None
    if status is not None and status not in STATUSES:
        return None
    text = cells["timestamp"].strip()
    try:
        if NUMBER.fullmatch(text):
            stamp, used = moment(float(text), unit)
        else:
            stamp, used = parse_time(text), None
    except ValueError:
        return None
    if used == "ms":
        problems.milliseconds += 1
    elif used == "s":
        problems.seconds += 1
    report = HealthReport(
        node_id=cells["nodeId"],
        version=cells["version"],
        metrics=Metrics(**metrics),
        timestamp=stamp,
        health_status=status,  # type: ignore[arg-type]
    )
    problems.incomplete += report.incomplete
    return report


def fast(text: str, unit: Any = "auto") -> tuple[Latest, Problems]:
    latest, problems = Latest(rules=ReadRules(unit=unit)), Problems()
    csvfile.read_csv(io.BytesIO(text.encode()), "x", latest, problems)
    return latest, problems


def same(text: str, unit: Any = "auto") -> None:
    mine, problems = fast(text, unit)
    theirs, expected = reference(text, unit)
    assert mine.by_node == theirs.by_node
    assert mine.records == theirs.records
    counts = ("count", "lost_bytes", "lost_records", "incomplete", "seconds", "milliseconds")
    assert {k: getattr(problems, k) for k in counts if k != "lost_bytes"} == {
        k: getattr(expected, k) for k in counts if k != "lost_bytes"
    }
    assert bool(problems.lost_bytes) == bool(expected.lost_bytes)
    assert [p.line for p in problems.listed] == [p.line for p in expected.listed]


# -- random CSV ---------------------------------------------------------------------------

NODES = st.sampled_from(["a", "b", "c", " a", "A", 'q"x', "x,y", "n\nl", "r\rr", ""])
VERSIONS = st.sampled_from(["1.0.0", "2", "", " 1.0.0"])
METRICS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-0",
            "5",
            "5.5",
            "100",
            "100.5",
            "1e2",
            "1E+2",
            "01",
            "1.",
            ".5",
            " 7 ",
            "nan",
            "inf",
            "1e999",
            "-1",
            "\u0665",
            "null",
            "1,2",
            "0.1000000000000000055511",
        ]
    ),
    st.floats(0, 100).map(repr),
    st.floats(0, 100).map(lambda f: f"{f:.2f}"),
    st.integers(0, 10**6).map(str),
)
STAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-11-01T12:00:00Z",
            "2026-11-01 12:00:00.123456+00",
            "2026-11-01T12:00:00z",
            "2026-11-01T12:00:00",
            "2026-11-01T12:00:00+05:30",
            " 2026-11-01T12:00:00Z",
            "1793534400",
            "1793534400000",
            "1793534400.5",
            "-1",
            "1e16",
            "",
            "soon",
            "20261101",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-13-01T00:00:00Z",
        ]
    ),
    st.integers(0, 2 * 10**12).map(str),
    st.datetimes().map(lambda d: d.isoformat()),
)
STATUS_CELLS = st.sampled_from(["", "healthy", "degraded", "unhealthy", "bad", "Healthy"])
SPELLINGS = {
    "nodeId": ["nodeId", "node_id", "NODEID"],
    "version": ["version", "Version"],
    "timestamp": ["timestamp", " TimeStamp "],
    "cpu": ["cpu", "cpu_usage", "CPU_Usage"],
    "memory": ["memory", "memory_usage"],
    "errors": ["errors", "ERRORS"],
    "uptime": ["uptime", "Uptime"],
    "healthStatus": ["healthStatus", "health_status"],
}
CELLS = {
    "nodeId": NODES,
    "version": VERSIONS,
    "timestamp": STAMPS,
    "cpu": METRICS,
    "memory": METRICS,
    "errors": METRICS,
    "uptime": METRICS,
    "healthStatus": STATUS_CELLS,
    "id": st.integers(0, 99).map(str),
    "metrics": st.sampled_from(['{"a": 1}', "", '"', "x\ny"]),
}


@st.composite
def exports(draw: st.DrawFn) -> str:
    fields = ["nodeId", "version", "timestamp", "cpu", "memory", "errors"]
    fields += draw(st.lists(st.sampled_from(["uptime", "healthStatus", "id", "metrics"]),
                            unique=True))  # fmt: skip
    order = draw(st.permutations(fields))
    header = [draw(st.sampled_from(SPELLINGS.get(f, [f]))) for f in order]
    out = io.StringIO(newline="")
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = csv.writer(out, lineterminator=ending, quoting=quoting)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["row"] * 8 + ["blank", "short", "long", "commas"]))
        if kind == "row":
            writer.writerow([draw(CELLS[f]) for f in order])
        elif kind == "blank":
            out.write(ending)
        elif kind == "short":
            writer.writerow([draw(CELLS[f]) for f in order][:-1])
        elif kind == "long":
            writer.writerow([*(draw(CELLS[f]) for f in order), "x"])
        else:
            out.write("," * (len(order) - 1) + ending)
    text = out.getvalue()
    if draw(st.booleans()) and text.count(ending) > 2:
        # A stray quote somewhere after the header: what it swallows is lost.
        at = draw(st.integers(len(text.split(ending, 1)[0]) + 1, len(text) - 1))
        text = text[:at] + '"' + text[at:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=exports(), rows=st.sampled_from([1, 2, 3, 2048]), unit=st.sampled_from(["auto", "s", "ms"])
)
def test_the_reader_agrees_with_the_reference(text: str, rows: int, unit: str) -> None:
    # Small batches mix bulk-converted and row-by-row batches in one file.
    original = csvfile._ROWS
    csvfile._ROWS = rows
    try:
        same(text, unit)
    finally:
        csvfile._ROWS = original


@pytest.mark.parametrize(
    "cell",
    ["1e999", "01", " 7 ", "\u0665", "null", "1,2", "nan", "-0", "0.1000000000000000055511"],
)
def test_a_number_the_bulk_check_cannot_vouch_for_is_read_row_by_row(cell: str) -> None:
    rows = [f"n{i},1.0.0,2026-11-01T12:00:00Z,10,10,0" for i in range(50)]
    rows[25] = f'n25,1.0.0,2026-11-01T12:00:00Z,"{cell}",10,0'
    same("nodeId,version,timestamp,cpu,memory,errors\n" + "\n".join(rows) + "\n")


def test_chunks_cut_anywhere_give_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [f"n{i},1.0.0,2026-11-01T12:00:00Z,{i % 100},10,0" for i in range(300)]
    text = "nodeId,version,timestamp,cpu,memory,errors\r\n" + "\r\n".join(rows) + "\r\n"
    text = text.replace("n7,", "n\u00e9,")  # a two-byte character cut by some chunk
    expected = reference(text)
    for size in (1, 2, 7, 64, 1000):
        monkeypatch.setattr(csvfile, "_CHUNK", size)
        latest, problems = fast(text)
        assert latest.by_node == expected[0].by_node
        assert problems.count == expected[1].count == 0
