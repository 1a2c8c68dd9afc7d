"""``noderr rollout status`` option handling, without a chain (see tests/integration for it)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from noderr_deploy.cli import app

ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
AT = "2026-11-01T12:30:00Z"
CLEAN_ENV = {
    "NODERR_RPC_URL": None,
    "NODERR_BEACON_ADDRESS": None,
    "NODERR_CHAIN_ID": None,
    "NODERR_RPC_TIMEOUT": None,
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tiers_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(
        "beacon: {rpc_url: 'http://127.0.0.1:1/from-file', address: '" + ADDRESS + "'}\n"
        "tiers:\n  validator: {beacon_tier: 0, size_budget: 1GB}\n"
    )
    return path


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(app, ["rollout", "status", *args, "-q"], env={**CLEAN_ENV, **env})


def test_help_names_env_vars_and_examples() -> None:
    result = CliRunner().invoke(app, ["rollout", "status", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("NODERR_RPC_URL", "NODERR_BEACON_ADDRESS", "NODERR_CHAIN_ID",
                 "NODERR_RPC_TIMEOUT", "Examples", "--block", "--at", "--tier"):  # fmt: skip
        assert text in result.stdout


def test_no_endpoint(tmp_path: Path) -> None:
    empty = tmp_path / "tiers.yaml"
    empty.write_text("tiers:\n  validator: {beacon_tier: 0, size_budget: 1GB}\n")
    result = run("-c", str(empty))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: no RPC endpoint: pass --rpc-url or set NODERR_RPC_URL or beacon.rpc_url in"
        f" {empty}\n"
    )


def test_no_beacon_address(tmp_path: Path) -> None:
    empty = tmp_path / "tiers.yaml"
    empty.write_text("tiers:\n  validator: {beacon_tier: 0, size_budget: 1GB}\n")
    result = run("--rpc-url", "http://127.0.0.1:1", "-c", str(empty))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no VersionBeacon address: pass --beacon or set NODERR_BEACON_ADDRESS or"
        f" beacon.address in {empty}\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--beacon", "0x1234"],
         "malformed --beacon address '0x1234': expected 0x followed by 40 hex digits"),
        (["--block", "pending"],
         "--block 'pending': use latest, safe, finalized, earliest or a block number"),
        (["--at", "yesterday"],
         "--at: not a time: 'yesterday' (use ISO 8601 like 2026-01-31T12:00:00Z, or unix seconds)"),
        (["--tier", "nope"], "unknown tier 'nope' in {config} (known tiers: validator)"),
        (["--rpc-url", "ws://127.0.0.1:8546"],
         "--rpc-url: the RPC URL's scheme 'ws' is not http or https"
         " (websocket and IPC endpoints are not supported)"),
        (["--rpc-url", "http://127.0.0.1:8545/key\n"],
         "--rpc-url: the RPC URL contains whitespace or a control character (a trailing newline?);"
         " the URL is not shown, as it may hold a key"),
        (["--timeout", "inf"], "--timeout inf: give a number of seconds above 0 and at most 3600"),
        (["--timeout", "nan"], "--timeout nan: give a number of seconds above 0 and at most 3600"),
        (["--timeout", "1e308"],
         "--timeout 1e+308: give a number of seconds above 0 and at most 3600"),
        (["--timeout", "0"], "--timeout 0: give a number of seconds above 0 and at most 3600"),
        (["--timeout", "-3"], "--timeout -3: give a number of seconds above 0 and at most 3600"),
        (["--block", str(2**64)],
         f"--block '{2**64}': beyond any chain's range (at most 2^64 - 1)"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str], message: str, tiers_yaml: Path) -> None:
    result = run(*args, "-c", str(tiers_yaml))
    assert result.exit_code == 2
    assert result.stderr == f"error: {message.format(config=tiers_yaml)}\n"


def test_flag_beats_env_beats_tiers_yaml(tiers_yaml: Path) -> None:
    flag, env = closed_port(), closed_port()
    by_flag = run("-c", str(tiers_yaml), "--rpc-url", f"http://127.0.0.1:{flag}",
                  NODERR_RPC_URL=f"http://127.0.0.1:{env}")  # fmt: skip
    by_env = run("-c", str(tiers_yaml), NODERR_RPC_URL=f"http://127.0.0.1:{env}")
    by_file = run("-c", str(tiers_yaml))
    for result, url in (
        (by_flag, f"http://127.0.0.1:{flag}"),
        (by_env, f"http://127.0.0.1:{env}"),
        (by_file, "http://127.0.0.1:1/***"),
    ):
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: RPC {url} unreachable (reading the chain id and block):"
            " connection refused after 3 attempt(s)\n"
        )


def test_timeout_env_var_is_validated(tiers_yaml: Path) -> None:
    result = run("-c", str(tiers_yaml), NODERR_RPC_TIMEOUT="soon")
    assert result.exit_code == 2
    assert "NODERR_RPC_TIMEOUT='soon' (needed to read the chain): not a valid" in result.stderr


# -- --health: what is decided before the chain is read (the rest: tests/integration) --------


def test_help_names_the_health_options() -> None:
    result = CliRunner().invoke(app, ["rollout", "status", "--help"], env={"COLUMNS": "200"})
    for text in ("--health", "--max-age", "--skip-invalid", "NODERR_MAX_AGE", "success rate"):
        assert text in result.stdout


def test_health_files_need_the_flag(tiers_yaml: Path, tmp_path: Path) -> None:
    result = run("-c", str(tiers_yaml), str(tmp_path / "a.jsonl"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: unexpected argument '{tmp_path / 'a.jsonl'}': health exports follow"
        " --health FILE\n"
    )


def test_max_age_needs_health_and_a_duration(tiers_yaml: Path, tmp_path: Path) -> None:
    result = run("-c", str(tiers_yaml), "--max-age", "15m")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --max-age applies to health exports: give --health FILE too\n",
    )
    export = tmp_path / "h.jsonl"
    export.write_text("{}\n")
    result = run("-c", str(tiers_yaml), "--health", str(export), "--max-age", "soon")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --max-age: ")


def test_malformed_health_input_fails_before_the_chain_is_read_with_at(
    tiers_yaml: Path, tmp_path: Path
) -> None:
    export = tmp_path / "h.jsonl"
    export.write_text('{"nodeId": "n1"}\n')
    # tiers.yaml points at a closed port: reaching the chain would be exit 1.
    result = run("-c", str(tiers_yaml), "--health", str(export), "--at", AT)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 1 malformed health record (use --skip-invalid to leave them out)"
    assert lines[1].startswith(f"  {export}:1: ")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = run("-c", str(tiers_yaml), "--health", str(empty), "--at", AT)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: no health reports in {empty}: the input is empty\n",
    )


def test_without_at_the_health_inputs_are_read_at_the_block_time_after_the_chain(
    tiers_yaml: Path, tmp_path: Path
) -> None:
    # The future horizon and --max-age are measured from the block's time, which only the
    # chain tells: the content is read after it (its flags are checked before).
    export = tmp_path / "h.jsonl"
    export.write_text('{"nodeId": "n1"}\n')
    result = run("-c", str(tiers_yaml), "--health", str(export))
    assert result.exit_code == 1, result.output
    result = run("-c", str(tiers_yaml), "--health", str(export), "--columns", "cpu=a,cpu=b")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --columns: cpu is mapped twice")


def test_ambient_health_variables_are_not_an_error_without_health(tiers_yaml: Path) -> None:
    # NODERR_MAX_AGE exported for `rollback check` must not break a plain status (which
    # then reaches the closed port: exit 1, not a usage error).
    result = run("-c", str(tiers_yaml), NODERR_MAX_AGE="15m", NODERR_MAX_SKEW="1m")
    assert result.exit_code == 1, result.output
    for flag in (["--incomplete", "latest"], ["--skip-invalid"], ["--since", "1h"]):
        result = run("-c", str(tiers_yaml), *flag)
        assert (result.exit_code, result.stderr) == (
            2,
            f"error: {flag[0]} applies to health exports: give --health FILE too\n",
        )
