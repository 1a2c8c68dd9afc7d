"""The conventions every command shares: exit codes, one-line errors, --debug, --version."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from noderr_deploy import __version__
from noderr_deploy.cli import NoderrGroup, app
from noderr_deploy.errors import (
    BudgetExceeded,
    ChainError,
    ConfigError,
    EngineError,
    ExitCode,
    InputError,
    NoderrError,
)
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
    }


def test_a_named_command_runs_in_an_app_holding_only_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from noderr_deploy.cli import _only

    slim = _only(["--debug", "cohort", "node-1"])
    assert slim is not app
    assert [c.name for c in slim.registered_commands] == ["cohort"]
    assert slim.registered_groups == []
    assert slim.registered_callback is app.registered_callback
    rollout = _only(["rollout", "status"])
    assert [g.name for g in rollout.registered_groups] == ["rollout"]
    assert rollout.registered_commands == []
    # Root help and options, unknown commands and completion see every command.
    for argv in ([], ["--help"], ["--version"], ["-h", "cohort"], ["cohorts"], ["--debug"]):
        assert _only(argv) is app, argv
    monkeypatch.setenv("_NODERR_COMPLETE", "complete_bash")
    assert _only(["cohort", "x"]) is app


def test_the_slim_app_behaves_as_the_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from noderr_deploy.cli import _only

    monkeypatch.chdir(REPO)
    for argv in (["cohort", "node-1", "--json"], ["cohort", "--help"], ["cohort", "--canary", "x"]):
        full = runner.invoke(app, argv)
        slim = runner.invoke(_only(argv), argv)
        assert (slim.exit_code, slim.stdout, slim.stderr) == (
            full.exit_code,
            full.stdout,
            full.stderr,
        ), argv


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
