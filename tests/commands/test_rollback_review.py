"""`noderr rollback check` end to end on what a hostile review found: empty inputs named,
future records named, one duration grammar, threshold messages that are true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.health_data import jsonl, record

runner = CliRunner()
AT = ("--at", "2026-11-01T12:05:00Z", "--version", "1.0.0")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("NODERR_MAX_AGE", "NODERR_MAX_SKEW", "NODERR_ERROR_RATE_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)


def check(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["rollback", "check", *AT, *args], env=env)


def export(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_an_empty_file_beside_a_good_one_is_a_warning_naming_it(tmp_path: Path) -> None:
    good = export(tmp_path, "good.jsonl", jsonl(record("a"), record("b")))
    empty = export(tmp_path, "empty.jsonl", b"")
    result = check("--health", good, "--health", empty)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"warning: {empty}: no health record in it (empty, or blank lines only): nothing read"
        " from it\n"
    )


def test_inputs_that_are_all_empty_are_exit_2(tmp_path: Path) -> None:
    a = export(tmp_path, "a.jsonl", b"")
    b = export(tmp_path, "b.jsonl", b"\n\n")
    result = check("--health", a, "--health", b)
    assert result.exit_code == 2
    assert result.stderr == f"error: no health reports in {a}, {b}: the input is empty\n"


def test_future_records_are_named_on_stderr(tmp_path: Path) -> None:
    docs = [record("a"), record("b\x1b[2J", timestamp="2099-01-01T00:00:00Z"), record("c")]
    path = export(tmp_path, "h.jsonl", jsonl(*docs))
    result = check("--health", path, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "left out 1 report stamped after 2026-11-01T12:05:00Z plus the allowed clock skew"
        " (300s): a node's clock is ahead (--max-skew)",
        f"  {path}:2: node 'b\\x1b[2J' stamped 2099-01-01T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--max-age", "1h1h"), None, "error: --max-age: not a duration: '1h1h' (unit 'h' twice"),
        ((), {"NODERR_MAX_SKEW": "30m1h"}, "error: NODERR_MAX_SKEW: not a duration: '30m1h'"),
        (("--max-age", "1 5m"), None, "error: --max-age: not a duration: '1 5m'"),
        (
            ("--error-rate-threshold", "1e309"),
            None,
            "error: invalid thresholds: --error-rate-threshold (or NODERR_ERROR_RATE_THRESHOLD):"
            " '1e309' is out of range (a number from 0 to 1.7976931348623157e+308",
        ),
        (
            (),
            {"NODERR_ERROR_RATE_THRESHOLD": "1e-400"},
            "error: invalid thresholds: --error-rate-threshold (or NODERR_ERROR_RATE_THRESHOLD):"
            " '1e-400' is out of range (too close to 0 to tell from it: use 0)",
        ),
        (
            ("--unhealthy-threshold", "\uff15"),
            None,
            "error: invalid thresholds: --unhealthy-threshold (or NODERR_UNHEALTHY_THRESHOLD):"
            " not a number: '\uff15'",
        ),
        (
            ("--min-nodes", "9" * 30),
            None,
            "error: invalid thresholds: --min-nodes (or NODERR_MIN_NODES): '999",
        ),
    ],
)
def test_bad_durations_and_thresholds_are_one_true_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str] | None, message: str
) -> None:
    path = export(tmp_path, "h.jsonl", jsonl(record("a")))
    result = check("--health", path, *args, env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_the_largest_finite_error_rate_is_a_threshold(tmp_path: Path) -> None:
    path = export(tmp_path, "h.jsonl", jsonl(record("a", errors=1e300)))
    result = check("--health", path, "--error-rate-threshold", "1e308", "--canary", "100")
    assert result.exit_code == 3, result.output  # unhealthy (errors > 10), not by its rate
    assert "error rate > 1e+308;" in result.stdout
    assert "1e+300" in result.stdout  # a huge rate in six digits, not 301


@pytest.mark.parametrize(
    ("args", "yaml"),
    [
        (("--unhealthy-threshold", "-0", "--error-rate-threshold", "-0.0"), None),
        ((), "rollback:\n  unhealthy_threshold: -0.0\n  error_rate_threshold: -0.0\n"),
    ],
    ids=["flags", "tiers.yaml"],
)
def test_a_negative_zero_threshold_is_zero(
    tmp_path: Path, args: tuple[str, ...], yaml: str | None
) -> None:
    if yaml is not None:
        (tmp_path / "tiers.yaml").write_text(yaml)
    path = export(tmp_path, "h.jsonl", jsonl(record("a")))
    result = check("--health", path, *args, "--json")
    assert result.exit_code == 0, result.output
    assert '"unhealthyRatio": 0.0,' in result.stdout
    assert '"errorRate": 0.0,' in result.stdout
    text = check("--health", path, *args).stdout
    assert "rollback when unhealthy > 0.0% or error rate > 0;" in text
