"""Tier names: one case rule with or without a tiers.yaml, and tab completion of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from noderr_deploy.commands._chain import select_tiers
from noderr_deploy.config.schema import load_config
from noderr_deploy.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = "import sys; from noderr_deploy.cli import main; sys.argv[0] = 'noderr'; main()"


def complete(line: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}
    environ.pop("NODERR_CONFIG", None)
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT],
        cwd=cwd,
        env={
            **environ,
            **(env or {}),
            "_NODERR_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split(" ")) - 1),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.split()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("noderr cohort node-1 --tier ", ["all", "oracle", "guardian"]),
        ("noderr build --tier o", ["oracle"]),
        ("noderr build -t G", ["guardian"]),
        ("noderr rollout status --tier a", ["all"]),
        ("noderr version node-1 --tier gu", ["guardian"]),
        ("noderr rollback check --tier ", ["all", "oracle", "guardian"]),
    ],
)
def test_tiers_of_the_tiers_yaml_complete(line: str, expected: list[str]) -> None:
    assert complete(line, ROOT) == expected


def test_completion_follows_config_and_falls_back_to_beacon_slots(tmp_path: Path) -> None:
    assert complete("noderr cohort x --tier ", tmp_path) == ["validator", "guardian", "oracle"]
    other = tmp_path / "other.yaml"
    # Only names the schema accepts are offered ("Core" is not one: names are lowercase).
    other.write_text("tiers:\n  edge: {}\n  core: {}\n  Core: {}\n")
    assert complete(f"noderr build --config {other} --tier ", tmp_path) == ["edge", "core"]
    assert complete("noderr build --tier C", tmp_path, {"NODERR_CONFIG": str(other)}) == ["core"]
    (tmp_path / "tiers.yaml").write_text("tiers: [unclosed\n")
    assert complete("noderr build --tier ", tmp_path) == []  # broken file: nothing, no trace


def test_one_case_rule_with_and_without_a_tiers_yaml() -> None:
    config = load_config(ROOT / "tiers.yaml")
    assert config.tier("ORACLE").name == "oracle"
    assert config.tier("Guardian").name == "guardian"
    assert select_tiers(config, ["ALL"]) == [("all", 0)]
    assert select_tiers(None, ["ORACLE"]) == [("oracle", 2)]
    with pytest.raises(ConfigError, match="unknown tier 'oracles'"):
        config.tier("oracles")
    with pytest.raises(UsageError, match="unknown tier 'oracles'"):
        select_tiers(None, ["oracles"])


def test_tiers_check_json_prints_a_result_object(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from noderr_deploy.cli import app

    good = CliRunner().invoke(app, ["tiers", "--check", "--json", "-c", str(ROOT / "tiers.yaml")])
    assert good.exit_code == 0, good.stderr
    assert json.loads(good.stdout) == {
        "config": str(ROOT / "tiers.yaml"),
        "valid": True,
        "tierCount": 3,
        "problems": [],
    }
    assert good.stderr == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers: {a: {beacon_tier: 9}}\n")
    result = CliRunner().invoke(app, ["tiers", "--check", "--json", "-c", str(bad)])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert document["config"] == str(bad)
    assert (
        document["problems"][1]
        == f"{bad}:1:12: tiers.a: no size_budget, neither its own nor inherited"
    )
    assert result.stderr.startswith(f"error: {bad}: 1 problem in the configuration\n")
    missing = CliRunner().invoke(app, ["tiers", "--check", "--json", "-c", str(tmp_path / "no")])
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["config"] is None


def test_one_tier_is_said_in_the_singular(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from noderr_deploy.cli import app

    (tmp_path / "packages" / "p").mkdir(parents=True)
    (tmp_path / "packages" / "p" / "package.json").write_text("{}")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    config = tmp_path / "tiers.yaml"
    config.write_text(
        "workspace: .\ndockerfile: Dockerfile\n"
        "tiers: {all: {beacon_tier: 0, size_budget: 1MB, packages: [p]}}\n"
    )
    result = CliRunner().invoke(app, ["tiers", "--check", "-c", str(config)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"{config}: 1 tier, all package directories present,"
        " every Dockerfile's sources in its context"
    )


def test_every_command_takes_quiet_and_config() -> None:
    # Every command reads tiers.yaml or prints log lines on stderr (most do both).
    import click
    import typer

    from noderr_deploy.cli import app

    def leaves(
        command: click.Command, path: str, ctx: click.Context
    ) -> list[tuple[str, click.Command]]:
        if not isinstance(command, click.Group):
            return [(path.strip(), command)]
        out = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            out += leaves(sub, f"{path} {name}", click.Context(sub, parent=ctx, info_name=name))
        return out

    root = typer.main.get_command(app)
    found = leaves(root, "", click.Context(root, info_name="noderr"))
    assert len(found) >= 6
    for path, command in found:
        flags = {opt for p in command.params for opt in p.opts}
        assert {"--quiet", "-q", "--config", "-c"} <= flags, path


def test_tiers_check_quiet_says_nothing() -> None:
    from typer.testing import CliRunner

    from noderr_deploy.cli import app

    result = CliRunner().invoke(app, ["tiers", "--check", "-q", "-c", str(ROOT / "tiers.yaml")])
    assert result.exit_code == 0
    assert result.stderr == ""


def test_tiers_check_json_problems_are_the_error_lines_as_shown(tmp_path: Path) -> None:
    # A hostile review: a file name's ESC stood raw in problems[] (values in it were
    # escaped), for `jq -r '.problems[]'` to write to a terminal.
    import json

    from typer.testing import CliRunner

    from noderr_deploy.cli import app

    bad = tmp_path / "b\x1b.yaml"
    bad.write_text("tiers: {a: {beacon_tier: 9}}\n")
    result = CliRunner().invoke(app, ["tiers", "--check", "--json", "-c", str(bad)])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["config"] == str(bad)  # data: exact
    assert all("\x1b" not in line for line in document["problems"])
    assert document["problems"][0] == result.stderr.splitlines()[0].removeprefix("error: ")
