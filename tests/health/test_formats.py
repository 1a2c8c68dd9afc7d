"""Reading health exports: every format, gzip, directories, stdin, and every malformed input."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.errors import InputError
from noderr_deploy.health import decode
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.results import HealthRead
from noderr_deploy.health.sizes import ReadSizes
from tests.health_data import T0, jsonl, record

GOOD = [record("a"), record("b", cpu=99), record("c", version="0.9.0")]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read(*paths: Path | str, **kwargs: object) -> HealthRead:
    return read_latest(list(paths), **kwargs)  # type: ignore[arg-type]


def failure(*paths: Path | str, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as caught:
        read(*paths, **kwargs)
    return caught.value


def csv_text(
    *rows: str, header: str = "nodeId,version,uptime,cpu,memory,errors,timestamp"
) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# -- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["h.jsonl", "h.ndjson", "h.json", "h.txt", "noext"])
def test_json_lines_by_extension_or_content(tmp_path: Path, name: str) -> None:
    result = read(write(tmp_path / name, jsonl(*GOOD)))
    assert sorted(result.latest) == ["a", "b", "c"]
    assert result.records == 3
    assert result.latest["b"].metrics.cpu == 99
    assert result.latest["a"].timestamp == T0


@pytest.mark.parametrize("name", ["h.json", "h.data"])
def test_json_array(tmp_path: Path, name: str) -> None:
    data = json.dumps(GOOD, indent=2).encode()
    result = read(write(tmp_path / name, data))
    assert sorted(result.latest) == ["a", "b", "c"]


def test_empty_json_array_is_empty_input(tmp_path: Path) -> None:
    error = failure(write(tmp_path / "h.json", b"[ ]\n"))
    assert "the input is empty" in error.message


@pytest.mark.parametrize("name", ["h.csv", "h.export"])
def test_csv(tmp_path: Path, name: str) -> None:
    data = csv_text(
        "a,1.0.0,100,10,10,0,2026-11-01T12:00:00Z",
        "b,1.0.0,100,99,10,0,1793534400",
    )
    result = read(write(tmp_path / name, data))
    assert result.latest["b"].metrics.cpu == 99
    assert result.latest["b"].timestamp == T0
    assert result.latest["a"].timestamp == T0


def test_csv_columns_in_any_order_with_health_status_and_extras(tmp_path: Path) -> None:
    data = csv_text(
        "x,unhealthy,2026-11-01T12:00:00Z,0,10,10,100,1.0.0,a",
        "x,,2026-11-01T12:00:00Z,0,10,10,100,1.0.0,b",
        header="extra,healthStatus,timestamp,errors,memory,cpu,uptime,version,nodeId",
    )
    result = read(write(tmp_path / "h.csv", data))
    assert result.latest["a"].health_status == "unhealthy"
    assert result.latest["b"].health_status is None


def test_csv_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", csv_text("a,1.0.0,1,2", header="nodeId,version,uptime,cpu"))
    error = failure(path)
    assert error.message.startswith(
        f"{path}:1: CSV header lacks column(s) memory, errors, timestamp"
    )


def test_csv_bad_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "h.csv",
        csv_text(
            "a,1.0.0,100,10,10,0,2026-11-01T12:00:00Z",
            "b,1.0.0,100,ten,10,0,2026-11-01T12:00:00Z",
            "c,1.0.0,100,10,10",
            "d,1.0.0,100,101,10,0,2026-11-01T12:00:00Z",
            "e,1.0.0,100,10,10,0,yesterday",
            "f,1.0.0,100,nan,10,0,2026-11-01T12:00:00Z",
            ",1.0.0,100,10,10,0,2026-11-01T12:00:00Z",
        ),
    )
    error = failure(path)
    assert error.details == [
        f"{path}:3: metrics.cpu: not a number: 'ten'",
        f"{path}:4: expected 7 fields, got 5",
        f"{path}:5: metrics.cpu: expected a number <= 100",
        f"{path}:6: timestamp: not a time: 'yesterday' (use ISO 8601 like"
        " 2026-01-31T12:00:00Z, or unix seconds)",
        f"{path}:7: metrics.cpu: not a number: 'nan'",
        f"{path}:8: nodeId: expected a string of length >= 1",
    ]


def test_csv_quoted_newline_keeps_line_numbers(tmp_path: Path) -> None:
    data = csv_text('"a",1.0.0,100,10,10,0,"2026-11-01T12:00:00Z"', 'x,"multi\nline",1,bad,1,0,0')
    path = write(tmp_path / "h.csv", data)
    assert failure(path).details == [f"{path}:4: metrics.cpu: not a number: 'bad'"]


@pytest.mark.parametrize("name", ["h.jsonl.gz", "h.json.gz", "h.gz", "h.csv.gz", "plain"])
def test_gzip_by_extension_or_magic(tmp_path: Path, name: str) -> None:
    if "csv" in name:
        raw = csv_text("a,1.0.0,100,10,10,0,2026-11-01T12:00:00Z")
    elif name == "h.json.gz":
        raw = json.dumps(GOOD).encode()
    else:
        raw = jsonl(*GOOD)
    result = read(write(tmp_path / name, gzip.compress(raw)))
    assert "a" in result.latest


def test_directory_reads_every_file_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "1.jsonl", jsonl(record("a", cpu=1)))
    write(tmp_path / "sub" / "2.csv", csv_text("a,1.0.0,100,2,10,0,2026-11-01T12:00:00Z"))
    write(tmp_path / "3.json.gz", gzip.compress(json.dumps([record("a", cpu=3)]).encode()))
    write(tmp_path / ".hidden", b"not a report")
    result = read(tmp_path)
    assert result.records == 3
    # Same timestamp everywhere: the file read last (sub/2.csv sorts after 3.json.gz) wins.
    assert result.latest["a"].metrics.cpu == 2
    assert [Path(s).name for s in result.sources] == ["1.jsonl", "3.json.gz", "2.csv"]


def test_files_are_read_in_the_order_given(tmp_path: Path) -> None:
    one = write(tmp_path / "one.jsonl", jsonl(record("a", cpu=1)))
    two = write(tmp_path / "two.jsonl", jsonl(record("a", cpu=2)))
    assert read(one, two).latest["a"].metrics.cpu == 2
    assert read(two, one).latest["a"].metrics.cpu == 1


@pytest.mark.parametrize(
    "data",
    [jsonl(*GOOD), json.dumps(GOOD).encode(), gzip.compress(jsonl(*GOOD))],
    ids=["jsonl", "array", "gzip"],
)
def test_stdin(data: bytes) -> None:
    result = read("-", stdin=io.BytesIO(data))
    assert sorted(result.latest) == ["a", "b", "c"]
    assert result.sources == ["<stdin>"]  # named as such, in messages too


def test_stdin_csv_and_its_name_in_errors() -> None:
    data = csv_text("a,1.0.0,100,10,10,0,2026-11-01T12:00:00Z", "b,1.0.0,100,x,10,0,0")
    error = failure("-", stdin=io.BytesIO(data))
    assert error.details == ["<stdin>:3: metrics.cpu: not a number: 'x'"]


@pytest.mark.parametrize("fmt", ["jsonl", "array", "csv"])
def test_utf8_bom_is_ignored(tmp_path: Path, fmt: str) -> None:
    raw = {
        "jsonl": jsonl(*GOOD),
        "array": json.dumps(GOOD).encode(),
        "csv": csv_text("a,1.0.0,100,10,10,0,2026-11-01T12:00:00Z"),
    }[fmt]
    assert "a" in read(write(tmp_path / f"h.{fmt}", b"\xef\xbb\xbf" + raw)).latest


def test_crlf_and_blank_lines(tmp_path: Path) -> None:
    data = jsonl(*GOOD).replace(b"\n", b"\r\n") + b"\r\n   \n"
    assert read(write(tmp_path / "h.jsonl", data)).records == 3


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-01T12:00:00Z", T0),
        ("2026-11-01T14:00:00+02:00", T0),
        ("2026-11-01T12:00:00", T0),  # no offset: UTC
        ("2026-11-01 12:00:00", T0),
        ("2026-11-01T12:00:00.250Z", T0.replace(microsecond=250000)),
        (1793534400, T0),
        (1793534400.5, T0.replace(microsecond=500000)),
        ("1793534400", T0),
    ],
)
def test_timestamps(tmp_path: Path, timestamp: object, expected: datetime) -> None:
    result = read(write(tmp_path / "h.jsonl", jsonl(record("a", timestamp=timestamp))))
    stamp = result.latest["a"].timestamp
    assert stamp == expected
    assert isinstance(stamp, datetime) and stamp.tzinfo is UTC


def test_text_timestamps_are_read_with_every_other_field_validated(tmp_path: Path) -> None:
    good = record("a", timestamp="1793534400", cpu=99, errors=3)
    late_bad = {**record("b", cpu=101), "timestamp": "2026-11-01 12:00:00"}
    late_bad = {"timestamp": late_bad.pop("timestamp"), **late_bad}  # timestamp first
    path = write(tmp_path / "h.jsonl", jsonl(good, late_bad))
    assert failure(path).details == [f"{path}:2: metrics.cpu: expected a number <= 100"]
    result = read(path, skip_invalid=True)
    report = result.latest["a"]
    assert (report.metrics.cpu, report.metrics.errors, report.timestamp) == (99, 3, T0)


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    doc = record(
        "a", region="eu", metrics={"uptime": 1, "cpu": 1, "memory": 1, "errors": 0, "disk": 3}
    )
    assert read(write(tmp_path / "h.jsonl", jsonl(doc))).records == 1


# -- malformed input ------------------------------------------------------------------------

MALFORMED = [
    ("bad JSON", '{"nodeId": "x",', "bad JSON: the record is cut off"),
    ("not JSON", "hello", "bad JSON: invalid character (byte 1)"),
    (
        "missing field",
        json.dumps({k: v for k, v in record("x").items() if k != "version"}),
        "missing field 'version'",
    ),
    (
        "missing fields",
        json.dumps({k: v for k, v in record("x").items() if k not in ("nodeId", "timestamp")}),
        "missing fields 'nodeId', 'timestamp'",
    ),
    (
        "mistyped field",
        json.dumps(record("x", cpu="10")),
        "metrics.cpu: expected a number, got a string",
    ),
    ("mistyped id", json.dumps(record(7)), "nodeId: expected a string, got an integer"),  # type: ignore[arg-type]
    (
        "boolean",
        json.dumps(record("x", errors=True)),
        "metrics.errors: expected a number, got a boolean",
    ),
    ("cpu over 100", json.dumps(record("x", cpu=100.5)), "metrics.cpu: expected a number <= 100"),
    ("negative", json.dumps(record("x", uptime=-1)), "metrics.uptime: expected a number >= 0"),
    (
        "negative errors",
        json.dumps(record("x", errors=-1)),
        "metrics.errors: expected a number >= 0",
    ),
    (
        "huge number",
        json.dumps(record("x", memory=1)).replace('"memory": 1', '"memory": 1e999'),
        "metrics.memory: number out of range",
    ),
    (
        "bad status",
        json.dumps(record("x", healthStatus="fine")),
        "healthStatus: invalid enum value 'fine'",
    ),
    ("empty id", json.dumps(record("")), "nodeId: expected a string of length >= 1"),
    (
        "bad timestamp",
        json.dumps(record("x", timestamp="yesterday")),
        "timestamp: not a time: 'yesterday' (use ISO 8601 like 2026-01-31T12:00:00Z,"
        " or unix seconds)",
    ),
    (
        "impossible date",
        json.dumps(record("x", timestamp="2026-02-30T00:00:00Z")),
        "timestamp: not a time: '2026-02-30T00:00:00Z' (use ISO 8601 like 2026-01-31T12:00:00Z,"
        " or unix seconds)",
    ),
    (
        "timestamp out of range",
        json.dumps(record("x", timestamp=1e300)),
        "timestamp: 1e+300 is no date in unix seconds or milliseconds (as seconds after the"
        " year 9999, as milliseconds after the year 9999)",
    ),
    (
        "timestamp null",
        json.dumps(record("x", timestamp=None)),
        "timestamp: expected a datetime or a number, got null",
    ),
    ("array line", "[1, 2]", "expected an object, got an array"),
    (
        "two records on a line",
        json.dumps(record("x")) + " " + json.dumps(record("y")),
        "bad JSON: trailing characters (byte ",
    ),
]


@pytest.mark.parametrize(
    ("line", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_jsonl_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = write(tmp_path / "h.jsonl", jsonl(record("a"), line, record("b")))
    error = failure(path)
    assert error.message == "1 malformed health record (use --skip-invalid to leave them out)"
    assert len(error.details) == 1
    if reason.endswith("(byte "):  # where msgspec stops reading is its own business
        assert error.details[0].startswith(f"{path}:2: {reason}")
    else:
        assert error.details == [f"{path}:2: {reason}"]


@pytest.mark.parametrize(
    ("line", "reason"), [m[1:] for m in MALFORMED[2:17]], ids=[m[0] for m in MALFORMED[2:17]]
)
def test_malformed_array_element_names_its_line(tmp_path: Path, line: str, reason: str) -> None:
    data = f"[\n{json.dumps(record('a'))},\n{line},\n{json.dumps(record('b'))}\n]\n".encode()
    path = write(tmp_path / "h.json", data)
    assert failure(path).details == [f"{path}:3: {reason}"]


def test_invalid_utf8(tmp_path: Path) -> None:
    bad = jsonl(record("a")) + jsonl(record("b")).replace(b'"b"', b'"b\xff"')
    path = write(tmp_path / "h.jsonl", bad)
    assert failure(path).details == [f"{path}:2: invalid UTF-8 (byte 14 of the record)"]


def test_invalid_utf8_in_csv(tmp_path: Path) -> None:
    data = csv_text("a,1.0.0,100,10,10,0,0", "b\xff,1.0.0,100,10,10,0,0").replace(
        b"\xc3\xbf", b"\xff"
    )
    path = write(tmp_path / "h.csv", data)
    assert failure(path).details == [f"{path}:3: invalid UTF-8 (byte 2 of the line)"]


@pytest.mark.parametrize("name", ["h.jsonl.gz", "h.csv.gz", "h.json.gz"])
def test_truncated_gzip(tmp_path: Path, name: str) -> None:
    if "csv" in name:
        raw = csv_text(*(f"n{i},1.0.0,100,10,10,0,0" for i in range(2000)))
    elif name == "h.json.gz":
        raw = json.dumps([record(f"n{i}") for i in range(2000)], indent=1).encode()
    else:
        raw = jsonl(*(record(f"n{i}") for i in range(2000)))
    packed = gzip.compress(raw)
    path = write(tmp_path / name, packed[: len(packed) // 2])
    error = failure(path)
    assert len(error.details) == 1
    assert error.details[0].startswith(f"{path}:")
    assert ": truncated gzip data: the compressed file ended early (" in error.details[0]
    assert error.details[0].endswith(("lost)", "the rest is lost)"))
    assert "of input lost in 1 place" in error.message
    kept = read(path, skip_invalid=True)
    assert 0 < kept.records < 2000
    # Lost data, not a malformed record: counted in bytes.
    assert (kept.problems.count, kept.problems.losses) == (0, 1)


def test_corrupt_gzip(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(jsonl(*GOOD) * 50))
    packed[30:40] = b"\x00" * 10
    path = write(tmp_path / "h.jsonl.gz", bytes(packed))
    details = failure(path).details
    assert len(details) == 1
    assert details[0].startswith(f"{path}:1: corrupt gzip data: Error -3 while decompressing data")


def test_gzip_with_a_bad_checksum(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(jsonl(*GOOD)))
    packed[-8] ^= 0xFF  # the CRC32 in the trailer
    path = write(tmp_path / "h.jsonl.gz", bytes(packed))
    details = failure(path).details
    assert len(details) == 1
    assert details[0].startswith(f"{path}:4: corrupt gzip data: CRC check failed")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'[{"a": 1}', "the JSON array is not closed with ']' (file cut off?)"),
        (
            b"[\n"
            + json.dumps(record("a")).encode()
            + b"\n"
            + json.dumps(record("b")).encode()
            + b"]",
            "bad JSON array: expected ',' or ']'",
        ),
        (
            b"[\n" + json.dumps(record("a")).encode() + b",\n7]",
            "bad JSON array: expected a report object",
        ),
        (
            b"[" + json.dumps(record("a")).encode() + b"]\n\n{}",
            "unexpected data after the JSON array",
        ),
        (b'[\n{"nodeId": "a", "version": "1', "bad JSON: the record is cut off"),
    ],
    ids=["not closed", "missing comma", "not an object", "trailing data", "cut-off record"],
)
def test_malformed_array_structure(tmp_path: Path, data: bytes, reason: str) -> None:
    path = write(tmp_path / "h.json", data)
    error = failure(path, skip_invalid=True) if b'"a": 1' in data else failure(path)
    assert any(d.startswith(f"{path}:") and reason in d for d in error.details), error.details


def test_array_line_numbers_after_multiline_records(tmp_path: Path) -> None:
    docs = [record(f"n{i}") for i in range(5)]
    docs[3]["metrics"]["cpu"] = 200
    path = write(tmp_path / "h.json", json.dumps(docs, indent=2).encode())
    # indent=2: "[" then 11 lines per record; record 3 starts on line 2 + 3 * 11.
    assert failure(path).details == [f"{path}:35: metrics.cpu: expected a number <= 100"]


def test_twenty_listed_then_counted(tmp_path: Path) -> None:
    lines = [record("ok")] + ["garbage"] * 30
    path = write(tmp_path / "h.jsonl", jsonl(*lines))
    error = failure(path)
    assert error.message == "30 malformed health records (use --skip-invalid to leave them out)"
    assert len(error.details) == 21
    assert error.details[0] == f"{path}:2: bad JSON: invalid character (byte 1)"
    assert error.details[19].startswith(f"{path}:21: ")
    assert error.details[20] == "... and 10 more"


def test_skip_invalid_counts_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path / "h.jsonl", jsonl(record("a"), "garbage", record("b", cpu=500)))
    result = read(path, skip_invalid=True)
    assert sorted(result.latest) == ["a"]
    assert result.records == 1
    assert result.problems.count == 2
    assert result.problems.lines() == [
        f"{path}:2: bad JSON: invalid character (byte 1)",
        f"{path}:3: metrics.cpu: expected a number <= 100",
    ]


def test_nothing_valid_after_skipping_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "h.jsonl", jsonl("garbage", "more garbage"))
    error = failure(path, skip_invalid=True)
    assert error.message == f"no valid health report in {path}: all 2 records were invalid"


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"])
def test_empty_input(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path / "h.jsonl", data)
    assert failure(path).message == f"no health reports in {path}: the input is empty"


def test_empty_stdin() -> None:
    error = failure("-", stdin=io.BytesIO(b""))
    assert error.message == "no health reports in <stdin>: the input is empty"


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    assert (
        failure(tmp_path / "nope.jsonl").message
        == f"{tmp_path / 'nope.jsonl'}: no such file or directory"
    )
    (tmp_path / "empty").mkdir()
    assert failure(tmp_path / "empty").message == f"{tmp_path / 'empty'}: directory holds no files"


def test_huge_single_line(tmp_path: Path) -> None:
    # One record larger than the read chunk: it is completed, not split.
    big = record("big", padding="x" * (3 * ReadSizes().chunk))
    path = write(tmp_path / "h.jsonl", jsonl(record("a"), big, record("b"), "garbage"))
    error = failure(path)
    assert error.details == [f"{path}:4: bad JSON: invalid character (byte 1)"]
    assert read(path, skip_invalid=True).records == 3


def test_huge_single_line_array(tmp_path: Path) -> None:
    docs = [record(f"n{i}", cpu=i % 100) for i in range(30000)]  # ~4 MB on one line
    docs[25000]["metrics"]["errors"] = -5
    path = write(tmp_path / "h.json", json.dumps(docs).encode())
    assert failure(path).details == [f"{path}:1: metrics.errors: expected a number >= 0"]
    assert read(path, skip_invalid=True).records == 29999


def test_errors_across_chunks_keep_their_line_numbers(tmp_path: Path) -> None:
    lines: list[dict[str, object] | str] = [record(f"n{i}") for i in range(40000)]  # > 2 chunks
    lines[5] = "garbage"
    lines[39990] = "garbage"
    path = write(tmp_path / "h.jsonl", jsonl(*lines))
    assert [d.split(": ")[0] for d in failure(path).details] == [f"{path}:6", f"{path}:39991"]


# Layouts that msgspec's whole-chunk decode_lines() accepts but that are not one record per
# line: the fast path must refuse them, so that each line is judged on its own.
_A = json.dumps(record("a"), separators=(",", ":"))
_B = json.dumps(record("b"), separators=(",", ":"))
_SPLIT_AT_METRICS = _A.replace(',"metrics":', ',"metrics":\n')
_TAIL = _B[:-1] + ',"m":{"x":1}'  # ends with "}" but the record is not closed
NOT_ONE_PER_LINE = [
    ("two records on a line", f"{_A}{_B}\n", ["1: bad JSON: trailing characters (byte 1"]),
    (
        "record over two lines",
        f"{_SPLIT_AT_METRICS}\n",
        ["1: bad JSON: the record is cut off", "2: missing field 'nodeId'"],
    ),
    # Each line starts with "{" and ends with "}", and the counts agree (2 values, 2 lines),
    # yet line 1 is an open record and line 2 holds its end and a whole record.
    (
        "closing brace on the next line",
        f"{_TAIL}\n}}{_A}\n",
        ["1: bad JSON: the record is cut off", "2: bad JSON: invalid character (byte 1)"],
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in NOT_ONE_PER_LINE], ids=[c[0] for c in NOT_ONE_PER_LINE]
)
def test_layouts_that_are_not_one_record_per_line_are_reported_per_line(
    tmp_path: Path, data: str, expected: list[str]
) -> None:
    path = write(tmp_path / "h.jsonl", data.encode() + jsonl(record("c")))
    details = failure(path).details
    assert len(details) == len(expected)
    for detail, start in zip(details, expected, strict=True):
        assert detail.startswith(f"{path}:{start}")


@pytest.mark.parametrize(
    ("chunk", "newlines", "values", "expected"),
    [
        (b"{1}\n{2}\n", 2, 2, True),
        (b"{1}\n{2}", 1, 2, True),  # the last line without a newline
        (b"{1}{2}\n", 1, 2, False),  # two values on one line
        (b"{1\n}\n", 2, 1, False),  # one value over two lines
        (b"{1}\n\n{2}\n", 3, 2, False),  # a blank line
        (b"{1}\r\n{2}\r\n", 2, 2, False),  # CRLF: read line by line
        (b" {1}\n{2}\n", 2, 2, False),  # indented
        (b"{1}\n{2} \n", 2, 2, False),  # trailing blanks
    ],
)
def test_one_record_per_line(chunk: bytes, newlines: int, values: int, expected: bool) -> None:
    assert chunk.count(b"\n") == newlines
    assert decode.one_record_per_line(chunk, newlines, values) is expected


def test_small_chunks_carry_lines_over_and_keep_line_numbers(tmp_path: Path) -> None:
    lines: list[dict[str, object] | str] = [record(f"n{i}", uptime=i) for i in range(200)]
    lines[0] = "garbage"
    lines[150] = json.dumps(record("x", cpu=101))
    data = jsonl(*lines)[:-1]  # and no newline after the last line
    path = write(tmp_path / "h.jsonl", data)
    whole = read(path, skip_invalid=True)
    for chunk in (1, 7, 100, 1000):  # shorter than a line, and several lines
        small = read(path, skip_invalid=True, sizes=ReadSizes(chunk=chunk))
        assert small.records == whole.records == 198
        assert small.latest == whole.latest
        assert small.problems.lines() == whole.problems.lines()
        assert [line.split(": ")[0] for line in small.problems.lines()] == [
            f"{path}:1",
            f"{path}:151",
        ]


# -- several processes ----------------------------------------------------------------------


PARALLEL = ReadSizes(parallel_min=1, segment=64_000)
"""Small files shared between processes."""


def test_parallel_read_matches_a_single_process(tmp_path: Path) -> None:
    lines: list[dict[str, object] | str] = []
    for i in range(30000):
        second = (i * 7919) % 600
        lines.append(record(f"n{i % 1000}", uptime=i, timestamp=1793534400 + second))
    lines[3] = "garbage"
    lines[29000] = json.dumps(record("x", cpu=-1))
    path = write(tmp_path / "h.jsonl", b"\xef\xbb\xbf" + jsonl(*lines))
    single = read(path, workers=1, skip_invalid=True)
    for workers in (2, 3):
        multi = read(path, workers=workers, skip_invalid=True, sizes=PARALLEL)
        assert multi.records == single.records == 29998
        assert {k: v.metrics.uptime for k, v in multi.latest.items()} == {
            k: v.metrics.uptime for k, v in single.latest.items()
        }
        assert multi.problems.lines() == single.problems.lines()
        assert [line.split(": ")[0] for line in multi.problems.lines()] == [
            f"{path}:4",
            f"{path}:29001",
        ]


def test_parallel_tie_across_the_split_goes_to_the_later_record(tmp_path: Path) -> None:
    filler = [record(f"f{i}") for i in range(5000)]
    path = write(
        tmp_path / "h.jsonl",
        jsonl(record("a", cpu=1), *filler, *filler, record("a", cpu=2)),
    )
    assert read(path, workers=2, sizes=PARALLEL).latest["a"].metrics.cpu == 2


@pytest.mark.parametrize("parallel", [False, True])
def test_while_reading_runs_once_and_its_errors_propagate(tmp_path: Path, parallel: bool) -> None:
    sizes = ReadSizes(parallel_min=1, segment=10_000) if parallel else ReadSizes()
    first = write(tmp_path / "1.jsonl", jsonl(*(record(f"n{i}") for i in range(3000))))
    second = write(tmp_path / "2.jsonl", jsonl(record("a")))
    calls: list[int] = []
    result = read(first, second, workers=2, while_reading=lambda: calls.append(1), sizes=sizes)
    assert calls == [1]
    assert result.records == 3001

    def fail() -> None:
        raise InputError("bad settings")

    assert failure(first, workers=2, while_reading=fail, sizes=sizes).message == "bad settings"


# -- one time per report, whatever the format -------------------------------------------------

FRACTIONS = st.text(alphabet="0123456789", min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 58)),
    FRACTIONS,
    st.sampled_from(["Z", "+00:00", "+05:30", "-08:00"]),
)
def test_a_fraction_of_a_second_reads_alike_in_csv_and_json_lines(
    tmp_path: Path, moment: datetime, fraction: str, offset: str
) -> None:
    # More than six digits were rounded by the JSON reader (msgspec) and cut by the CSV
    # reader (fromisoformat): .9999995 was a microsecond apart, so the two could disagree
    # on which report is a node's latest, or whether it is stale.
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + "." + fraction + offset
    if offset != "Z" and moment.year == 9999:
        return  # past the range once moved to UTC
    jsonl_read = read(write(tmp_path / "h.jsonl", jsonl(record("a", timestamp=stamp))))
    csv_read = read(write(tmp_path / "h.csv", csv_text(f"a,1.0.0,100,10,10,0,{stamp}")))
    expected = msgspec.json.decode(json.dumps(stamp).encode(), type=datetime)
    assert jsonl_read.latest["a"].timestamp == expected
    assert csv_read.latest["a"].timestamp == expected


def test_a_rounded_fraction_at_the_end_of_9999_is_one_error(tmp_path: Path) -> None:
    stamp = "9999-12-31T23:59:59.9999996Z"
    error = failure(write(tmp_path / "h.csv", csv_text(f"a,1.0.0,100,10,10,0,{stamp}")))
    assert "internal error" not in error.message


@pytest.mark.parametrize(
    "stamp",
    ["2026-11-26T12:00:00\x01Z", "2026-11-26T12:00:00Z\x00", "2026-11-26T12:00:00\x00+05:00"],
)
def test_a_control_character_in_a_time_is_a_malformed_record(tmp_path: Path, stamp: str) -> None:
    # CSV (its bulk column path) and JSON Lines alike: a record, not a time read past it.
    for path in (
        write(tmp_path / "h.jsonl", jsonl(record("a", timestamp=stamp), record("b"))),
        write(
            tmp_path / "h.csv",
            csv_text(f"a,1.0.0,100,10,10,0,{stamp}", "b,1.0.0,100,10,10,0,2026-11-01T12:00:00Z"),
        ),
    ):
        error = failure(path)
        assert "1 malformed health record" in error.message, error.message
        assert "timestamp: not a time" in error.details[0]
