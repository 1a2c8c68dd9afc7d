"""``noderr version`` option handling, without a chain (see tests/integration for it)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from noderr_deploy.cli import app


def test_help() -> None:
    result = CliRunner().invoke(app, ["version", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("NODE_ID", "--tier", "--current", "shouldUpdate", "Examples", "NODERR_RPC_URL"):
        assert text in result.stdout


def test_tier_is_required() -> None:
    result = CliRunner().invoke(app, ["version", "node-1"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Missing option '--tier' / '-t'. (see 'noderr version --help')\n"
    )


def test_unknown_tier_without_tiers_yaml(tmp_path: object) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem():
        result = runner.invoke(
            app,
            ["version", "node-1", "--tier", "watcher"],
            env={"NODERR_CONFIG": None, "NODERR_RPC_URL": "http://127.0.0.1:1"},
        )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown tier 'watcher' (no tiers.yaml; known beacon tiers:"
        " validator, guardian, oracle)\n"
    )


@pytest.mark.parametrize(
    ("node_id", "message"),
    [
        ("", "error: the node id is empty (the deployment engine refuses an empty id)\n"),
        ("node-\udcff", "error: the node id is not valid UTF-8\n"),
    ],
)
def test_node_ids_the_engine_cannot_hash_are_usage_errors(node_id: str, message: str) -> None:
    # Refused before anything is read: the endpoint here is a closed port.
    result = CliRunner().invoke(
        app,
        ["version", node_id, "--tier", "oracle"],
        env={"NODERR_CONFIG": None, "NODERR_RPC_URL": "http://127.0.0.1:1",
             "NODERR_BEACON_ADDRESS": "0x" + "11" * 20},
    )  # fmt: skip
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "inf"], "--timeout inf: give a number of seconds above 0 and at most 3600"),
        (["--timeout", "-1"], "--timeout -1: give a number of seconds above 0 and at most 3600"),
        (["--block", "0x" + "f" * 17], "--block '0xfffffffffffffffff': beyond any chain's range"
         " (at most 2^64 - 1)"),
    ],
)  # fmt: skip
def test_usage_errors_come_before_any_read(args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app,
        ["version", "node-1", "--tier", "oracle", *args],
        env={"NODERR_CONFIG": None, "NODERR_RPC_URL": "http://127.0.0.1:8545/v2/k3yk3yk3y\n",
             "NODERR_BEACON_ADDRESS": "0x" + "11" * 20},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "reading" not in result.stderr
    assert "k3y" not in result.stderr
    assert result.stderr.count("\n") == 1
