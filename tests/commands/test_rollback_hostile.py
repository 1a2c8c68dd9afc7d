"""``noderr rollback check`` against hostile input and flags: only messages, never a crash;
the verdict counts what it could not use."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.errors import InputError
from noderr_deploy.health.sizes import ReadSizes
from noderr_deploy.rollback import Thresholds, judge_cohort
from noderr_deploy.rollback.check import CheckRequest, HealthRequest, run_check
from tests.health_data import T0, jsonl, record

runner = CliRunner()
AT = "2026-11-01T12:30:00Z"
REPO = Path(__file__).resolve().parents[2]
ALL_CANARY = ("--canary", "100", "--cohort-size", "0")
EXITS = {0, 2, 3, 4}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def check(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Any:
    return runner.invoke(app, ["rollback", "check", *args], env=env, input=stdin)


def export(tmp_path: Path, data: bytes, name: str = "h.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# -- time as of --at -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skew", "future"),
    [(None, 3), ("0s", 4), ("10m", 2), ("0", 4)],
)
def test_future_reports_are_counted_and_reported(
    tmp_path: Path, skew: str | None, future: int
) -> None:
    docs = [
        record("a", cpu=99),  # unhealthy, at T0
        record("a", timestamp="2099-01-01T00:00:00Z"),  # must not hide the real one
        record("b", timestamp="2026-11-01T12:34:00Z"),  # 4 min after --at
        record("c", timestamp="2026-11-01T12:36:00Z"),  # 6 min after --at
        record("d", timestamp="2026-11-01T12:50:00Z"),  # 20 min after
    ]
    args = ["--health", export(tmp_path, jsonl(*docs)), "--version", "1.0.0", "--at", AT]
    if skew is not None:
        args += ["--max-skew", skew]
    result = check(*args, *ALL_CANARY, "--json")
    assert result.exit_code == 3, result.output
    reports = json.loads(result.stdout)["reports"]
    assert reports["future"] == future
    assert reports["records"] == 5
    assert f"left out {future} report" in result.stderr
    table = check(*args, *ALL_CANARY)
    assert f"{future} future left out" in table.stdout


# -- lost data in the JSON and the summary -------------------------------------------------------


def test_lost_data_is_in_the_json_and_the_summary_never_as_one_invalid(tmp_path: Path) -> None:
    import gzip

    packed = gzip.compress(jsonl(*(record(f"n{i}") for i in range(3000))))
    path = export(tmp_path, packed[: len(packed) // 2], "h.jsonl.gz")
    failed = check("--health", path, "--version", "1.0.0", "--at", AT)
    assert failed.exit_code == 2
    assert "of input lost in 1 place" in failed.stderr
    kept = check("--health", path, "--version", "1.0.0", "--at", AT, "--skip-invalid", "--json")
    assert kept.exit_code in (0, 3), kept.output
    reports = json.loads(kept.stdout)["reports"]
    assert reports["invalid"] == 0
    assert "lost" in kept.stderr


def test_a_stray_quote_is_lost_rows_in_the_json(tmp_path: Path) -> None:
    rows = ["nodeId,version,uptime,cpu,memory,errors,timestamp", "a,1.0.0,1,1,1,0,1793534400"]
    rows += ['b,"1.0.0,1,1,1,0,1793534400'] + [f"n{i},1.0.0,1,1,1,0,1793534400" for i in range(500)]
    path = export(tmp_path, ("\n".join(rows) + "\n").encode(), "h.csv")
    result = check("--health", path, "--version", "1.0.0", "--at", AT, "--skip-invalid", "--json")
    reports = json.loads(result.stdout)["reports"]
    assert (reports["invalid"], reports["records"]) == (0, 1)
    assert reports["lostRecords"] >= 500
    assert reports["lostBytes"] > 0


# -- no crash, only messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--at", "0001-01-01", "--max-age", "1h"), None),
        (("--at", "9999-12-31T23:59:59Z"), None),
        (("--max-age", "1000000000d"), "error: --max-age: duration out of range"),
        (("--max-skew", "1000000000d"), "error: --max-skew: duration out of range"),
        (("--at", "1e12"), "error: --at: unix time out of range"),
        (("--at", "-1"), "error: --at: unix time out of range"),
        (("--at", "nan"), "error: --at:"),
        (("--at", "0001-01-01T00:00:00+01:00"), "error: --at: time out of range"),
        (("--unhealthy-threshold", "nan"), "error: invalid thresholds:"),
        (("--error-rate-threshold", "inf"), "error: invalid thresholds:"),
        (("--error-rate-threshold", "nan"), "error: invalid thresholds:"),
        (("--max-age", "0"), None),
        (("--max-age", "0s"), None),
    ],
)
def test_out_of_range_flags_are_messages(
    tmp_path: Path, args: tuple[str, ...], message: str | None
) -> None:
    path = export(tmp_path, jsonl(record("a")))
    result = check("--health", path, "--version", "1.0.0", *args)
    assert "internal error" not in result.output
    if message is None:
        assert result.exit_code in EXITS, result.output
    else:
        assert result.exit_code == 2
        assert result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NODERR_UNHEALTHY_THRESHOLD", "nan"),
        ("NODERR_ERROR_RATE_THRESHOLD", "inf"),
        ("NODERR_MAX_AGE", "1000000000d"),
        ("NODERR_MAX_SKEW", "soon"),
    ],
)
def test_bad_values_from_the_environment_are_messages(
    tmp_path: Path, name: str, value: str
) -> None:
    path = export(tmp_path, jsonl(record("a")))
    result = check("--health", path, "--version", "1.0.0", "--at", AT, env={name: value})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert "internal error" not in result.output


@pytest.mark.parametrize("count", [2, 3])
def test_error_totals_beyond_a_float_are_a_message(tmp_path: Path, count: int) -> None:
    docs = [record(f"n{i}", errors=1.7e308) for i in range(count)]
    path = export(tmp_path, jsonl(*docs))
    result = check("--health", path, "--version", "1.0.0", "--at", AT, *ALL_CANARY)
    assert result.exit_code == 2
    assert "add up to more than a float holds" in result.stderr


def test_stdin_is_named_as_such(tmp_path: Path) -> None:
    result = check("--health", "-", "--version", "1.0.0", "--at", AT, stdin=b"{garbage\n")
    assert result.exit_code == 2
    assert "  <stdin>:1: bad JSON" in result.stderr


def test_process_substitution_is_read(tmp_path: Path) -> None:
    path = export(tmp_path, jsonl(record("a")))
    script = (
        f"{sys.executable} -m noderr_deploy rollback check --version 1.0.0 --at {AT}"
        f" --json --health <(cat {path})"
    )
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reports"]["records"] == 1


# -- smaller things ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unhealthy", "nodes", "limit"),
    [(1_000_001, 10_000_000, 0.1), (100_001, 1_000_000, 0.1), (3, 20, 0.1499999)],
)
def test_a_reason_line_is_true_as_printed(unhealthy: int, nodes: int, limit: float) -> None:
    result = judge_cohort(
        "canary",
        nodes=nodes,
        healthy=nodes - unhealthy,
        degraded=0,
        unhealthy=unhealthy,
        errors=0,
        thresholds=Thresholds(unhealthy_ratio=limit),
    )
    [reason] = result.reasons
    left, right = reason.removeprefix("unhealthy ").split(" > ")
    assert float(left.rstrip("%")) > float(right.rstrip("%")), reason


@pytest.mark.parametrize("rate", [1e-9, 0.05000001])
def test_an_error_rate_reason_is_true_as_printed(rate: float) -> None:
    result = judge_cohort(
        "canary",
        nodes=1,
        healthy=1,
        degraded=0,
        unhealthy=0,
        errors=rate,
        thresholds=Thresholds(error_rate=0 if rate < 0.01 else 0.05),
    )
    [reason] = result.reasons
    left, right = reason.removeprefix("error rate ").split(" > ")
    assert float(left) > float(right), reason


def test_a_zero_threshold_has_one_spelling(tmp_path: Path) -> None:
    path = export(tmp_path, jsonl(record("a", errors=1)))
    result = check(
        "--health",
        path,
        "--version",
        "1.0.0",
        "--at",
        AT,
        *ALL_CANARY,
        "--error-rate-threshold",
        "0",
    )
    assert "error rate 1 > 0" in result.stdout
    assert "or error rate > 0;" in result.stdout


def test_numbers_for_at_follow_the_rules_of_numeric_timestamps(tmp_path: Path) -> None:
    # -1 and 1e12 are refused for --at (unix seconds); in a record a number may also be
    # milliseconds (--timestamp-unit auto: 1e12 is 2001-09-09), so -1 and 1e16 are refused
    # there, as a number or a string.
    for value in ("-1", "1e12"):
        assert check("--health", "x", "--version", "1", "--at", value).exit_code == 2
    for value in ("-1", "1e16"):
        for stamp in (float(value), value):
            path = export(tmp_path, jsonl(record("a", timestamp=stamp)))
            result = check("--health", path, "--version", "1.0.0", "--at", AT)
            assert result.exit_code == 2, result.output
            assert f"{path}:1: timestamp: " in result.stderr
    ok = check(
        "--health",
        export(tmp_path, jsonl(record("a"))),
        "--version",
        "1.0.0",
        "--at",
        "1793534400.5",
    )
    assert ok.exit_code == 0


# -- fuzzing: random bytes, JSON and CSV --------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "nodeId",
                    "version",
                    "metrics",
                    "cpu",
                    "memory",
                    "errors",
                    "uptime",
                    "timestamp",
                    "healthStatus",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)
FIELD = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["1e999", "-1", "nan", "0001-01-01T00:00:00+01:00", "1793534400", '"', "\r"]),
)


def _outcome(tmp_path: Path, data: bytes, name: str) -> Any:
    path = export(tmp_path, data, name)
    return check("--health", path, "--version", "1.0.0", "--at", AT, "--skip-invalid")


def _assert_message_only(result: Any) -> None:
    assert result.exit_code in EXITS, result.output
    assert "internal error" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    data=st.binary(max_size=400), name=st.sampled_from(["h.jsonl", "h.json", "h.csv", "h", "h.gz"])
)
def test_fuzz_random_bytes(tmp_path: Path, data: bytes, name: str) -> None:
    _assert_message_only(_outcome(tmp_path, data, name))


@FUZZ
@given(docs=st.lists(JSON, max_size=5), good=st.booleans())
def test_fuzz_random_json(tmp_path: Path, docs: list[object], good: bool) -> None:
    lines = [json.dumps(d) for d in docs] + ([json.dumps(record("a"))] if good else [])
    _assert_message_only(_outcome(tmp_path, "\n".join(lines).encode(), "h.jsonl"))
    _assert_message_only(_outcome(tmp_path, json.dumps(docs).encode(), "h.json"))


@FUZZ
@given(rows=st.lists(st.lists(FIELD, min_size=5, max_size=9), max_size=5))
def test_fuzz_random_csv(tmp_path: Path, rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["nodeId", "version", "uptime", "cpu", "memory", "errors", "timestamp"])
    writer.writerows(rows)
    _assert_message_only(_outcome(tmp_path, text.getvalue().encode(), "h.csv"))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(JSON, min_size=1, max_size=20))
def test_fuzz_the_parallel_path(tmp_path: Path, docs: list[object]) -> None:
    # Random records among valid ones, in a file small sizes share between processes.
    lines = [json.dumps(record(f"n{i}")) for i in range(200)]
    for k, doc in enumerate(docs):
        lines[k * 10] = json.dumps(doc)
    path = export(tmp_path, "\n".join(lines).encode())
    request = CheckRequest(
        HealthRequest(sources=(path,), at=T0, skip_invalid=True),
        version="1.0.0",
        canary=100,
        cohort_size=0,
    )
    sizes = ReadSizes(parallel_min=1, segment=2048, chunk=512)

    def outcome(**how: Any) -> object:
        try:
            return run_check(request, **how).result
        except InputError as exc:
            return exc.message, exc.details

    assert outcome(sizes=sizes, workers=2) == outcome(workers=1)
