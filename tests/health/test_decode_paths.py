"""The bulk decode of a chunk agrees with decoding its lines one by one.

The bulk paths (:func:`noderr_deploy.health.decode.decode_chunk`: the complete-shape path
proved by counting quotes, and the general bulk path) are shortcuts; the line-by-line
decode is the reference: same records kept, same problems on the same lines, whatever
the records look like (keys twice, keys inside strings, null or missing metrics, escaped
quotes, other fields, numeric timestamps).
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy.health.decode import decode_chunk
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.record import decode_record, finish

KEYS = ("nodeId", "version", "metrics", "timestamp", "healthStatus", "extra")
METRICS = ("uptime", "cpu", "memory", "errors")

texts = st.sampled_from(["n1", "n2", 'a"b', "healthStatus", '"cpu"', "1.4.2", "é", "\\"])
numbers = st.one_of(st.integers(0, 120), st.floats(0, 100, allow_nan=False), st.none())
stamps = st.sampled_from(
    [
        "2026-11-01T12:00:00Z",
        "2026-11-01T12:00:01.5+00:00",
        "2026-11-01T13:00:00+01:00",
        "2026-11-01 12:00:00",
        1_785_000_000,
        1_785_000_000_000,
        "1785000000",
    ]
)


@st.composite
def pairs(draw: st.DrawFn) -> list[tuple[str, object]]:
    """A record as key/value pairs: usually the complete shape, sometimes damaged."""
    metrics: list[tuple[str, object]] = [(m, draw(st.integers(0, 50))) for m in METRICS]
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            change = draw(st.sampled_from(["drop", "twice", "null", "other"]))
            key = draw(st.sampled_from(METRICS))
            if change == "drop":
                metrics = [p for p in metrics if p[0] != key]
            elif change == "twice":
                metrics.append((key, draw(numbers)))
            elif change == "null":
                metrics = [(k, None if k == key else v) for k, v in metrics]
            else:
                metrics.append(("requests", draw(numbers)))
    record: list[tuple[str, object]] = [
        ("nodeId", draw(texts)),
        ("version", "1.4.2"),
        ("metrics", metrics),
        ("timestamp", draw(stamps)),
    ]
    if draw(st.booleans()):
        status = draw(st.sampled_from(["healthy", "degraded", "unhealthy", None, "bad"]))
        record.insert(draw(st.integers(0, len(record))), ("healthStatus", status))
    if draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(KEYS))
        value = draw(st.one_of(texts, numbers, st.just([("cpu", 1)])))
        record.insert(draw(st.integers(0, len(record))), (key, value))
    return record


def encode(pairs: list[tuple[str, object]]) -> str:
    """JSON text of key/value pairs, keeping a key given twice (json.dumps cannot)."""

    def value(v: object) -> str:
        if isinstance(v, list):
            return "{" + ",".join(f"{json.dumps(k)}:{value(x)}" for k, x in v) + "}"
        return json.dumps(v, ensure_ascii=False)

    return value(pairs)


def one_by_one(lines: list[bytes]) -> tuple[list[object], list[str]]:
    problems = Problems()
    kept = []
    for number, line in enumerate(lines, 1):
        report, why = decode_record(line)
        if report is not None:
            why = finish(report, "auto", problems)
        if report is not None and not why:
            kept.append(report)
        else:
            problems.add("f", number, why)
    return kept, problems.lines()


@settings(max_examples=400, deadline=None)
@given(st.lists(pairs(), min_size=1, max_size=12))
def test_a_chunk_decodes_as_its_lines_do(records: list[list[tuple[str, object]]]) -> None:
    lines = [encode(r).encode() for r in records]
    problems = Problems()
    reports, newlines = decode_chunk(b"\n".join(lines) + b"\n", "f", 1, problems)
    assert newlines == len(lines)
    assert (reports, problems.lines()) == one_by_one(lines)


def test_the_complete_shape_is_read_in_bulk_and_equals_the_general_path() -> None:
    line = encode(
        [
            ("nodeId", "n1"),
            ("version", "1.4.2"),
            ("metrics", [("uptime", 1), ("cpu", 2), ("memory", 3), ("errors", 0)]),
            ("timestamp", "2026-11-01T12:00:00Z"),
        ]
    ).encode()
    problems = Problems()
    reports, _ = decode_chunk(line + b"\n" + line + b"\n", "f", 1, problems)
    assert type(reports[0]).__name__ == "_CompleteReport"  # the bulk path took it
    assert reports == one_by_one([line, line])[0]
    assert not problems.lines()


def test_a_key_twice_in_the_complete_shape_is_still_found() -> None:
    # As many quotes as the complete shape needs, with "cpu" twice and "uptime" missing.
    line = (
        b'{"nodeId":"n1","version":"1.4.2","metrics":{"cpu":99,"cpu":2,"memory":3,'
        b'"errors":0},"timestamp":"2026-11-01T12:00:00Z"}'
    )
    problems = Problems()
    reports, _ = decode_chunk(line + b"\n", "f", 1, problems)
    assert reports == []
    assert problems.lines() == ["f:1: duplicate key 'cpu' in one record"]


def test_a_field_we_do_not_read_may_stand_twice_whatever_its_neighbours() -> None:
    # Kept alone and beside a record that sends its chunk down the exact path.
    extra = (
        b'{"nodeId":"n1","version":"1.4.2","requests":1,"requests":2,"metrics":{"uptime":1,'
        b'"cpu":2,"memory":3,"errors":0,"disk":1,"disk":2},"timestamp":"2026-11-01T12:00:00Z"}'
    )
    twice = extra.replace(b'"nodeId":"n1"', b'"nodeId":"n0","nodeId":"n2"')
    for lines in ([extra], [twice, extra]):
        problems = Problems()
        reports, _ = decode_chunk(b"\n".join(lines) + b"\n", "f", 1, problems)
        assert [r.node_id for r in reports] == ["n1"]
        assert problems.lines() == (
            ["f:1: duplicate key 'nodeId' in one record"] * (len(lines) - 1)
        )
