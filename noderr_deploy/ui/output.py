"""Output modes shared by every command.

- Results go to stdout; errors, warnings, logs and progress go to stderr.
- ``--json``: stdout carries nothing but one JSON document (camelCase keys).
- On a terminal, results are rich tables; when piped, plain aligned text with no
  colour or box drawing. ``NO_COLOR`` is honoured (rich reads it).

rich is imported only when a terminal needs it: commands that print plain text
or JSON stay cheap to start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from noderr_deploy.text import printable, sanitized

if TYPE_CHECKING:
    from rich.console import Console

    from noderr_deploy.environment import Environment

Cell = str | int | float | bool | tuple[str, ...] | None
"""A table cell; a tuple is one cell of several lines on a terminal (comma-separated when
piped), each line escaped: a newline inside outside text is never a line break."""


def to_json(document: Any, *, indent: int | None = 2) -> str:
    """The one JSON encoder of every ``--json`` document: a result document
    (:class:`noderr_deploy.results.Document`), or lists and dicts of them, as stable JSON
    with camelCase keys in field order; ``indent=None`` writes it on one line (JSON Lines).
    Strings are written exactly (non-ASCII as is, only what JSON must escape escaped).

    Plain dicts and lists are accepted too: maps whose keys are data live inside
    documents, and ``build``'s documents are still dicts (until they become structs).
    """
    import json  # here, not at the top: only commands that print JSON pay for these two

    import msgspec

    text = json.dumps(msgspec.to_builtins(document), indent=indent, ensure_ascii=False)
    # A lone surrogate (a file name's byte the locale could not decode) as its JSON escape:
    # the document stays UTF-8, and Python reads the exact string back (os.fsencode).
    return _SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _cell_text(value: Cell, encoding: str | None = None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(printable(line, encoding) for line in value)
    return printable(str(value), encoding)


def _rich_cell_text(value: Cell, encoding: str | None) -> str:
    if isinstance(value, tuple):
        return "\n".join(printable(line, encoding) for line in value)
    return _cell_text(value, encoding)


def plain_table(
    columns: Sequence[str], rows: Sequence[Sequence[Cell]], encoding: str | None = None
) -> str:
    """Render rows as whitespace-aligned text: easy for humans, ``awk`` and ``cut``. Cells
    are data: control characters in them are escaped, so no cell can forge a row."""
    texts = [[_cell_text(c, encoding) for c in row] for row in rows]
    header = [printable(c, encoding) for c in columns]  # a column may be named by a file
    widths = [len(c) for c in header]
    for row in texts:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [header, *texts]:
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
        lines.append(line.rstrip())
    return "\n".join(lines)


class Output:
    """Where a command writes: built by the CLI from the real streams, by tests from buffers.

    ``colour`` False honours ``NO_COLOR``: rich draws no colour, even on a terminal. (A
    plain class: the objects of a run's start-up are not dataclasses, whose creation
    costs ``noderr cohort <id>`` more than its own work.)
    """

    def __init__(
        self, stdout: IO[str], stderr: IO[str], *, quiet: bool = False, colour: bool = True
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.quiet = quiet
        self.colour = colour
        self._consoles: dict[str, Console] = {}

    @classmethod
    def of(cls, env: Environment, *, quiet: bool | None = None) -> Output:
        """The output of a run: its streams, its colour choice, its ``--quiet``."""
        return cls(
            stdout=env.stdout,
            stderr=env.stderr,
            quiet=env.quiet if quiet is None else quiet,
            colour=env.colour,
        )

    @property
    def pretty(self) -> bool:
        """True when results go to a terminal, so rich formatting is wanted."""
        return _isatty(self.stdout)

    @property
    def stderr_is_tty(self) -> bool:
        return _isatty(self.stderr)

    def console(self, which: str = "stdout") -> Console:
        """A rich console on stdout or stderr (imports rich on first use)."""
        if which not in self._consoles:
            from rich.console import Console

            stream = self.stdout if which == "stdout" else self.stderr
            self._consoles[which] = Console(
                file=stream,
                highlight=False,
                no_color=not self.colour or None,
                # A message on stderr is one line, however narrow the terminal (it wraps
                # it for the eye; rich would write newlines into it): soft wrap there.
                soft_wrap=which == "stderr" or not _isatty(stream),
            )
        return self._consoles[which]

    # -- results (stdout) -------------------------------------------------------------------
    def json(self, document: Any, *, indent: int | None = 2) -> None:
        """Write one JSON document to stdout (and nothing else); ``indent=None``: on one
        line (JSON Lines)."""
        self.machine(to_json(document, indent=indent) + "\n")

    def machine(self, text: str) -> None:
        """Write machine output (JSON, JSON Lines, CSV) to stdout as UTF-8, whatever the
        locale's encoding: a Latin-1 terminal would otherwise get ``é`` as one Latin-1
        byte, and a reader of JSON bytes that are not UTF-8 loses the exact string."""
        encoding = (getattr(self.stdout, "encoding", None) or "utf-8").lower()
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is None or encoding.replace("-", "").replace("_", "") == "utf8":
            self.stdout.write(text)
        else:
            self.stdout.flush()
            buffer.write(text.encode("utf-8", "surrogateescape"))
        self.stdout.flush()

    def text(self, text: str = "", *, style: str | None = None) -> None:
        """Write one line to stdout, exactly as text: never markup, control characters
        escaped; on a terminal drawn in ``style`` (e.g. ``"bold red"``). The line is ours:
        a value from outside in it is :func:`~noderr_deploy.text.printable` already."""
        line = sanitized(text, _encoding(self.stdout))
        if self.pretty:
            from rich.text import Text

            self.console().print(Text(line, style=style or ""))
        else:
            self.stdout.write(line + "\n")

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        title: str | None = None,
        styles: Sequence[str | None] | None = None,
    ) -> None:
        """A result table: rich on a terminal, aligned plain text when piped."""
        if not self.pretty:
            if title:  # it may hold a file name: escaped like the cells
                self.stdout.write(printable(title, _encoding(self.stdout)) + "\n")
            self.stdout.write(plain_table(columns, rows, _encoding(self.stdout)) + "\n")
            return
        from rich.table import Table
        from rich.text import Text

        encoding = _encoding(self.stdout)
        table = Table(
            title=Text(printable(title, encoding)) if title else None,
            title_justify="left",
            header_style="bold",
        )
        for col in columns:
            table.add_column(Text(printable(col, encoding)))
        for i, row in enumerate(rows):
            style = styles[i] if styles else None
            table.add_row(*(Text(_rich_cell_text(c, encoding)) for c in row), style=style)
        self.console().print(table)

    # -- diagnostics (stderr) ---------------------------------------------------------------
    def info(self, message: str) -> None:
        """A log line on stderr; silenced by ``--quiet``."""
        if not self.quiet:
            self._err(message)

    def warn(self, message: str) -> None:
        """A warning on stderr; never silenced."""
        self._err(message, label="warning", colour="yellow")

    def error(self, message: str) -> None:
        self._err(message, label="error", colour="red")

    def _err(self, text: str, *, label: str = "", colour: str = "") -> None:
        line = sanitized(text, _encoding(self.stderr))
        if self.stderr_is_tty:
            from rich.text import Text

            message = Text.assemble((f"{label}: ", colour), line) if label else Text(line)
            self.console("stderr").print(message)
        else:
            prefix = f"{label}: " if label else ""
            self.stderr.write(prefix + line + "\n")
            self.stderr.flush()

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on a terminal's stderr while slow work runs; a log line otherwise."""
        if self.quiet:
            yield
            return
        if self.stderr_is_tty:
            from rich.text import Text

            with self.console("stderr").status(Text(sanitized(message))):
                yield
        else:
            self.info(message)
            yield


def _encoding(stream: IO[str]) -> str | None:
    """The stream's encoding, for escaping what it cannot write (None: anything goes)."""
    encoding = getattr(stream, "encoding", None)
    return encoding if isinstance(encoding, str) else None
