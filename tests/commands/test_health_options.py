"""The health options of ``rollback check`` and ``rollout status --health``: one definition,
the same rules, the same messages. What is decided before any chain is read is tested here
for both commands (tiers.yaml points the chain at a closed port: reaching it would be exit
1); the counts of both commands over one export are compared in
tests/integration/test_rollout_health.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from noderr_deploy.cli import app

AT = "2026-11-01T12:30:00Z"
ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ENV = {
    name: None
    for name in (
        "NODERR_CONFIG",
        "NODERR_HEALTH_DSN",
        "NODERR_TIMESTAMP_UNIT",
        "NODERR_MAX_AGE",
        "NODERR_MAX_SKEW",
        "NODERR_RPC_URL",
        "NODERR_BEACON_ADDRESS",
        "NODERR_CHAIN_ID",
    )
}
CSV_HEADER = "node_id,version,timestamp,cpu_usage,memory_usage,errors"


def tiers_yaml(folder: Path, health: str = "{}") -> Path:
    path = folder / "tiers.yaml"
    path.write_text(
        f"health: {health}\n"
        "beacon: {rpc_url: 'http://127.0.0.1:1/closed', address: '" + ADDRESS + "'}\n"
        "tiers:\n  oracle: {beacon_tier: 2, size_budget: 1GB}\n"
    )
    return path


def rollback_check(config: Path, *args: str) -> Result:
    argv = ["rollback", "check", "-c", str(config), "--at", AT, "-V", "1.0.0", *args]
    return CliRunner().invoke(app, argv, env=ENV)


def rollout_status(config: Path, *args: str) -> Result:
    argv = ["rollout", "status", "-q", "-c", str(config), "--at", AT, *args]
    return CliRunner().invoke(app, argv, env=ENV)


COMMANDS = [rollback_check]
Command = Callable[..., Result]


def csv_export(folder: Path, header: str = CSV_HEADER) -> Path:
    path = folder / "h.csv"
    path.write_text(f"{header}\na,1.0.0,2026-11-01T12:00:00Z,10,10,0\n")
    return path


def error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    return str(result.stderr.splitlines()[0])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("cpu=cpu_usage,cpu=load", "cpu is mapped twice (to 'cpu_usage' and to 'load')"),
        ("nodeId=node_id,NODEID=host", "nodeId is mapped twice (to 'node_id' and to 'host')"),
        ("cpu=cpu_usage,memory=CPU_USAGE", "cpu and memory are both mapped to column"),
        ("cpus=cpu_usage", "unknown field 'cpus'"),
        ("=cpu_usage", "empty field name"),
        ("cpu=", "cpu: the name must be non-empty text"),
    ],
)
def test_a_columns_flag_that_cannot_be_meant_is_exit_2(
    command: Command, tmp_path: Path, columns: str, message: str
) -> None:
    config = tiers_yaml(tmp_path)
    line = error_line(command(config, "--health", str(csv_export(tmp_path)), "--columns", columns))
    assert line.startswith("error: --columns: "), line
    assert message in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_repeated_columns_flag_repeating_a_field_is_exit_2(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path)
    export = csv_export(tmp_path)
    result = command(config, "--health", str(export), "--columns", "cpu=a", "--columns", "cpu=b")
    assert error_line(result) == (
        "error: --columns: cpu is mapped twice (to 'a' and to 'b'): give each field once"
    )


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("health", "where", "message"),
    [
        ("{columns: {nodeid: a, nodeId: b}}", ":1:19:", "nodeId is mapped twice"),
        ("{columns: {cpu: a, memory: A}}", ":1:19:", "cpu and memory are both mapped"),
        ("{columns: {'': a}}", ":1:19:", "empty field name"),
        ("{columns: {cpu: ''}}", ":1:19:", "cpu: the name must be non-empty"),
    ],
)
def test_a_health_columns_section_that_cannot_be_meant_names_file_line_and_column(
    command: Command, tmp_path: Path, health: str, where: str, message: str
) -> None:
    config = tiers_yaml(tmp_path, health)
    result = command(config, "--health", str(csv_export(tmp_path)))
    assert result.exit_code == 2, result.output
    assert f"{config}{where} health.columns: " in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mapped_column_the_header_lacks_names_the_file_the_header_and_the_flag(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path)
    export = csv_export(tmp_path)
    result = command(config, "--health", str(export), "--columns", "uptime=up")
    assert error_line(result) == (
        f"error: {export}:1: CSV header has no column 'up' (uptime, from --columns);"
        " the header: 'node_id', 'version', 'timestamp', 'cpu_usage', 'memory_usage', 'errors'"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mapped_column_the_header_lacks_names_tiers_yaml(
    command: Command, tmp_path: Path
) -> None:
    config = tiers_yaml(tmp_path, "{columns: {cpu: load}}")
    export = csv_export(tmp_path)
    line = error_line(command(config, "--health", str(export)))
    assert line.startswith(
        f"error: {export}:1: CSV header has no column 'load' (cpu, from health.columns in"
        " tiers.yaml); "
    )
    # The flag overrides the file field by field: then nothing is missing.
    assert command(config, "--health", str(export), "--columns", "cpu=cpu_usage").exit_code in (
        0,
        1,  # rollout status: the chain (a closed port) comes after the read
    )
