"""What every command's parameters get as it loads, applied in this one place so that a
new command or flag has it too: ``--debug`` after the command's name, and numbers in ASCII
digits only."""

from __future__ import annotations

import copy
from typing import Any

import click

from noderr_deploy.environment import Environment


def _debug_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        env = ctx.find_root().obj
        if isinstance(env, Environment):
            env.debug = True


def with_debug(command: click.Command) -> click.Command:
    """Accept ``--debug`` after the command's name too (``noderr cohort --debug x``)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_debug(sub)
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


def ascii_numbers(command: click.Command) -> click.Command:
    """Make every integer and float option and argument of ``command`` (and of its
    subcommands) refuse a value that is not ASCII, from the command line or the
    environment alike: click converts with ``int()``/``float()``, which read U+FF15 (a
    full-width 5) as 5. This is the one place the rule is applied, so that a new numeric
    flag has it too."""
    for sub in getattr(command, "commands", {}).values():
        ascii_numbers(sub)
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
