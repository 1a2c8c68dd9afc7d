"""The ``noderr`` command: wiring of the command modules and the one error handler.

Every expected failure is a :class:`~noderr_deploy.errors.NoderrError`; this module is
the only place that turns one into an ``error: ...`` line and an exit code. Command
modules import nothing heavy at module level (no web3, no docker), so commands that
only hash start fast.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import importlib
import os
import re
import signal
import sys
import traceback
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NamedTuple

import click
import typer
from typer.core import TyperGroup

from noderr_deploy import __version__
from noderr_deploy.environment import Environment, GuardedStream, isatty
from noderr_deploy.errors import ExitCode, NoderrError, Terminated
from noderr_deploy.ui.text import one_line


def _stderr_line(text: str, env: Environment | None = None) -> None:
    stream = env.stderr if env is not None else sys.stderr
    # Nowhere left to say it (`2>&-`, a full disk): the exit code still tells.
    with contextlib.suppress(OSError, ValueError, AttributeError, NoderrError):
        stream.write(text + "\n")
        stream.flush()


def report(exc: NoderrError, env: Environment) -> None:
    """Print an expected failure: one ``error:`` line, then any detail lines."""
    _stderr_line(f"error: {one_line(exc.message, MESSAGE_LIMIT)}", env)
    for line in exc.details:
        _stderr_line(f"  {one_line(line, MESSAGE_LIMIT)}", env)
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
            env = ctx.find_root().obj
            _stderr_line("error: terminated", env if isinstance(env, Environment) else None)
            raise click.exceptions.Exit(ExitCode.TERMINATED) from None
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
            with _stdout_guarded(env):
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
            _stderr_line("error: interrupted", env)
            code = ExitCode.INTERRUPTED
        except click.exceptions.NoArgsIsHelpError as exc:
            # `noderr` or `noderr rollout` alone: the help, on stdout as for --help.
            code = ExitCode.USAGE
            try:
                env.stdout.write(exc.ctx.get_help() + "\n")
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
                _stderr_line(f"error: {one_line(message, MESSAGE_LIMIT)}{hint}", env)
            code = ExitCode.USAGE
        except Terminated:
            _stderr_line("error: terminated", env)
            code = ExitCode.TERMINATED
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
                f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}"
                " (this is a bug; re-run with --debug for the traceback)",
                env,
            )
            code = ExitCode.FAILURE
        sys.exit(code)


@contextlib.contextmanager
def _stdout_guarded(env: Environment) -> Iterator[None]:
    """Route what click and typer print themselves (``--help``, ``--version``, completion
    scripts, usage text) through the run's guarded stdout, so that a closed stdout
    (``>&-``) or a full disk (``>/dev/full``) is one ``error:`` line and exit 1 there too,
    not a silent exit 0 (Python drops writes to a closed stdout) or an internal error."""
    if not isinstance(env.stdout, GuardedStream) or sys.stdout is env.stdout:
        yield
        return
    saved = sys.stdout
    sys.stdout = env.stdout
    try:
        yield
    finally:
        sys.stdout = saved


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


class Lazy(NamedTuple):
    """A command loaded only when it runs: where it lives, and its one-line help."""

    module: str
    attribute: str
    help: str


class Group(NamedTuple):
    """A group whose subcommands load only when they run: its ``--help`` needs nothing
    but this."""

    commands: dict[str, Lazy]
    epilog: str
    help: str


class LazyGroup(TyperGroup):
    """A group that imports a command's module only when that command runs (click's
    lazy-loading group pattern): its ``--help`` lists the commands from ``table``."""

    def __init__(self, *, table: Mapping[str, Lazy | Group], **attrs: Any) -> None:
        super().__init__(**attrs)
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.table)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.table:
            return None
        if cmd_name not in self.commands:
            command = load(cmd_name, self.table[cmd_name])
            if not _to_terminal():
                _plain_help(command)
            self.commands[cmd_name] = command
        return self.commands[cmd_name]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            matches = difflib.get_close_matches(args[0], list(self.table)) if args else []
            if matches and "Did you mean" not in exc.message:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table: listing the commands imports none of them.
        rows = [(name, entry.help) for name, entry in self.table.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if _to_terminal():
            super().format_help(ctx, formatter)
        else:
            click.Group.format_help(self, ctx, formatter)


class CommandTable(NoderrGroup, LazyGroup):
    """The root group: the commands of :data:`COMMANDS`, and completion options that take
    the shell."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(table=COMMANDS, **attrs)
        self.params.extend(_completion_options())

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: str | None = None
    ) -> None:
        # typer's completion classes (the protocol its scripts speak) are registered by
        # typer's own completion options, which this app replaces: register them here.
        from typer._completion_classes import completion_init

        completion_init()
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


def _debug_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        env = ctx.find_root().obj
        if isinstance(env, Environment):
            env.debug = True


def _with_debug(command: click.Command) -> click.Command:
    """Accept ``--debug`` after the command's name too (``noderr cohort --debug x``)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_debug(sub)
    elif not any(p.name == "debug" for p in command.params):
        command.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                callback=_debug_flag,
                help="Show tracebacks of failures (as the root --debug).",
            )
        )
    return command


def _shell(value: str | None) -> str:
    from typer._completion_shared import Shells, _get_shell_name

    shell = value or _get_shell_name() or ""
    known = [s.value for s in Shells]
    if shell not in known:
        detected = f"'{shell}' " if shell else ""
        raise click.UsageError(
            f"cannot complete for shell {detected}(give one of {', '.join(known)})"
        )
    return shell


def _show_completion(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import get_completion_script

    prog = ctx.find_root().info_name or "noderr"
    var = "_{}_COMPLETE".format(prog.replace("-", "_").upper())
    click.echo(get_completion_script(prog_name=prog, complete_var=var, shell=_shell(value)))
    ctx.exit(0)


def _install_completion(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import install

    shell, path = install(shell=_shell(value), prog_name=ctx.find_root().info_name or "noderr")
    click.echo(f"{shell} completion installed in {path}")
    click.echo("Completion will take effect once you restart the terminal")
    ctx.exit(0)


def _shell_option(flag: str, callback: Any, help_text: str) -> click.Option:
    # An option whose value, the shell, may be left out (then: the current shell).
    return click.Option(
        [flag],
        metavar="[SHELL]",
        is_flag=False,
        flag_value="",
        default=None,
        expose_value=False,
        is_eager=True,
        callback=callback,
        help=help_text,
    )


def _completion_options() -> list[click.Parameter]:
    # typer's own pair are flags: `--show-completion zsh` printed the script of the shell
    # it detected and ignored "zsh". These take the shell as an optional value.
    return [
        _shell_option(
            "--install-completion",
            _install_completion,
            "Install completion for SHELL (bash, zsh, fish, powershell, pwsh;"
            " default: the current shell).",
        ),
        _shell_option(
            "--show-completion",
            _show_completion,
            "Show the completion script for SHELL (default: the current shell).",
        ),
    ]


def load_command(name: str) -> click.Command:
    """The click command ``name`` (a key of :data:`COMMANDS`), importing its module."""
    return load(name, COMMANDS[name])


def load(name: str, entry: Lazy | Group) -> click.Command:
    """The click command of a table's ``entry``: a group's own command imports nothing
    (its subcommands load as they run); a command's imports its module."""
    if isinstance(entry, Group):
        return LazyGroup(
            name=name,
            table=entry.commands,
            help=entry.help,
            epilog=entry.epilog,
            no_args_is_help=True,
        )
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    holder = typer.Typer(add_completion=False)
    holder.command(name)(target)
    command = typer.main.get_command(holder)
    command.name = name
    return _with_debug(_ascii_numbers(command))


def _ascii_numbers(command: click.Command) -> click.Command:
    """Make every integer and float option and argument of ``command`` (and of its
    subcommands) refuse a value that is not ASCII, from the command line or the
    environment alike: click converts with ``int()``/``float()``, which read U+FF15 (a
    full-width 5) as 5. This is the one place the rule is applied, so that a new numeric
    flag has it too."""
    for sub in getattr(command, "commands", {}).values():
        _ascii_numbers(sub)
    for param in command.params:
        inner = getattr(param.type, "inner", None)  # commands._chain's chain-only values
        if isinstance(inner, click.ParamType) and _is_number(inner):
            param.type.inner = _ascii_type(inner)  # type: ignore[attr-defined]
        elif _is_number(param.type):
            param.type = _ascii_type(param.type)
    return command


def _is_number(kind: click.ParamType[Any]) -> bool:
    return isinstance(kind, click.types.IntParamType | click.types.FloatParamType)


_ASCII_CLASSES: dict[type, type] = {}


def _ascii_type(kind: click.ParamType[Any]) -> click.ParamType[Any]:
    """A copy of ``kind`` (click.INT is shared) of a subclass that checks the text first:
    a subclass, so that click still shows a range's bounds in ``--help``."""
    base: Any = type(kind)
    if getattr(base, "_ascii_only", False):
        return kind
    if base not in _ASCII_CLASSES:

        def convert(
            self: click.ParamType[Any], value: Any, param: click.Parameter | None, ctx: Any
        ) -> Any:
            if isinstance(value, str):
                from noderr_deploy.units import check_ascii_number

                try:
                    check_ascii_number(value)
                except ValueError as exc:
                    self.fail(str(exc), param, ctx)
            return base.convert(self, value, param, ctx)

        _ASCII_CLASSES[base] = type(
            f"Ascii{base.__name__}", (base,), {"convert": convert, "_ascii_only": True}
        )
    copied: click.ParamType[Any] = copy.copy(kind)
    copied.__class__ = _ASCII_CLASSES[base]
    return copied


def _to_terminal() -> bool:
    return isatty(sys.stdout)


def _plain_help(command: click.Command) -> None:
    # typer draws help with rich, which costs more start-up than the rest of `--help`;
    # on a pipe plain text reads as well (and diffs better).
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for child in getattr(command, "commands", {}).values():
        _plain_help(child)


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
