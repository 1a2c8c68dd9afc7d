"""An empty value given to a flag is refused, never read as "not given" or as the working
directory (``Path('')`` is ``.``): ``--save ''`` wrote the images into the working
directory, ``--registry ''`` fell back to tiers.yaml's, ``--rpc-url ''`` said no endpoint
was given. Every command's every path flag is checked, and every text flag where empty
text means nothing."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
import typer
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.commands._options import GivenPath, GivenText


def commands(
    group: click.Group, ctx: click.Context, path: str = ""
) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from commands(command, ctx, f"{path}{name} ")
        else:
            yield f"{path}{name}", command


def every_option() -> list[tuple[str, str, click.ParamType]]:
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root)
    return [
        (name, param.opts[0], param.type)
        for name, command in commands(root, ctx)
        for param in command.params
        if isinstance(param, click.Option) and not param.is_flag and param.opts[0].startswith("--")
    ]


OPTIONS = every_option()
GIVEN = [(name, flag) for name, flag, kind in OPTIONS if isinstance(kind, GivenPath | GivenText)]


def test_every_path_flag_refuses_an_empty_path() -> None:
    paths = [(name, flag) for name, flag, kind in OPTIONS if isinstance(kind, click.Path)]
    assert len(paths) >= 8  # --config of every command, --out, --save, --keystore, ...
    plain = [
        (n, f)
        for n, f, kind in OPTIONS
        if isinstance(kind, click.Path) and not isinstance(kind, GivenPath)
    ]
    assert plain == []


@pytest.mark.parametrize(("command", "flag"), GIVEN)
def test_an_empty_value_is_one_error_line(command: str, flag: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), flag, ""], env={"NODERR_CONFIG": None})
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: Invalid value for '{flag}'"), lines[0]
    assert "an empty" in lines[0]


def test_an_empty_variable_still_means_unset(tmp_path: object) -> None:
    # click ignores an empty environment variable: CI templates set them empty.
    result = CliRunner().invoke(
        app, ["cohort", "node-1", "--json"], env={"NODERR_CONFIG": "", "NODERR_RPC_URL": ""}
    )
    assert result.exit_code == 0, result.stderr
