"""Hostile exports: nothing read is lost silently, time means "as of the horizon", and no
input crashes the reader. Where a file can be shared between processes, each case runs
on the serial and on the parallel path (small sizes force the parallel one)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from noderr_deploy.errors import InputError
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.results import HealthRead
from noderr_deploy.health.sizes import ReadSizes
from tests.health_data import T0, jsonl, record

PATHS = {
    "serial": {"workers": 1},
    "parallel": {"workers": 2, "sizes": ReadSizes(parallel_min=1, segment=4096, chunk=1024)},
}
"""How to read a JSON Lines file in this process alone, or shared between two."""


def filler(count: int = 300) -> list[dict[str, Any]]:
    """Records of other nodes: enough bytes for several segments on the parallel path."""
    return [record(f"f{i}", uptime=i) for i in range(count)]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read(path: Path | str, how: str = "serial", **kwargs: Any) -> HealthRead:
    return read_latest([path], **PATHS[how], **kwargs)


def failure(path: Path | str, how: str = "serial", **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        read(path, how, **kwargs)
    return caught.value


both = pytest.mark.parametrize("how", list(PATHS))


# -- time: as of the horizon -------------------------------------------------------------------


@both
def test_reports_after_the_horizon_are_counted_not_used(tmp_path: Path, how: str) -> None:
    horizon = T0 + timedelta(minutes=5)
    docs = [
        record("a", cpu=1),
        *filler(),
        record("a", cpu=2, timestamp="2099-01-01T00:00:00Z"),  # a clock far ahead
        record("b", cpu=3, timestamp=(T0 + timedelta(minutes=4)).isoformat()),  # within
        *filler(),
        record("b", cpu=4, timestamp=(T0 + timedelta(minutes=6)).isoformat()),  # just past
        record("c", cpu=5, timestamp=4070908800),  # 2099 as unix seconds
    ]
    result = read(write(tmp_path / "h.jsonl", jsonl(*docs)), how, horizon=horizon)
    assert result.latest["a"].metrics.cpu == 1  # the 2099 report no longer pins node a
    assert result.latest["b"].metrics.cpu == 3
    assert "c" not in result.latest
    assert result.future == 3
    assert result.records == len(docs)


@both
def test_sub_microsecond_timestamps_tie_and_the_later_record_wins(tmp_path: Path, how: str) -> None:
    # One precision on both paths: the microsecond; within it, the record read later wins.
    docs = [
        record("a", cpu=1, timestamp=1793534400.0000002),
        *filler(),
        record("a", cpu=2, timestamp=1793534400.0000001),
        record("b", cpu=1, timestamp="2026-11-01T12:00:00.0000004Z"),  # rounds to .000000
        *filler(),
        record("b", cpu=2, timestamp="2026-11-01T12:00:00Z"),
        record("c", cpu=1, timestamp="2026-11-01T12:00:00.000001Z"),
        record("c", cpu=2, timestamp=1793534400.0000004),  # rounds down: older
    ]
    result = read(write(tmp_path / "h.jsonl", jsonl(*docs)), how)
    assert result.latest["a"].metrics.cpu == 2
    assert result.latest["b"].metrics.cpu == 2
    assert result.latest["c"].metrics.cpu == 1
    assert all(r.timestamp.tzinfo is UTC for r in result.latest.values())


# -- no crash, only messages -------------------------------------------------------------------


@both
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("timestamp", "0001-01-01T00:00:00+01:00", "timestamp: out of range"),
        ("timestamp", "9999-12-31T23:00:00-05:00", "timestamp: out of range"),
        ("timestamp", "0001-01-01 00:30:00+01:00", "timestamp: out of range"),
        # Numbers: unix seconds or milliseconds (issue 13's auto rule); 1e12 is a date in
        # milliseconds, 1e16 none in either unit.
        ("timestamp", "-1", "timestamp: -1 is no date in unix seconds or milliseconds"),
        ("timestamp", "1e16", "timestamp: 10000000000000000 is no date in unix seconds or"),
        ("timestamp", 1e16, "timestamp: 10000000000000000 is no date in unix seconds or"),
        ("errors", "1e999", "metrics.errors: number out of range"),
        ("cpu", "-1e999", "metrics.cpu: number out of range"),
        ("uptime", -1, "metrics.uptime: expected a number >= 0"),
    ],
)
def test_values_out_of_range_are_malformed_records(
    tmp_path: Path, how: str, field: str, value: object, reason: str
) -> None:
    if isinstance(value, str) and value.endswith("e999"):  # a number JSON cannot hold
        line = json.dumps(record("x", **{field: 7})).replace(f'"{field}": 7', f'"{field}": {value}')
    else:
        line = json.dumps(record("x", **{field: value}))
    docs: list[dict[str, Any] | str] = [*filler(), line, *filler()]
    path = write(tmp_path / "h.jsonl", jsonl(*docs))
    error = failure(path, how)
    assert error.details[0].startswith(f"{path}:301: {reason}"), error.details


@both
@pytest.mark.parametrize(
    "line",
    [
        '{"a":' * 1000 + "1" + "}" * 1000,
        "[" * 5000 + "]" * 5000,
        json.dumps(record("x")).replace(
            '"metrics"', '"metrics": ' + "[" * 2000 + "]" * 2000 + ', "m"'
        ),
    ],
    ids=["objects", "arrays", "inside a record"],
)
def test_json_nested_deeply_is_a_malformed_record(tmp_path: Path, how: str, line: str) -> None:
    path = write(tmp_path / "h.jsonl", jsonl(*filler(), line, *filler()))
    error = failure(path, how)
    assert error.details[0].startswith(f"{path}:301: "), error.details


@both
@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("1793534400", T0),  # unix seconds as a string
        ("2026-11-01 12:00:00+00", T0),  # psql's form
        ("2026-11-01 13:00:00+01:00", T0),
    ],
)
def test_lenient_timestamps_are_read_and_their_bad_records_reported(
    tmp_path: Path, how: str, stamp: str, expected: datetime
) -> None:
    good = record("g", timestamp=stamp)
    bad = record("b", timestamp=stamp, cpu=101)  # lenient timestamp, and a bad field
    path = write(tmp_path / "h.jsonl", jsonl(*filler(), good, bad, *filler()))
    result = read(path, how, skip_invalid=True)
    assert result.latest["g"].timestamp == expected
    assert [str(p) for p in result.problems.listed] == [
        f"{path}:302: metrics.cpu: expected a number <= 100"
    ]


@both
def test_node_ids_are_byte_exact(tmp_path: Path, how: str) -> None:
    ids = ["c1", " c1", "c1 ", "C1", "c\u00e91", "ce\u03011", "c1\u200b"]
    path = write(tmp_path / "h.jsonl", jsonl(*(record(n) for n in ids), *filler()))
    assert set(ids) <= set(read(path, how).latest)


# -- nothing read is lost silently -------------------------------------------------------------


def lines_of(count: int) -> bytes:
    return jsonl(*(record(f"n{i}") for i in range(count)))


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_a_truncated_gzip_is_lost_data_not_one_bad_record(tmp_path: Path, cut: float) -> None:
    packed = gzip.compress(lines_of(3000))
    path = write(tmp_path / "h.jsonl.gz", packed[: int(len(packed) * cut)])
    error = failure(path)
    assert "of input lost in 1 place" in error.message
    assert "malformed" not in error.message
    kept = read(path, skip_invalid=True)
    assert (kept.problems.count, kept.problems.losses) == (0, 1)
    assert 0 < kept.records < 3000


@pytest.mark.parametrize("member", [1, 2])
def test_a_corrupt_gzip_member_loses_the_bytes_from_it_on(tmp_path: Path, member: int) -> None:
    members = [bytearray(gzip.compress(lines_of(2000))) for _ in range(4)]
    members[member][0] ^= 0xFF  # not a gzip member any more
    path = write(tmp_path / "h.jsonl.gz", b"".join(members))
    kept = read(path, skip_invalid=True)
    assert (kept.problems.count, kept.problems.losses) == (0, 1)
    assert kept.records == 2000 * member
    rest = sum(len(m) for m in members[member:])
    assert rest - 2 <= kept.problems.lost_bytes <= rest  # from the broken magic bytes on
    assert "corrupt gzip data" in kept.problems.lines()[0]


@pytest.mark.parametrize("where", [0.3, 0.7])
def test_corrupt_deflate_data_is_lost_data_too(tmp_path: Path, where: float) -> None:
    data = bytearray(gzip.compress(lines_of(2000)))
    data[int(len(data) * where)] ^= 0x55
    # What decompressed before the damage was found may be garbage records that look valid:
    # even --skip-invalid cannot tell them apart, so nothing is judged.
    with pytest.raises(InputError, match="failed its integrity check") as failed:
        read(write(tmp_path / "h.jsonl.gz", bytes(data)), skip_invalid=True)
    assert any("gzip" in line for line in failed.value.details)


@pytest.mark.parametrize("arrays", [2, 3])
def test_concatenated_json_arrays_are_read_as_arrays(tmp_path: Path, arrays: int) -> None:
    parts = [json.dumps([record(f"a{k}-{i}") for i in range(3)]).encode() for k in range(arrays)]
    path = write(tmp_path / "h.json", b"\n".join(parts))
    result = read(path)
    assert result.records == 3 * arrays
    assert not result.problems.failed


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'[{"a": 1}', "not closed with ']'"),
        (b"[" + json.dumps(record("a")).encode() + b"] trailing", "unexpected data after"),
        (b'[\n{"nodeId": "a", "version": "1', "the record is cut off"),
    ],
)
def test_the_unreadable_rest_of_an_array_is_lost_data(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = write(tmp_path / "h.json", data)
    error = failure(path)
    assert any(reason in line and "lost" in line for line in error.details), error.details


@pytest.mark.parametrize("rows", [5, 500])
def test_a_stray_csv_quote_loses_the_rows_it_swallows(tmp_path: Path, rows: int) -> None:
    header = "nodeId,version,uptime,cpu,memory,errors,timestamp\n"
    body = "".join(f"n{i},1.0.0,1,1,1,0,1793534400\n" for i in range(rows))
    data = header + 'a,1.0.0,1,1,1,0,1793534400\nb,"1.0.0,1,1,1,0,1793534400\n' + body
    path = write(tmp_path / "h.csv", data.encode())
    kept = read(path, skip_invalid=True)
    assert kept.records == 1
    assert kept.problems.count == 0
    assert kept.problems.lost_records >= rows
    assert kept.problems.lines()[0].startswith(f"{path}:3: a quoted field opened here")
    error = failure(path)
    assert f"({kept.problems.lost_records} records or more)" in error.message


@pytest.mark.parametrize("name", ["pretty.jsonl", "pretty.ndjson", "pretty.txt"])
def test_pretty_printed_json_as_lines_is_one_problem_with_a_hint(tmp_path: Path, name: str) -> None:
    docs = [json.dumps(record(f"n{i}"), indent=2) for i in range(300)]
    path = write(tmp_path / name, "\n".join(docs).encode())
    error = failure(path)
    assert len(error.details) == 1
    assert "pretty-printed JSON?" in error.details[0]


@pytest.mark.parametrize("name", ["array.jsonl", "array.ndjson"])
def test_an_array_named_as_json_lines_is_read_as_an_array(tmp_path: Path, name: str) -> None:
    data = json.dumps([record(f"n{i}") for i in range(50)], indent=2).encode()
    assert read(write(tmp_path / name, data)).records == 50


# -- CSV: byte-exact, any line ending, long fields -------------------------------------------

CSV_HEADER = "nodeId,version,uptime,cpu,memory,errors,timestamp"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_csv_never_trims_and_reads_any_line_ending(tmp_path: Path, ending: str) -> None:
    rows = [CSV_HEADER, " c1 ,1.0.0,1,1,1,0,1793534400", "c1,1.0.0,1,2,1,0, 1793534400 "]
    rows.append('"c\rr",1.0.0,1,3,1,0,1793534400')  # a CR inside a quoted id
    path = write(tmp_path / "h.csv", (ending.join(rows) + ending).encode())
    result = read(path)
    assert result.latest[" c1 "].metrics.cpu == 1
    assert result.latest["c1"].metrics.cpu == 2
    assert result.latest["c\rr"].metrics.cpu == 3
    assert not result.problems.failed


@pytest.mark.parametrize("size", [131_073, 1 << 20])
def test_a_csv_field_over_the_limit_is_one_malformed_row(tmp_path: Path, size: int) -> None:
    rows = [CSV_HEADER, "x" * size + ",1.0.0,1,1,1,0,1793534400", "ok,1.0.0,1,1,1,0,1793534400"]
    path = write(tmp_path / "h.csv", ("\n".join(rows) + "\n").encode())
    kept = read(path, skip_invalid=True)
    assert list(kept.latest) == ["ok"]
    assert [p.line for p in kept.problems.listed] == [2]


@pytest.mark.parametrize("where", [0, 8])
def test_a_csv_header_with_invalid_utf8_is_reported_on_line_1(tmp_path: Path, where: int) -> None:
    header = CSV_HEADER.encode()
    header = header[:where] + b"\xff" + header[where:]
    path = write(tmp_path / "h.csv", header + b"\nc1,1.0.0,1,1,1,0,0\n")
    assert failure(path).message.startswith(f"{path}:1: CSV header: invalid UTF-8")


# -- directories, links, pipes ---------------------------------------------------------------


def test_symlinked_directories_are_followed_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    write(real / "a.jsonl", jsonl(record("a")))
    write(real / "sub" / "b.jsonl", jsonl(record("b")))
    top = tmp_path / "top"
    top.mkdir()
    (top / "linked").symlink_to(real, target_is_directory=True)
    (real / "sub" / "loop").symlink_to(real, target_is_directory=True)  # a loop
    result = read(top)
    assert sorted(result.latest) == ["a", "b"]


def test_the_same_file_twice_is_read_once_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", jsonl(record("a")))
    (tmp_path / "link.jsonl").symlink_to(path)
    result = read_latest([path, path, tmp_path / "link.jsonl"])
    assert result.records == 1
    assert len(result.warnings) == 2
    assert all("read once" in w for w in result.warnings)


def test_hidden_files_in_directories_are_left_out_but_read_when_named(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", jsonl(record("a")))
    write(tmp_path / ".swap.jsonl", jsonl(record("hidden")))
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".git" / "x.jsonl", jsonl(record("git")))
    assert sorted(read(tmp_path).latest) == ["a"]
    assert sorted(read(tmp_path / ".swap.jsonl").latest) == ["hidden"]


def test_a_broken_link_in_a_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", jsonl(record("a")))
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere")
    assert failure(tmp_path).message == f"{tmp_path / 'gone.jsonl'}: broken symbolic link"


def test_a_socket_or_fifo_in_a_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", jsonl(record("a")))
    os.mkfifo(tmp_path / "pipe")
    assert failure(tmp_path).message == f"{tmp_path / 'pipe'}: not a regular file or directory"
    (tmp_path / "pipe").unlink()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock"))
        message = failure(tmp_path).message
    finally:
        sock.close()
    assert message == f"{tmp_path / 'sock'}: not a regular file or directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path) -> None:  # pragma: no cover
    path = write(tmp_path / "a.jsonl", jsonl(record("a")))
    path.chmod(0)
    assert str(path) in failure(tmp_path).message


@pytest.mark.parametrize(
    "data", [jsonl(record("a"), record("b")), gzip.compress(jsonl(record("a")))]
)
def test_a_fifo_is_read_like_stdin(tmp_path: Path, data: bytes) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        # Named like a large JSON Lines file, but a pipe: never shared between processes.
        result = read(fifo, "parallel")
    finally:
        writer.join(10)
    assert "a" in result.latest
