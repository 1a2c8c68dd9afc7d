"""A ``\\u`` escape can spell a key or a date that no count of the raw text sees: records
holding one are read exactly, wherever they stand and on every read path (found by a
hostile review: an escaped second "errors" turned a rollback into ok)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noderr_deploy.errors import InputError
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.sizes import ReadSizes
from tests.health_data import jsonl, record

PARALLEL = ReadSizes(parallel_min=1, segment=64_000, chunk=4096)
SERIAL = ReadSizes()
PADDING = [record(f"pad{i}") for i in range(3000)]  # ~400 KB: several segments and chunks

GOOD = json.dumps(record("a"))
# Each spells a key twice: the second copy escaped, JSON's last one winning.
TWICE = [
    GOOD.replace('"errors": 0', '"errors": 50, "error\\u0073": 0'),
    GOOD.replace('"cpu": 10', '"cpu": 99, "\\u0063pu": 10'),
    GOOD.replace(
        '"nodeId": "a"',
        '"nodeId": "a", "healthStatus": "unhealthy", "health\\u0053tatus": "healthy"',
    ),
    GOOD.replace('"timestamp"', '"timestamp": "2026-11-01T11:00:00Z", "time\\u0073tamp"'),
]
# Escaped digits of a date that its offset pushes out of range.
DATES = [
    GOOD.replace('"2026-11-01T12:00:00Z"', '"\\u0030001-01-01T00:00:00+01:00"'),
    GOOD.replace('"2026-11-01T12:00:00Z"', '"\\u0039999-12-31T23:59:59-01:00"'),
]
# An escaped key that is not twice, beside a record whose key is twice in plain text.
NEIGHBOUR = GOOD.replace('"errors": 0', '"error\\u0073": 0')
PLAIN_TWICE = GOOD.replace('"nodeId": "a"', '"nodeId": "b"').replace(
    '"errors": 0', '"errors": 50, "errors": 0'
)


def problems_of(tmp_path: Path, lines: list[str], sizes: ReadSizes, where: str) -> list[str]:
    body = [*PADDING, *lines] if where == "last" else [*lines, *PADDING]
    path = tmp_path / "x.jsonl"
    path.write_bytes(jsonl(*body))
    with pytest.raises(InputError) as caught:
        read_latest([path], sizes=sizes)
    return [line.split(": ", 1)[1] for line in caught.value.details if ": " in line]


@pytest.mark.parametrize("sizes", [SERIAL, PARALLEL], ids=["serial", "parallel"])
@pytest.mark.parametrize("where", ["first", "last"])
@pytest.mark.parametrize("line", TWICE, ids=["errors", "cpu", "healthStatus", "timestamp"])
def test_a_key_twice_through_an_escape_is_malformed(
    tmp_path: Path, line: str, sizes: ReadSizes, where: str
) -> None:
    found = problems_of(tmp_path, [line], sizes, where)
    assert any("duplicate key" in p for p in found), found


@pytest.mark.parametrize("sizes", [SERIAL, PARALLEL], ids=["serial", "parallel"])
@pytest.mark.parametrize("line", DATES, ids=["year 1", "year 9999"])
def test_an_escaped_date_out_of_range_is_malformed(
    tmp_path: Path, line: str, sizes: ReadSizes
) -> None:
    found = problems_of(tmp_path, [line], sizes, "last")
    assert any("out of range" in p for p in found), found


@pytest.mark.parametrize("sizes", [SERIAL, PARALLEL], ids=["serial", "parallel"])
def test_an_escape_next_door_hides_no_key_twice(tmp_path: Path, sizes: ReadSizes) -> None:
    found = problems_of(tmp_path, [NEIGHBOUR, PLAIN_TWICE], sizes, "last")
    assert found == ["duplicate key 'errors' in one record"], found


def test_an_escaped_key_once_is_a_key(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(jsonl(NEIGHBOUR.replace('"error\\u0073": 0', '"error\\u0073": 7')))
    read = read_latest([path])
    assert read.latest["a"].metrics.errors == 7


# A second hostile review: two more ways a key twice went unseen.
BIG_NUMBER = GOOD.replace('"version"', '"x": ' + "1" * 5000 + ', "version"').replace(
    '"cpu": 10', '"cpu": 99, "cpu": 10'
)  # json refuses integers over 4,300 digits: the exact check must not read numbers
METRICS_TWICE = GOOD.replace('"metrics"', '"metrics": {}, "metrics"')
NO_METRICS = json.dumps({k: v for k, v in record("z").items() if k != "metrics"})


@pytest.mark.parametrize("sizes", [SERIAL, PARALLEL], ids=["serial", "parallel"])
@pytest.mark.parametrize(
    ("lines", "key"),
    [([BIG_NUMBER], "cpu"), ([METRICS_TWICE, NO_METRICS], "metrics")],
    ids=["a 5000-digit number beside it", "beside a record without metrics"],
)
def test_a_key_twice_is_found_beside_what_hid_it(
    tmp_path: Path, lines: list[str], key: str, sizes: ReadSizes
) -> None:
    found = problems_of(tmp_path, lines, sizes, "last")
    assert f"duplicate key {key!r} in one record" in found, found
