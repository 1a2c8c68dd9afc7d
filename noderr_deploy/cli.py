"""The ``noderr`` command: its table of commands, its root options, and the entry point
that runs it as a process (signals, the fast exit).

What the pieces do lives beside it, in :mod:`noderr_deploy.ui`: how a run ends (one
``error:`` line and an exit code, :mod:`~noderr_deploy.ui.exits`), groups that load a
command only when it runs (:mod:`~noderr_deploy.ui.groups`), what every command's
parameters get (:mod:`~noderr_deploy.ui.params`) and shell completion
(:mod:`~noderr_deploy.ui.completion`). Command modules import nothing heavy at module level
(no web3, no docker), so commands that only hash start fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Annotated, Any

import click
import typer

from noderr_deploy import __version__
from noderr_deploy.environment import Environment
from noderr_deploy.errors import ExitCode, Terminated
from noderr_deploy.ui.completion import completion_options, register_protocols
from noderr_deploy.ui.exits import NoderrGroup
from noderr_deploy.ui.groups import Group, Lazy, LazyGroup, load


class CommandTable(NoderrGroup, LazyGroup):
    """The root group: the commands of :data:`COMMANDS`, every way a run ends mapped onto
    its exit code, and completion options that take the shell."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(table=COMMANDS, **attrs)
        self.params.extend(completion_options())

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: str | None = None
    ) -> None:
        register_protocols()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)


# The commands, by name: where each lives, and its one-line help for `noderr --help`.
# A command's module is imported only when that command runs (click's lazy-loading group
# pattern), so `noderr cohort <id>` never pays for building the other commands, and
# `noderr --help` imports none of them; a group's subcommands alike, so that
# `noderr rollback --help` imports neither `check` nor `propose`. tests/test_cli.py checks
# each line against the command's own docstring.
COMMANDS: dict[str, Lazy | Group] = {
    "build": Lazy(
        "noderr_deploy.commands.build",
        "build",
        "Build, label, check and push tier images with the engine at DOCKER_HOST.",
    ),
    "tiers": Lazy(
        "noderr_deploy.commands.tiers",
        "tiers",
        "List the tiers resolved from tiers.yaml (inheritance applied, parents first).",
    ),
    "cohort": Lazy(
        "noderr_deploy.commands.cohort",
        "cohort",
        "Show the rollout cohort of node ids: keccak256(utf8(id)) mod 100.",
    ),
    "version": Lazy(
        "noderr_deploy.commands.version",
        "version",
        "Show the version a node should run, as the deployment engine decides it.",
    ),
    "publish": Lazy(
        "noderr_deploy.commands.publish",
        "publish",
        "Propose publishing a version of a tier on the VersionBeacon (or --send it).",
    ),
    "rollout": Group(
        help="Staged rollouts as the VersionBeacon records them.",
        epilog="Example: noderr rollout status --rpc-url https://sepolia.base.org"
        " --beacon 0xAbC...",
        commands={
            "status": Lazy(
                "noderr_deploy.commands.rollout",
                "status",
                "Show each tier's current version on the VersionBeacon and where its rollout"
                " stands.",
            ),
        },
    ),
    "rollback": Group(
        help="Decide from exported health reports whether a rollout must roll back.",
        epilog="Example: noderr rollback check --health exports/ --version 1.4.2 --max-age 15m",
        commands={
            "check": Lazy(
                "noderr_deploy.commands.rollback",
                "check",
                "Per-cohort rollback verdict from exported health reports.",
            ),
            "propose": Lazy(
                "noderr_deploy.commands.rollback_propose",
                "propose",
                "Propose the emergency rollback of a tier on the VersionBeacon (or --send it).",
            ),
        },
    ),
}


def load_command(name: str) -> click.Command:
    """The click command ``name`` (a key of :data:`COMMANDS`), importing its module."""
    return load(name, COMMANDS[name])


def _new_app() -> typer.Typer:
    return typer.Typer(
        cls=CommandTable,
        name="noderr",
        help="Ship Noderr node software in stages: tier images, cohorts, the VersionBeacon,"
        " rollbacks.",
        epilog="Exit codes: 0 ok, 1 runtime failure, 2 usage or input error, 3 negative verdict,"
        " 4 inconclusive (with --require-data), 130 interrupted, 143 terminated.",
        no_args_is_help=True,
        add_completion=False,  # CommandTable adds its own pair, which take the shell
        pretty_exceptions_enable=False,
        context_settings={
            "help_option_names": ["-h", "--help"],
            "max_content_width": 100,
            # Piped help is as wide as on a wide terminal: examples stay on one line.
            "terminal_width": 100,
        },
    )


app = _new_app()


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"noderr {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="NODERR_DEBUG",
            help="Show tracebacks of failures.",
        ),
    ] = False,
) -> None:
    """Ship Noderr node software in stages: tier images, cohorts, the VersionBeacon, rollbacks."""
    env = ctx.find_root().obj
    if isinstance(env, Environment):
        env.debug = debug


_MAIN_PID = os.getpid()


def _terminate(signum: int, frame: object) -> None:
    if os.getpid() != _MAIN_PID:
        # A forked worker (its parent stops it with SIGTERM): end as the signal would.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated


def main() -> None:
    """Console-script entry point (also ``python -m noderr_deploy``)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="noderr")
    except SystemExit as done:
        _exit(done.code)
        raise
    _exit(ExitCode.OK)


def _exit(code: object) -> None:
    """End the process with ``code`` once the output is flushed, skipping the interpreter's
    teardown: freeing every object and module one by one is work nobody waits for (about
    70 ms after `rollback check` has read a million health reports). Not when a thread
    is still running (it may have work to finish), when a child process has not been
    reaped (the health reader reaps its workers; this makes sure no exit skips that), or
    for an exit with a message: then this returns and the caller exits as usual."""
    import threading

    if not isinstance(code, int) or threading.active_count() > 1 or _has_children():
        return
    for stream in (sys.stdout, sys.stderr):
        # The reader may have left (`| head`), or the stream may be closed.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


def _has_children() -> bool:
    """Whether a child process (a reader's worker) is still there to be reaped: then the
    interpreter's own exit runs, with the clean-ups that wait for it."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return False
    return True  # running (pid 0), or just reaped now: either way, not the fast path
