"""The conventions every command shares: exit codes, one-line errors, --debug, --version."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from noderr_deploy import __version__
from noderr_deploy.cli import app
from noderr_deploy.errors import (
    BudgetExceeded,
    ChainError,
    ConfigError,
    EngineError,
    ExitCode,
    InputError,
    NoderrError,
)
from noderr_deploy.ui.exits import NoderrGroup
from tests.conftest import REPO

runner = CliRunner()

probe = typer.Typer(cls=NoderrGroup)


@probe.callback()
def _root() -> None:
    """A probe app using the same group as `noderr`."""


@probe.command()
def fail(kind: str) -> None:
    errors: dict[str, NoderrError] = {
        "config": ConfigError("tiers.yaml:3:5: tiers.all: unknown key"),
        "input": InputError("ids.txt:4: empty line", details=["ids.txt:9: invalid UTF-8"]),
        "engine": EngineError("cannot reach the Docker engine at unix:///var/run/docker.sock"),
        "chain": ChainError("no contract at 0xabc on chain 84532"),
        "budget": BudgetExceeded("image is 2.00 GB, budget 1.50 GB"),
    }
    if kind == "interrupt":
        raise KeyboardInterrupt
    if kind == "bug":
        raise ZeroDivisionError("division by zero")
    raise errors[kind]


@probe.command()
def verdict() -> None:
    raise typer.Exit(ExitCode.NEGATIVE)


@pytest.mark.parametrize(
    ("kind", "code", "stderr"),
    [
        ("config", 2, "error: tiers.yaml:3:5: tiers.all: unknown key\n"),
        ("input", 2, "error: ids.txt:4: empty line\n  ids.txt:9: invalid UTF-8\n"),
        ("engine", 1, "error: cannot reach the Docker engine at unix:///var/run/docker.sock\n"),
        ("chain", 1, "error: no contract at 0xabc on chain 84532\n"),
        ("budget", 3, "error: image is 2.00 GB, budget 1.50 GB\n"),
        ("interrupt", 130, "error: interrupted\n"),
        (
            "bug",
            1,
            "error: internal error: ZeroDivisionError: division by zero"
            " (this is a bug; re-run with --debug for the traceback)\n",
        ),
    ],
)
def test_each_failure_is_one_line_and_its_exit_code(kind: str, code: int, stderr: str) -> None:
    result = runner.invoke(probe, ["fail", kind])
    assert result.exit_code == code
    assert result.stderr == stderr
    assert result.stdout == ""


def test_verdict_exit_code_passes_through() -> None:
    result = runner.invoke(probe, ["verdict"])
    assert result.exit_code == ExitCode.NEGATIVE


def test_bad_flag_is_a_usage_error_on_one_line() -> None:
    result = runner.invoke(app, ["tiers", "--no-such-flag"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "error: No such option '--no-such-flag'. (see 'noderr tiers --help')\n"


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["deploy"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error: No such command 'deploy'.")
    assert result.stderr.count("\n") == 1


def test_debug_adds_the_traceback() -> None:
    result = runner.invoke(app, ["--debug", "tiers", "-c", "/nonexistent/tiers.yaml"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith(
        "error: /nonexistent/tiers.yaml: configuration file not found\n"
    )
    assert "Traceback (most recent call last)" in result.stderr


def test_without_debug_there_is_no_traceback() -> None:
    result = runner.invoke(app, ["tiers", "-c", "/nonexistent/tiers.yaml"])
    assert result.stderr == "error: /nonexistent/tiers.yaml: configuration file not found\n"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"noderr {__version__}\n"


def test_help_lists_every_command_with_a_description() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        assert command.get_short_help_str(), f"{name} has no help text"
        assert name in result.stdout


def test_console_script_and_module_entry_points() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert (module.returncode, module.stdout) == (0, f"noderr {__version__}\n")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["cohort", "--file", "-", "--format", "csv", "-q"], 0),  # a large output, piped
        (["cohort", "--file", "-", "--bogus"], 2),
        (["rollback", "check", "--health", "-", "--version", "1.0.0", "--json"], 4),
    ],
)
def test_the_entry_point_flushes_everything_before_its_fast_exit(
    argv: list[str], code: int
) -> None:
    """main() ends with os._exit(): whatever was buffered must be written first, with the
    command's own exit code."""
    ids = "".join(f"node-{i}\n" for i in range(200_000))
    if argv[0] == "rollback":
        argv = [*argv, "--require-data"]
        ids = '{"nodeId":"n","version":"0.9.0","metrics":{"uptime":1,"cpu":1,"memory":1,'
        ids += '"errors":0},"timestamp":"2026-11-01T12:00:00Z"}\n'
    done = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", *argv],
        input=ids,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == code, done.stderr
    if argv[0] == "cohort" and code == 0:
        lines = done.stdout.splitlines()
        assert len(lines) == 200_001 and lines[-1].startswith("node-199999,")
        assert done.stderr == ""
    elif code == 2:
        assert done.stdout == ""
        assert done.stderr == "error: No such option '--bogus'. (see 'noderr cohort --help')\n"
    else:
        assert json.loads(done.stdout)["verdict"] == "inconclusive"


def test_exit_code_values_are_the_documented_contract() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "FAILURE": 1,
        "USAGE": 2,
        "NEGATIVE": 3,
        "INCONCLUSIVE": 4,
        "INTERRUPTED": 130,
        "TERMINATED": 143,
    }


def test_a_command_module_is_imported_only_when_it_runs() -> None:
    # `noderr --help` lists every command from the table; `noderr cohort` loads cohort alone.
    code = (
        "import sys\n"
        "from noderr_deploy.cli import app\n"
        "try:\n    app(args=sys.argv[1:], prog_name='noderr')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('noderr_deploy.commands.')),"
        " file=sys.stderr)\n"
    )

    def loaded(*argv: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
        )
        return eval(done.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]

    assert loaded("--help") == []
    others = {f"noderr_deploy.commands.{n}" for n in ("build", "tiers", "rollout", "rollback")}
    cohort = loaded("cohort", "node-1")
    assert "noderr_deploy.commands.cohort" in cohort
    assert not others & set(cohort)
    assert "noderr_deploy.commands.build" not in loaded("rollback", "--help")


def test_the_command_table_matches_each_command() -> None:
    from noderr_deploy.cli import COMMANDS, load_command

    for name, (_, _, line) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert (command.help or "").splitlines()[0].strip() == line, name


def test_each_group_table_matches_each_subcommand() -> None:
    # A group's --help lists its subcommands from the table: each line must stay the
    # subcommand's own first docstring line.
    from noderr_deploy.cli import COMMANDS
    from noderr_deploy.ui.groups import Group, load

    groups = {name: entry for name, entry in COMMANDS.items() if isinstance(entry, Group)}
    assert set(groups) == {"rollout", "rollback"}
    for group, entry in groups.items():
        for name, sub in entry.commands.items():
            command = load(name, sub)
            assert command.name == name
            assert (command.help or "").splitlines()[0].strip() == sub.help, f"{group} {name}"


def _imports_of(*argv: str) -> tuple[str, list[str], list[str]]:
    """stdout, and the package's command modules and the heavy libraries that the console
    script imported for ``argv``, output piped."""
    code = (
        "import os, sys\n"
        "from noderr_deploy import cli\n"
        "def report(code=0):\n"
        "    mods = sorted(m for m in sys.modules if m.startswith('noderr_deploy.commands.'))\n"
        "    heavy = {'web3', 'docker', 'pydantic', 'rich', 'yaml', 'msgspec', 'requests'}\n"
        "    top = sorted(heavy & {m.split('.')[0] for m in sys.modules})\n"
        "    print(repr((mods, top)), file=sys.stderr)\n"
        "    sys.stderr.flush()\n"
        "    real_exit(code)\n"
        "real_exit, os._exit = os._exit, report\n"
        "sys.argv[0] = 'noderr'\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    report()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    modules, heavy = eval(done.stderr.strip().splitlines()[-1])
    return done.stdout, modules, heavy


@pytest.mark.parametrize("group", ["rollback", "rollout"])
def test_a_group_help_imports_none_of_its_commands(group: str) -> None:
    # `noderr rollback --help` lists check and propose from the table: neither module is
    # compiled or run, nor anything heavy (plain help when piped: no rich).
    stdout, modules, heavy = _imports_of(group, "--help")
    assert stdout.startswith(f"Usage: noderr {group} [OPTIONS] COMMAND [ARGS]...")
    assert (modules, heavy) == ([], [])


def test_a_subcommand_loads_its_own_module_only() -> None:
    _, check, _ = _imports_of("rollback", "check", "--help")
    assert "noderr_deploy.commands.rollback" in check
    assert "noderr_deploy.commands.rollback_propose" not in check
    _, propose, heavy = _imports_of("rollback", "propose", "--help")
    assert "noderr_deploy.commands.rollback_propose" in propose
    assert "noderr_deploy.commands.rollback" not in propose
    assert heavy == []
    _, status, _ = _imports_of("rollout", "status", "--help")
    assert "noderr_deploy.commands.rollout" in status
    assert not {m for m in status if m.startswith("noderr_deploy.commands.rollback")}


def test_root_help_lists_every_command_in_order() -> None:
    from noderr_deploy.cli import COMMANDS

    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listing = result.stdout.split("Commands:")[1].split("\n\n")[0]
    listed = [line.split()[0] for line in listing.splitlines() if line[2:3].isalpha()]
    assert listed == list(COMMANDS)


def test_no_command_prints_the_help_and_no_empty_error() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == ExitCode.USAGE
    assert "Usage: noderr" in result.stdout
    assert result.stderr == ""


def test_a_misspelt_command_gets_one_suggestion() -> None:
    result = runner.invoke(app, ["cohrt"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "error: No such command 'cohrt'. Did you mean 'cohort'? (see 'noderr --help')\n"
    )
