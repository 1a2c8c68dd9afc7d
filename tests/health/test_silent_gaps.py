"""What a hostile review found the reader still let through silently: empty inputs beside
good ones, the nesting bound, invalid UTF-8 in fields no rule reads, future records not
named, CR-only line endings. Each class is tested on the serial and on the parallel path
where a file is involved (small sizes force the parallel one)."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noderr_deploy.errors import InputError
from noderr_deploy.health.jsontext import MAX_DEPTH, nesting
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import FUTURE_LISTED, future_lines
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.results import HealthRead
from tests.health.test_hostile import PATHS, both, failure, filler, read, write
from tests.health_data import T0, jsonl, record, report

T = TypeVar("T")


def deep_record(node: str, depth: int) -> str:
    """A valid record nested exactly ``depth`` levels (the record itself is level 1), the
    nesting in a key no rule reads."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return json.dumps(record(node))[:-1] + f', "extra": {inner}}}'


def on_a_deep_stack(frames: int, call: Callable[[], T]) -> T:
    """``call()`` with ``frames`` more frames on the stack: msgspec's and json's own bounds
    depend on that, ours must not."""
    if frames == 0:
        return call()
    return on_a_deep_stack(frames - 1, call)


# -- an input without a record beside good ones is named -----------------------------------


@both
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.jsonl", b""),
        ("blank.jsonl", b"\n  \n\t\r\n" * 2000),  # past a segment: read in parallel too
        ("empty.json.gz", gzip.compress(b"")),
        ("blank.json", b"\n\n"),
    ],
)
def test_an_input_without_a_record_beside_a_good_one_is_named(
    tmp_path: Path, how: str, name: str, data: bytes
) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(*filler()))
    nothing = write(tmp_path / name, data)
    result = read_latest([good, nothing], **PATHS[how])
    assert result.records == 300
    assert result.warnings == [
        f"{nothing}: no health record in it (empty, or blank lines only): nothing read from it"
    ]


@both
def test_inputs_without_a_record_in_a_directory_are_named_then_counted(
    tmp_path: Path, how: str
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder / "a.jsonl", jsonl(*filler()))
    for i in range(7):
        write(folder / f"b{i}.jsonl", b"\n" * i)
    result = read_latest([folder], **PATHS[how])
    assert result.warnings[:5] == [
        f"{folder / f'b{i}.jsonl'}: no health record in it (empty, or blank lines only):"
        " nothing read from it"
        for i in range(5)
    ]
    assert result.warnings[5:] == ["... and 2 more inputs without a record"]


@both
def test_inputs_that_are_all_empty_never_make_a_verdict(tmp_path: Path, how: str) -> None:
    a = write(tmp_path / "a.jsonl", b"")
    b = write(tmp_path / "b.jsonl", b"\n" * 5000)
    with pytest.raises(InputError, match=r"no health reports in .*: the input is empty"):
        read_latest([a, b], **PATHS[how])
    with pytest.raises(InputError, match=r"no health reports in .*: the input is empty"):
        read_latest([b], **PATHS[how])


def test_a_file_with_records_or_problems_is_not_called_empty(tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(record("a")))
    bad = write(tmp_path / "bad.jsonl", b"garbage\n")
    result = read_latest([good, bad], skip_invalid=True)
    assert result.warnings == []
    assert result.problems.count == 1


# -- the nesting bound: defined once, the same at any stack depth ----------------------------


def _walked(text: bytes) -> int:
    """The nesting of ``text``, character by character (the reference)."""
    depth = deepest = 0
    inside = escaped = False
    for c in text:
        if inside:
            escaped, inside = (False, True) if escaped else (c == 0x5C, c != 0x22)
        elif c == 0x22:
            inside = True
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


JSON = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


@given(JSON, st.booleans())
def test_nesting_in_bulk_is_the_walked_nesting(value: object, padded: bool) -> None:
    text = json.dumps(value).encode()
    if padded:  # long enough for the bulk passes
        text = b"[" + text + b"," + b"[]," * 3000 + b"[]]"
    assert nesting(text) == _walked(text)


def test_nesting_is_measured_outside_strings() -> None:
    assert nesting(b"{}") == 1
    assert nesting(b'{"a": [[{}]], "b": "[[[[{{"}') == 4
    assert nesting(b'{"a": "\\"[["}') == 1
    assert nesting(deep_record("x", 7).encode()) == 7


@both
@pytest.mark.parametrize("frames", [0, 400])
@pytest.mark.parametrize("shape", ["lines", "array"])
def test_a_record_at_the_nesting_bound_is_read_one_past_it_is_malformed(
    tmp_path: Path, how: str, frames: int, shape: str
) -> None:
    docs: list[dict[str, Any] | str] = [
        *filler(),
        deep_record("at", MAX_DEPTH),
        deep_record("past", MAX_DEPTH + 1),
        deep_record("near", MAX_DEPTH - 5),
        *filler(),
    ]
    if shape == "lines":
        path = write(tmp_path / "h.jsonl", jsonl(*docs))
    else:
        body = ",\n".join(d if isinstance(d, str) else json.dumps(d) for d in docs)
        path = write(tmp_path / "h.json", f"[\n{body}\n]\n".encode())
    line = 302 if shape == "lines" else 303

    def go() -> HealthRead:
        return read(path, how, skip_invalid=True)

    limit = sys.getrecursionlimit()
    result = on_a_deep_stack(frames, go)
    assert sys.getrecursionlimit() == limit  # the room made for a deep record is given back
    assert {"at", "near"} <= result.latest.keys()
    assert "past" not in result.latest
    assert result.problems.lines() == [
        f"{path}:{line}: bad JSON: nested too deeply (more than {MAX_DEPTH} levels)"
    ]


@both
def test_a_key_twice_is_found_in_a_record_at_the_nesting_bound(tmp_path: Path, how: str) -> None:
    line = deep_record("x", MAX_DEPTH).replace('"version"', '"metrics": {}, "version"')
    path = write(tmp_path / "h.jsonl", jsonl(*filler(), line, *filler()))
    assert failure(path, how).details == [f"{path}:301: duplicate key 'metrics' in one record"]


# -- invalid UTF-8 is a malformed record wherever it is ------------------------------------------


GOOD = json.dumps(record("u")).encode()


@both
@pytest.mark.parametrize(
    "line",
    [
        GOOD[:-1] + b', "note": "caf\xe9"}',  # latin-1 in a value no rule reads
        GOOD[:-1] + b', "n\xffte": 1}',  # in a key no rule reads
        GOOD[:-1] + b', "deep": {"a": ["\xc3\x28"]}}',  # an invalid sequence, nested
        GOOD.replace(b'"u"', b'"u\xed\xa0\x80"'),  # a surrogate in the node id
    ],
    ids=["value", "key", "nested", "surrogate"],
)
def test_invalid_utf8_in_any_field_is_a_malformed_record(
    tmp_path: Path, how: str, line: bytes
) -> None:
    path = write(tmp_path / "h.jsonl", jsonl(*filler()) + line + b"\n" + jsonl(*filler()))
    details = failure(path, how).details
    assert len(details) == 1
    assert details[0].startswith(f"{path}:301: invalid UTF-8 (byte "), details


@pytest.mark.parametrize("line", [GOOD[:-1] + b', "note": "\xff"}', GOOD[:-1] + b', "\xff": 1}'])
def test_invalid_utf8_in_a_json_array_is_a_malformed_record(tmp_path: Path, line: bytes) -> None:
    path = write(tmp_path / "h.json", b"[\n" + GOOD + b",\n" + line + b"\n]\n")
    details = failure(path).details
    assert len(details) == 1
    assert details[0].startswith(f"{path}:3: invalid UTF-8 (byte "), details


@both
def test_valid_utf8_outside_ascii_is_still_read_in_bulk(tmp_path: Path, how: str) -> None:
    docs = [record(f"nœud-{i}", note="café ✓") for i in range(300)]
    result = read(write(tmp_path / "h.jsonl", jsonl(*docs)), how)
    assert len(result.latest) == 300
    assert not result.problems.failed


# -- future records are named: file:line, node id escaped, timestamp ---------------------------


AHEAD = "2099-01-01T00:00:00Z"


@both
def test_the_first_future_records_are_named_then_counted(tmp_path: Path, how: str) -> None:
    docs: list[dict[str, Any] | str] = [*filler()]
    for i in range(FUTURE_LISTED + 3):
        docs += [record(f"ahead\x1b[{i}m", timestamp=AHEAD), *filler(50)]
    path = write(tmp_path / "h.jsonl", jsonl(*docs))
    result = read(path, how, horizon=T0 + timedelta(minutes=5))
    assert result.future == FUTURE_LISTED + 3
    assert future_lines(result.problems, result.future) == [
        *(
            f"{path}:{301 + 51 * i}: node 'ahead\\x1b[{i}m' stamped 2099-01-01T00:00:00Z"
            for i in range(FUTURE_LISTED)
        ),
        "... and 3 more",
    ]


@both
def test_a_future_record_in_unix_milliseconds_is_named_in_utc(tmp_path: Path, how: str) -> None:
    docs = [*filler(), record("ms", timestamp=4102444800000), *filler()]  # 2100 in ms
    path = write(tmp_path / "h.jsonl", jsonl(*docs))
    result = read(path, how, horizon=T0)
    assert future_lines(result.problems, result.future) == [
        f"{path}:301: node 'ms' stamped 2100-01-01T00:00:00Z"
    ]


def test_future_records_are_named_in_arrays_and_csv(tmp_path: Path) -> None:
    array = write(
        tmp_path / "h.json",
        (
            "[\n"
            + ",\n".join(json.dumps(d) for d in [record("a"), record("f", timestamp=AHEAD)])
            + "\n]\n"
        ).encode(),
    )
    table = write(
        tmp_path / "h.csv",
        b"node_id,version,timestamp,cpu,memory,errors\n"
        b"c,1.0.0,2026-11-01T12:00:00Z,1,1,0\ng,1.0.0,2099-01-01T00:00:00Z,1,1,0\n",
    )
    result = read_latest([array, table], horizon=T0)
    assert future_lines(result.problems, result.future) == [
        f"{array}:3: node 'f' stamped 2099-01-01T00:00:00Z",
        f"{table}: 1 record stamped after the horizon",  # CSV rows are not numbered here
    ]


# -- CR-only line endings: read as lines, or one problem with its records counted ------------------


@both
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_file_whose_lines_end_with_cr_only_is_read_as_lines(
    tmp_path: Path, how: str, compress: bool
) -> None:
    docs = [*filler(), "garbage", *filler()]
    data = jsonl(*docs).replace(b"\n", b"\r")
    path = write(tmp_path / "h.jsonl", gzip.compress(data) if compress else data)
    result = read(path, how, skip_invalid=True)
    assert result.records == 600
    assert result.problems.lines() == [f"{path}:301: bad JSON: invalid character (byte 1)"]


@both
def test_cr_only_lines_inside_an_lf_file_are_counted_as_lost_records(
    tmp_path: Path, how: str
) -> None:
    cr_run = b"\r".join(json.dumps(record(f"cr{i}")).encode() for i in range(4))
    path = write(tmp_path / "h.jsonl", jsonl(*filler()) + cr_run + b"\n" + jsonl(*filler()))
    error = failure(path, how)
    assert error.details == [
        f"{path}:301: lines end with CR only here: 4 records on one line (convert the line"
        f" endings to LF, e.g. with tr '\\r' '\\n') ({len(cr_run)} bytes, 4 records or more"
        " lost)"
    ]
    result = read(path, how, skip_invalid=True)
    assert (result.problems.lost_records, result.problems.count) == (4, 0)


# -- serial and parallel reads agree on everything (settled once, in bulk) ---------------------


LINES = st.sampled_from(
    [
        json.dumps(record("a", cpu=1)),
        json.dumps(record("a", cpu=2, timestamp=1793534400)),  # the same time, in seconds
        json.dumps(record("b", cpu=3, timestamp=1793534400000)),  # milliseconds
        json.dumps(record("b", cpu=None)),  # incomplete
        json.dumps(record("c")).replace('"version"', '"metrics": {}, "version"'),  # key twice
        json.dumps(record("c", timestamp=-5)),  # no date
        json.dumps(record("d", timestamp=AHEAD)),
        json.dumps(record("e", memory=101)),
        "",
        "not json",
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(LINES, min_size=1, max_size=60), st.integers(0, 400))
def test_serial_and_parallel_reads_agree(tmp_path: Path, picks: list[str], pad: int) -> None:
    docs: list[dict[str, Any] | str] = [*filler(pad), *picks, *filler(pad)]
    path = write(tmp_path / "h.jsonl", jsonl(*docs))
    seen = []
    for how in PATHS:
        try:
            result = read(path, how, skip_invalid=True, horizon=T0 + timedelta(minutes=1))
        except InputError as exc:
            seen.append(("error", str(exc), tuple(exc.details)))
            continue
        seen.append(
            (
                {k: (v.metrics.cpu, v.timestamp) for k, v in result.latest.items()},
                result.problems.lines(),
                future_lines(result.problems, result.future),
                (result.records, result.problems.incomplete, result.problems.seconds),
            )
        )
    assert seen[0] == seen[1]


# -- one latest-wins loop, in both directions ---------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.integers(0, 9))))
def test_feeding_from_the_end_keeps_what_feeding_in_order_keeps(
    picks: list[tuple[str, int, int]],
) -> None:
    reports = [report(n, at=T0 + timedelta(seconds=s), uptime=u) for n, s, u in picks]
    forwards, backwards = Latest(), Latest()
    forwards.add_many(reports)
    backwards.add_earlier(reports)
    assert forwards.by_node == backwards.by_node
    assert forwards.records == backwards.records == len(reports)


@both
def test_future_records_clustered_at_the_end_are_named_from_the_first(
    tmp_path: Path, how: str
) -> None:
    # Read in parallel, the end of the file is read backwards: the first ones are still named.
    docs = [*filler(), *(record(f"z{i}", timestamp=AHEAD) for i in range(40))]
    path = write(tmp_path / "h.jsonl", jsonl(*docs))
    result = read(path, how, horizon=T0)
    assert future_lines(result.problems, result.future) == [
        *(f"{path}:{301 + i}: node 'z{i}' stamped 2099-01-01T00:00:00Z" for i in range(5)),
        "... and 35 more",
    ]
