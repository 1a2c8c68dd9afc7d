"""The ``noderr`` command: wiring of the command modules and the one error handler.

Every expected failure is a :class:`~noderr_deploy.errors.NoderrError`; this module is
the only place that turns one into an ``error: ...`` line and an exit code. Command
modules import nothing heavy at module level (no web3, no docker), so commands that
only hash start fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from noderr_deploy import __version__
from noderr_deploy.environment import Environment
from noderr_deploy.errors import ExitCode, NoderrError


def _stderr_line(text: str, env: Environment | None = None) -> None:
    stream = env.stderr if env is not None else sys.stderr
    stream.write(text + "\n")
    stream.flush()


def report(exc: NoderrError, env: Environment) -> None:
    """Print an expected failure: one ``error:`` line, then any detail lines."""
    _stderr_line(f"error: {exc.message}", env)
    for line in exc.details:
        _stderr_line(f"  {line}", env)
    if env.debug:
        traceback.print_exception(exc, file=env.stderr)


def _one_line(message: str) -> str:
    # click and typer each append their own "Did you mean ...?" to an unknown command.
    text = " ".join(message.split())
    return re.sub(r"(Did you mean [^?]+\?)(?: \1)+", r"\1", text)


class NoderrGroup(TyperGroup):
    """The root group: maps every way a command can end onto :class:`ExitCode`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # typer would turn Ctrl-C into a silent exit 130; say what happened.
            env = ctx.find_root().obj
            _stderr_line("error: interrupted", env if isinstance(env, Environment) else None)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        code: int = ExitCode.OK
        # One Environment per run, built from the streams of this moment (a test runner
        # swaps them), handed to the commands through click's context object.
        env = extra.pop("obj", None)
        if not isinstance(env, Environment):
            env = Environment.from_process()
        try:
            result = super().main(
                args, prog_name or "noderr", complete_var, False, obj=env, **extra
            )
            if isinstance(result, int) and not isinstance(result, bool):
                code = result  # click returns an Exit's code in non-standalone mode
        except NoderrError as exc:
            report(exc, env)
            code = exc.exit_code
        except click.exceptions.Abort:
            _stderr_line("error: interrupted", env)
            code = ExitCode.INTERRUPTED
        except click.ClickException as exc:
            # Bad flags and arguments: click's message on one line, with where to look.
            message = _one_line(exc.format_message())
            if message:  # empty when the group printed its help for a missing command
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                _stderr_line(f"error: {message}{hint}", env)
            code = ExitCode.USAGE
        except KeyboardInterrupt:
            _stderr_line("error: interrupted", env)
            code = ExitCode.INTERRUPTED
        except BrokenPipeError:
            # `noderr cohort --file ids | head`: the reader left; that is not our failure.
            code = ExitCode.OK
        except Exception as exc:
            if env.debug:
                traceback.print_exc(file=env.stderr)
            _stderr_line(
                f"error: internal error: {type(exc).__name__}: {exc}"
                " (this is a bug; re-run with --debug for the traceback)",
                env,
            )
            code = ExitCode.FAILURE
        sys.exit(code)


def _new_app() -> typer.Typer:
    return typer.Typer(
        cls=NoderrGroup,
        name="noderr",
        help="Ship Noderr node software in stages: tier images, cohorts, the VersionBeacon,"
        " rollbacks.",
        epilog="Exit codes: 0 ok, 1 runtime failure, 2 usage or input error, 3 negative verdict,"
        " 4 inconclusive (with --require-data), 130 interrupted.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
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
            help="Show tracebacks of failures. [env: NODERR_DEBUG]",
        ),
    ] = False,
) -> None:
    """Ship Noderr node software in stages: tier images, cohorts, the VersionBeacon, rollbacks."""
    env = ctx.find_root().obj
    if isinstance(env, Environment):
        env.debug = debug


def _register() -> None:
    from noderr_deploy.commands import (
        build,
        cohort,
        publish,
        rollback,
        rollback_propose,
        rollout,
        tiers,
        version,
    )

    app.command("build")(build.build)
    app.command("tiers")(tiers.tiers)
    app.command("cohort")(cohort.cohort)
    app.add_typer(rollout.app, name="rollout")
    app.command("version")(version.version)
    app.command("publish")(publish.publish)
    rollback.app.command("propose")(rollback_propose.propose)
    app.add_typer(rollback.app, name="rollback")


_register()


# Root options that take no value: they may stand before the command name.
_ROOT_FLAGS = frozenset({"--debug"})


def _only(argv: list[str]) -> typer.Typer:
    """The app to run for ``argv``: just the invoked command when that is unambiguous.

    typer turns every registered command into click objects before it parses anything,
    evaluating each signature's annotations: with all commands that is a good part of a
    start-up budget that `noderr cohort <id>` must keep close to a bare typer app. A run
    that names one known command gets an app holding only that command (same root
    options, same group class, so the same parsing, help and errors); anything else (root
    --help, --version, completion, an unknown command) gets the full app.
    """
    if any(name.endswith("_COMPLETE") for name in os.environ):
        return app
    args = list(argv)
    while args and args[0] in _ROOT_FLAGS:
        args.pop(0)
    if not args:
        return app
    name = args[0]
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    slim = _new_app()
    slim.registered_callback = app.registered_callback
    slim.registered_commands = commands
    slim.registered_groups = groups
    return slim


def main() -> None:
    """Console-script entry point (also ``python -m noderr_deploy``)."""
    try:
        _only(sys.argv[1:])(prog_name="noderr")
    except SystemExit as done:
        _exit(done.code)
        raise
    _exit(ExitCode.OK)


def _exit(code: object) -> None:
    """End the process with ``code`` once the output is flushed, skipping the interpreter's
    teardown: freeing every object and module one by one is work nobody waits for (about
    70 ms after `rollback check` has read a million health reports). Not when a thread
    is still running (it may have work to finish) or for an exit with a message: then
    this returns and the caller exits as usual."""
    import threading

    if not isinstance(code, int) or threading.active_count() > 1:
        return
    for stream in (sys.stdout, sys.stderr):
        # The reader may have left (`| head`), or the stream may be closed.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
