"""Shell completion: ``--install-completion`` and ``--show-completion`` (which take the
shell), and the completion protocol of typer's scripts.

typer's modules for it are imported only when one of them runs.
"""

from __future__ import annotations

from typing import Any

import click


def register_protocols() -> None:
    """Register typer's completion classes (the protocol its scripts speak): typer's own
    completion options do it, and :func:`completion_options` replaces them."""
    from typer._completion_classes import completion_init

    completion_init()


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


def completion_options() -> list[click.Parameter]:
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
