"""Groups whose commands load only when they run (click's lazy-loading group pattern), from a
table of names, modules and one-line help: listing them (``--help``, completion of a
group's name) imports none of their modules.

On a pipe, help is plain click text: typer draws it with rich, which costs more start-up
than the rest of ``--help``, and plain text reads as well (and diffs better).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click
import typer
from typer.core import TyperGroup

from noderr_deploy.environment import stdout_is_terminal
from noderr_deploy.ui.params import ascii_numbers, with_debug


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
            if not stdout_is_terminal():
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
        if stdout_is_terminal():
            super().format_help(ctx, formatter)
        else:
            click.Group.format_help(self, ctx, formatter)


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
    return with_debug(ascii_numbers(command))


def _plain_help(command: click.Command) -> None:
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for child in getattr(command, "commands", {}).values():
        _plain_help(child)
