"""``rollback check`` flags for the network's telemetry, without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app
from tests.health_data import jsonl, record

runner = CliRunner()
AT = "2026-11-01T12:30:00Z"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("NODERR_CONFIG", "NODERR_HEALTH_DSN", "NODERR_TIMESTAMP_UNIT", "NODERR_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)


def check(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["rollback", "check", "--at", AT, *args], env=env)


def test_a_key_value_dsn_in_the_environment_is_refused_without_echo() -> None:
    result = check("-V", "1", env={"NODERR_HEALTH_DSN": "host=db password=s3cr3t"})
    assert result.exit_code == 2
    assert "s3cr3t" not in result.stderr
    assert "NODERR_HEALTH_DSN must be a postgresql://" in result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--columns", "load=cpu"], "--columns: unknown field 'load'"),
        (["--timestamp-unit", "us"], "--timestamp-unit: unknown timestamp unit 'us'"),
        (["--incomplete", "newest"], "--incomplete: unknown --incomplete policy 'newest'"),
        (["--since", "1h"], "--since applies to a PostgreSQL DSN"),
        (["--since", "yesterday"], "--since: not a time: 'yesterday'"),
    ],
)
def test_bad_telemetry_flags_exit_2(tmp_path: Path, flags: list[str], message: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(jsonl(record("a")))
    result = check("--health", str(path), "-V", "1.0.0", *flags)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_dsn_is_read_alone(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(jsonl(record("a")))
    result = check("--health", "postgresql://u:pw@127.0.0.1:1/db", str(path), "-V", "1")
    assert result.exit_code == 2
    assert "a PostgreSQL DSN is read alone" in result.stderr


def test_the_json_says_which_unit_was_used(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    millis = 1793534400000  # 2026-11-01T12:00:00Z
    path.write_bytes(jsonl(record("a", timestamp=millis), record("b", timestamp=millis // 1000)))
    result = check("--health", str(path), "-V", "1.0.0", "--json")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)["reports"]
    assert reports["timestampUnit"] == "mixed"
    assert "read both as seconds and as milliseconds" in result.stderr
    result = check("--health", str(path), "-V", "1.0.0", "--json", "--timestamp-unit", "ms")
    assert json.loads(result.stdout)["reports"]["timestampUnit"] == "ms"


def test_the_health_section_maps_csv_columns(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text(
        "health: {columns: {nodeId: host, cpu: load}}\n"
        "tiers:\n  all: {beacon_tier: 0, size_budget: 500MB}\n"
    )
    path = tmp_path / "h.csv"
    path.write_text(
        "host,version,timestamp,load,memory,errors\na,1.0.0,2026-11-01T12:00:00Z,99,1,0\n"
    )
    result = check("--health", str(path), "-V", "1.0.0", "--json")
    assert result.exit_code == 3, result.output
    assert (
        json.loads(result.stdout)["cohorts"][0]["unhealthy"]
        + sum(c["unhealthy"] for c in json.loads(result.stdout)["cohorts"][1:])
        == 1
    )
