"""Node-id input: line splitting, errors with line numbers, and the parallel scanner."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy import nodeids
from noderr_deploy.cohorts import buckets_of, count_buckets
from noderr_deploy.errors import ExitCode, InputError
from noderr_deploy.nodeids import _ranges, input_warnings, read_input, scan_ids, split_lines

# workers=3 with no size threshold forces the multi-range path on small inputs.
SERIAL = {"workers": 1}
PARALLEL = {"workers": 3, "parallel_min_bytes": 0}
MODES = pytest.mark.parametrize("mode", [SERIAL, PARALLEL], ids=["serial", "parallel"])


@pytest.fixture(params=["c-threads", "pysha3-fork"], autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with the C extension's threads and with the forked fallback."""
    if request.param == "pysha3-fork":
        monkeypatch.setattr(nodeids, "bucket_lines", None)
    elif nodeids.bucket_lines is None:
        pytest.fail("noderr_deploy._keccak is not built (pip install -e . builds it)")
    return str(request.param)


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"a", [b"a"]),
        (b"a\n", [b"a"]),
        (b"a\nb", [b"a", b"b"]),
        (b"a\r\nb\r\n", [b"a", b"b"]),
        (b"a\r\nb", [b"a", b"b"]),
        (b"a\rb\n", [b"a\rb"]),  # a lone CR is part of the id
        (b"a\r\r\n", [b"a\r"]),  # only one CR belongs to the terminator
        (b" a \n\tb\n", [b" a ", b"\tb"]),
        (b"a\n\n", [b"a", b""]),
    ],
)
def test_split_lines_strips_only_the_terminator(data: bytes, lines: list[bytes]) -> None:
    assert split_lines(data) == lines


@MODES
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a\nb\n\nc\n", "ids.txt:3: empty line (one node id per line)"),
        (b"\n", "ids.txt:1: empty line (one node id per line)"),
        (b"a\r\n\r\nb", "ids.txt:2: empty line (one node id per line)"),
        (b"a\nb\n\n", "ids.txt:3: empty line (one node id per line)"),
        (b"a\nb\xff\nc\n", "ids.txt:2: invalid UTF-8 at byte 2 of the line (invalid start byte)"),
        (b"ok\nx\xc3", "ids.txt:2: invalid UTF-8 at byte 2 of the line (unexpected end of data)"),
        # The earlier of two problems is reported.
        (b"a\n\xc0\xaf\n\n", "ids.txt:2: invalid UTF-8 at byte 1 of the line (invalid start byte)"),
        (b"a\n\nb\xff\n", "ids.txt:2: empty line (one node id per line)"),
    ],
)
def test_bad_lines_are_named(mode: dict[str, int], data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        scan_ids(data, "ids.txt", keep_rows=False, **mode)
    assert caught.value.message == message
    assert caught.value.exit_code == ExitCode.USAGE


@MODES
def test_error_line_numbers_hold_across_worker_ranges(mode: dict[str, int]) -> None:
    lines = [f"node-{i}".encode() for i in range(5000)]
    lines[4321] = b""
    with pytest.raises(InputError, match=r"^big:4322: empty line"):
        scan_ids(b"\n".join(lines) + b"\n", "big", keep_rows=False, **mode)


@MODES
def test_scan_counts_and_rows(mode: dict[str, int]) -> None:
    ids = [f"node-{i}".encode() for i in range(10_000)]
    data = b"\r\n".join(ids) + b"\r\n"
    scan = scan_ids(data, "x", keep_rows=True, **mode)
    assert scan.total == 10_000
    assert scan.ids == ids
    assert scan.buckets == buckets_of(ids)
    assert scan.bucket_counts == count_buckets(buckets_of(ids))
    summary = scan_ids(data, "x", keep_rows=False, **mode)
    assert summary.bucket_counts == scan.bucket_counts
    assert summary.ids is None
    assert summary.buckets is None


@MODES
@pytest.mark.parametrize("keep_rows", [True, False])
def test_an_empty_input_fails_like_blank_lines(mode: dict[str, int], keep_rows: bool) -> None:
    with pytest.raises(InputError) as caught:
        scan_ids(b"", "ids.txt", keep_rows=keep_rows, **mode)
    assert caught.value.message == "ids.txt: empty input (no node ids; one node id per line)"
    assert caught.value.exit_code == ExitCode.USAGE
    with pytest.raises(InputError, match=r"^ids\.txt:1: empty line"):
        scan_ids(b"\n\n", "ids.txt", keep_rows=keep_rows, **mode)


@MODES
def test_repeated_ids_are_found_and_counted_once(mode: dict[str, int]) -> None:
    ids = [b"a", b"b", b"a", b"c", b"a", b"b"] + [f"n{i}".encode() for i in range(3000)]
    scan = scan_ids(b"\n".join(ids), "x", keep_rows=False, **mode)
    assert scan.total == len(ids)
    assert scan.repeated == {b"a": 2, b"b": 1}
    assert scan.repeats == 3
    assert scan.unique_bucket_counts() == count_buckets(buckets_of(sorted(set(ids))))
    assert scan_ids(b"a\nb\n", "x", keep_rows=False).repeated is None


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_a_utf16_file_gets_a_hint(bom: bytes) -> None:
    data = bom + "node-1\nnode-2\n".encode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be")
    with pytest.raises(InputError) as caught:
        scan_ids(data, "ids.txt", keep_rows=False)
    assert caught.value.message.startswith("ids.txt:1: invalid UTF-8 at byte 1 of the line")
    assert "UTF-16 byte order mark" in caught.value.message
    assert "iconv -f UTF-16 -t UTF-8" in caught.value.message
    with pytest.raises(InputError) as other:
        scan_ids(b"ok\n\xff\xfe\n", "ids.txt", keep_rows=False)
    assert "UTF-16" not in other.value.message  # only a mark at the start is one


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters="\n", blacklist_categories=["Cs"]), min_size=1
        ).filter(lambda s: s != "\r" and not s.endswith("\r")),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
    st.booleans(),
)
def test_parallel_equals_serial(ids: list[str], crlf: bool, final_newline: bool) -> None:
    end = "\r\n" if crlf else "\n"
    text = end.join(ids) + (end if final_newline else "")
    data = text.encode("utf-8")
    serial = scan_ids(data, "x", keep_rows=True, workers=1)
    parallel = scan_ids(data, "x", keep_rows=True, workers=3, parallel_min_bytes=0)
    assert serial == parallel
    assert serial.ids == [s.encode() for s in ids]


@given(st.binary(max_size=200), st.integers(1, 6))
def test_ranges_cover_the_input_and_end_at_line_ends(data: bytes, parts: int) -> None:
    ranges = _ranges(data, parts)
    assert b"".join(data[s:e] for s, e in ranges) == data
    for _start, end in ranges[:-1]:
        assert data[end - 1 : end] == b"\n"


def test_read_input(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"a\nb\n")
    assert read_input(str(path)) == (b"a\nb\n", str(path))
    assert read_input("-", io.BytesIO(b"x\n")) == (b"x\n", "<stdin>")
    with pytest.raises(InputError, match=r"nope\.txt: no such file"):
        read_input(str(tmp_path / "nope.txt"))
    with pytest.raises(InputError, match="cannot read"):
        read_input(str(tmp_path))
    with pytest.raises(InputError, match=r"^--file: the path is empty"):
        read_input("")


def test_byte_order_mark_is_kept_and_warned_about() -> None:
    data = "\ufeffnode-1\n".encode()
    assert input_warnings(data, "ids.txt")[0].startswith("ids.txt:1: starts with a UTF-8 byte")
    assert input_warnings(b"node-1\n", "ids.txt") == []
    scan = scan_ids(data, "ids.txt", keep_rows=True)
    assert scan.ids == [b"\xef\xbb\xbfnode-1"]


def test_a_large_random_file_uses_every_core_and_agrees() -> None:
    rng = random.Random(7)
    ids = [f"n-{rng.getrandbits(64):x}".encode() for _ in range(120_000)]
    data = b"\n".join(ids)
    assert len(data) > 1 << 20  # above the default threshold: the forked path
    assert scan_ids(data, "x", keep_rows=True).buckets == buckets_of(ids)
