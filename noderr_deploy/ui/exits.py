"""How a run ends: every way a command can fail, told as one ``error:`` line on stderr
and ended with its :class:`~noderr_deploy.errors.ExitCode`.

Every expected failure is a :class:`~noderr_deploy.errors.NoderrError`; :class:`NoderrGroup`
(the root group's base) is the only place that turns one into its message and exit code,
as it does for bad flags (click's message on one line, with where to look), Ctrl-C,
SIGTERM, a reader that left, and a bug (``internal error``, its traceback with --debug).
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
from typing import Any

import click
from typer.core import TyperGroup

from noderr_deploy.environment import Environment, routed_stdout
from noderr_deploy.errors import ExitCode, NoderrError, Terminated
from noderr_deploy.text import one_line


def say(text: str, env: Environment) -> None:
    """Write one line on the run's stderr, whatever happens to it."""
    # Nowhere left to say it (`2>&-`, a full disk): the exit code still tells.
    with contextlib.suppress(OSError, ValueError, AttributeError, NoderrError):
        env.stderr.write(text + "\n")
        env.stderr.flush()


def report(exc: NoderrError, env: Environment) -> None:
    """Print an expected failure: one ``error:`` line, then any detail lines."""
    say(f"error: {one_line(exc.message, MESSAGE_LIMIT)}", env)
    for line in exc.details:
        say(f"  {one_line(line, MESSAGE_LIMIT)}", env)
    if env.debug:
        traceback.print_exception(exc, file=env.stderr)


def _one_line(message: str) -> str:
    # click and typer each append their own "Did you mean ...?" to an unknown command.
    text = " ".join(message.split())
    return re.sub(r"(Did you mean [^?]+\?)(?: \1)+", r"\1", text)


MESSAGE_LIMIT = 2000
"""Characters of an error message kept on its one line (a server may send 200 kB)."""


class NoderrGroup(TyperGroup):
    """A group that maps every way a command can end onto :class:`ExitCode`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Terminated:
            say("error: terminated", _environment(ctx))
            raise click.exceptions.Exit(ExitCode.TERMINATED) from None
        except KeyboardInterrupt:
            # typer would turn Ctrl-C into a silent exit 130; say what happened.
            say("error: interrupted", _environment(ctx))
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
            with routed_stdout(env):
                result = super().main(
                    args, prog_name or "noderr", complete_var, False, obj=env, **extra
                )
            if isinstance(result, int) and not isinstance(result, bool):
                code = result  # click returns an Exit's code in non-standalone mode
            env.stdout.flush()  # a full disk shows here, not after the exit code is chosen
        except NoderrError as exc:
            report(exc, env)
            code = exc.exit_code
        except click.exceptions.Abort:
            say("error: interrupted", env)
            code = ExitCode.INTERRUPTED
        except click.exceptions.NoArgsIsHelpError as exc:
            # `noderr` or `noderr rollout` alone: the help, on stdout as for --help.
            code = ExitCode.USAGE
            try:
                # The error made the help already: rich drew it on a terminal (the text is
                # then empty), plain text is in the message. Asking again drew it twice.
                if exc.message:
                    env.stdout.write(exc.message + "\n")
                env.stdout.flush()
            except NoderrError as failure:  # `noderr >&-`: the help had nowhere to go
                report(failure, env)
                code = failure.exit_code
        except click.ClickException as exc:
            # Bad flags and arguments: click's message on one line, with where to look.
            message = _one_line(exc.format_message())
            if message:  # empty when the group printed its help for a missing command
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                hint = _dash_hint(exc, args) or hint
                say(f"error: {one_line(message, MESSAGE_LIMIT)}{hint}", env)
            code = ExitCode.USAGE
        except Terminated:
            say("error: terminated", env)
            code = ExitCode.TERMINATED
        except KeyboardInterrupt:
            say("error: interrupted", env)
            code = ExitCode.INTERRUPTED
        except BrokenPipeError:
            # `noderr cohort --file ids | head`: the reader left; that is not our failure.
            code = ExitCode.OK
        except Exception as exc:
            if env.debug:
                traceback.print_exc(file=env.stderr)
            say(
                f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}"
                " (this is a bug; re-run with --debug for the traceback)",
                env,
            )
            code = ExitCode.FAILURE
        sys.exit(code)


def _dash_hint(exc: click.ClickException, args: Any) -> str | None:
    """For an unknown option where the command takes arguments (``noderr cohort -node-1``):
    the word was probably an id, and ``--`` is how to pass one that starts with '-'."""
    ctx = getattr(exc, "ctx", None)
    if not isinstance(exc, click.NoSuchOption) or ctx is None or exc.possibilities:
        return None  # a near miss of a real option: click's "Did you mean" says it
    if not any(isinstance(p, click.Argument) for p in ctx.command.params):
        return None
    words = [str(a) for a in (sys.argv[1:] if args is None else args)]
    word = next((w for w in words if w.startswith(exc.option_name)), exc.option_name)
    if word.startswith("--") or len(word) < 3:
        return None  # `--bogus` or `-x` reads as a mistyped option, not as an id
    # Terminal control in a word typed at us is not echoed back.
    import shlex  # only for this hint

    quoted = shlex.quote(word) if word.isprintable() else "ID"
    return (
        f" (an argument that starts with '-' goes after '--':"
        f" {ctx.command_path} -- {quoted}; see '{ctx.command_path} --help')"
    )


def _environment(ctx: click.Context) -> Environment:
    # The run's, from the context; a group run outside NoderrGroup.main has none yet.
    env = ctx.find_root().obj
    return env if isinstance(env, Environment) else Environment.from_process()
