"""``noderr version`` option handling, without a chain (see tests/integration for it)."""

from __future__ import annotations

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
