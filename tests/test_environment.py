"""The Environment is the only way in for streams, environment variables and the clock."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
import typer

from noderr_deploy.cli import app
from noderr_deploy.environment import Environment
from noderr_deploy.errors import ExitCode

PUBLISHED = "2026-01-01T00:00:00Z"


def run(env: Environment, *args: str) -> int:
    command = typer.main.get_command(app)
    with pytest.raises(SystemExit) as done:
        command.main(list(args), prog_name="noderr", obj=env)
    return int(done.value.code or 0)


def buffers(**kwargs: object) -> tuple[Environment, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Environment.for_test(stdout=out, stderr=err, **kwargs), out, err  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (datetime(2026, 1, 3, 23, 59, tzinfo=UTC), False),  # node-1 is in cohort3: day 3
        (datetime(2026, 1, 4, 0, 0, tzinfo=UTC), True),
    ],
)
def test_the_clock_of_the_environment_is_now(now: datetime, active: bool) -> None:
    env, out, _ = buffers(clock=lambda: now)
    code = run(env, "cohort", "node-1", "--published-at", PUBLISHED, "--json")
    assert code == ExitCode.OK
    assert json.loads(out.getvalue())["active"] is active


def test_stdin_comes_from_the_environment() -> None:
    env, out, _ = buffers(stdin=io.BytesIO(b"node-1\nnode-2\n"))
    assert run(env, "cohort", "-f", "-", "--format", "csv") == ExitCode.OK
    rows = [line.split(",")[:3] for line in out.getvalue().splitlines()[1:]]
    assert rows == [["node-1", "63", "cohort3"], ["node-2", "37", "cohort2"]]


@pytest.mark.parametrize(
    "command",
    [["cohort", "-f", "-", "-q"], ["rollback", "check", "--health", "-", "--version", "1.0.0"]],
)
def test_a_closed_stdin_is_one_error_line(command: list[str]) -> None:
    env, out, err = buffers(stdin=None)
    assert run(env, *command) == ExitCode.FAILURE
    assert out.getvalue() == ""
    assert err.getvalue() == "error: cannot read stdin: it is closed\n"


def test_environment_variables_come_from_the_environment() -> None:
    # NO_COLOR in the Environment's variables, not the process's, decides colour.
    env, _, _ = buffers(environ={"NO_COLOR": "1"})
    assert env.colour is False
    env, _, _ = buffers(environ={})
    assert env.colour is True
