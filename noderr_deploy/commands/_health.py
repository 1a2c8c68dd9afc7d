"""The health options of ``rollback check`` and ``rollout status --health``, defined once.

Both commands declare the same typer options (the ``*Option`` types below) and turn them
into one :class:`~noderr_deploy.rollback.reading.HealthRequest` with :meth:`HealthFlags.request`,
which the shared core read takes (:func:`noderr_deploy.rollback.reading.read_health`): one
spelling, one help text, one rule for each. Precedence: flag > environment variable >
tiers.yaml ``health`` > default. Nothing heavy is imported at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from noderr_deploy.commands._options import given_as, given_flags
from noderr_deploy.errors import UsageError

if TYPE_CHECKING:
    from noderr_deploy.environment import Environment
    from noderr_deploy.rollback.reading import HealthRequest

PANEL = "Health"

HealthFilesArgument = Annotated[
    list[str] | None,  # text: typer would read '' as Path('.'), the working directory
    typer.Argument(
        metavar="[FILE]...",
        help="More health exports, after --health (so that '--health exports/*.jsonl' reads"
        " them all).",
        show_default=False,
    ),
]

HealthOption = Annotated[
    list[str] | None,
    typer.Option(
        "--health",
        "-H",
        metavar="FILE|DSN",
        help="Health export: .jsonl/.ndjson, .json (array), .csv, each optionally .gz;"
        " a directory (every file inside); '-' for stdin. Repeatable. Or a PostgreSQL"
        " DSN (postgresql://user@host:5432/db) to read the telemetry table directly.",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

MaxAgeOption = Annotated[
    str | None,
    typer.Option(
        "--max-age",
        metavar="DURATION",
        envvar="NODERR_MAX_AGE",
        show_envvar=True,
        help="Leave out (and count) nodes whose latest report is older than this before the"
        " moment evaluated, e.g. 15m, 2h. Default: no limit.",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

MaxSkewOption = Annotated[
    str | None,
    typer.Option(
        "--max-skew",
        metavar="DURATION",
        envvar="NODERR_MAX_SKEW",
        show_envvar=True,
        help="Reports stamped later than the moment evaluated plus this are not used"
        " (counted as 'future'): a node's clock may be this far ahead. Default: 5m.",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

ColumnsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--columns",
        metavar="FIELD=COLUMN,...",
        help="Column names of a CSV export or table, e.g. nodeId=host,cpu=load (over"
        " tiers.yaml health.columns; each field once). node_telemetry's names are known"
        " already.",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

TimestampUnitOption = Annotated[
    str | None,
    typer.Option(
        "--timestamp-unit",
        metavar="s|ms|auto",
        envvar="NODERR_TIMESTAMP_UNIT",
        show_envvar=True,
        help="Numeric timestamps are unix seconds or milliseconds; auto: milliseconds"
        " when too large for seconds of a date before 3000. Default: tiers.yaml"
        " health.timestamp_unit, else auto.",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

IncompleteOption = Annotated[
    str,
    typer.Option(
        "--incomplete",
        metavar="complete|latest",
        help="A report missing cpu, memory or errors is never judged. complete: keep a"
        " node's latest complete report over it; latest: keep it (the node is then"
        " counted incomplete).",
        rich_help_panel=PANEL,
    ),
]

SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="TIME|DURATION",
        help="With a DSN: read only rows from this time on (ISO 8601, unix seconds, or"
        " a duration before the moment evaluated, such as 2h).",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]

SkipInvalidOption = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Leave malformed records and lost data out (counted, first reasons on stderr)"
        " instead of failing with exit 2.",
        rich_help_panel=PANEL,
    ),
]

# Parameter names of the options above (but --health and its files), with their flags.
_FLAGS = {
    "max_age": "--max-age",
    "max_skew": "--max-skew",
    "columns": "--columns",
    "timestamp_unit": "--timestamp-unit",
    "incomplete": "--incomplete",
    "since": "--since",
    "skip_invalid": "--skip-invalid",
}


@dataclass(frozen=True)
class HealthFlags:
    """The health options as typer parsed them (text), before they mean anything."""

    health: list[str] | None
    files: list[str] | None
    max_age: str | None
    max_skew: str | None
    columns: list[str] | None
    timestamp_unit: str | None
    incomplete: str
    since: str | None
    skip_invalid: bool
    given: Mapping[str, str] = field(default_factory=dict)
    """How each option was given (:func:`given_as`), by parameter name: its flag, or its
    environment variable when the value came from there."""

    @classmethod
    def of(cls, ctx: click.Context) -> HealthFlags:
        """The health options of the command ``ctx`` parsed (its parameters are named as
        these fields), and how each was given."""
        values = {name: ctx.params[name] for name in (*_FLAGS, "health", "files")}
        return cls(**values, given={name: given_as(ctx, name) for name in _FLAGS})

    def _flag(self, name: str) -> str:
        return self.given.get(name, _FLAGS[name])

    def sources(self, env: Environment | None = None) -> tuple[str | Path, ...]:
        """``--health`` then the extra paths; without either, ``$NODERR_HEALTH_DSN`` when
        ``env`` is given (``rollback check``; never echoed: it may hold a password)."""
        if "" in (self.health or []):
            raise UsageError("--health '': an empty path (give a file, a directory, '-' or a DSN)")
        if "" in (self.files or []):
            raise UsageError("an empty path after --health (give a file or a directory)")
        sources: tuple[str | Path, ...] = (
            *(self.health or []),
            *(Path(name) for name in self.files or []),
        )
        if not sources and env is not None and env.environ.get("NODERR_HEALTH_DSN"):
            from noderr_deploy.health.postgres import is_dsn

            dsn = env.environ["NODERR_HEALTH_DSN"]
            if not is_dsn(dsn):
                raise UsageError(
                    "NODERR_HEALTH_DSN must be a postgresql:// or postgres:// URI"
                    " (e.g. postgresql://user@host:5432/db)"
                )
            sources = (dsn,)
        return sources

    def check_unused(self, ctx: typer.Context) -> None:
        """Without health inputs (``rollout status`` without ``--health``): a health option
        on the command line is a mistake; from the environment it is ambient, unused."""
        if self.files and not self.health:
            raise UsageError(
                f"unexpected argument {str(self.files[0])!r}: health exports follow --health FILE"
            )
        given = given_flags(ctx, _FLAGS)
        if given:
            raise UsageError(f"{given[0]} applies to health exports: give --health FILE too")

    def request(
        self,
        sources: tuple[str | Path, ...],
        *,
        at: datetime,
        config: Path | None,
        timeout: float | None,
    ) -> HealthRequest:
        """The options as a :class:`HealthRequest` for ``sources``, evaluated at ``at``
        (each bad value a :class:`UsageError` naming its flag)."""
        from noderr_deploy.health.columns import ColumnError, parse_columns
        from noderr_deploy.health.incomplete import parse_policy
        from noderr_deploy.health.stamps import parse_unit
        from noderr_deploy.rollback.reading import DEFAULT_MAX_SKEW, HealthRequest

        try:
            columns = parse_columns(self.columns) if self.columns else None
        except ColumnError as exc:
            raise UsageError(f"{self._flag('columns')}: {exc}") from None
        try:
            unit = parse_unit(self.timestamp_unit) if self.timestamp_unit is not None else None
        except ValueError as exc:
            raise UsageError(f"{self._flag('timestamp_unit')}: {exc}") from None
        try:
            policy = parse_policy(self.incomplete)
        except ValueError as exc:
            raise UsageError(f"{self._flag('incomplete')}: {exc}") from None
        skew = duration(self._flag("max_skew"), self.max_skew)
        return HealthRequest(
            sources=sources,
            at=at,
            max_age=duration(self._flag("max_age"), self.max_age),
            max_skew=DEFAULT_MAX_SKEW if skew is None else skew,
            skip_invalid=self.skip_invalid,
            config=config,
            columns=columns,
            timestamp_unit=unit,
            incomplete=policy,
            since=since(self.since, at, self._flag("since")),
            timeout=timeout,
        )


def duration(flag: str, text: str | None) -> timedelta | None:
    """A duration flag's value, or None when not given."""
    from noderr_deploy.units import parse_duration

    try:
        return parse_duration(text) if text is not None else None
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def since(text: str | None, moment: datetime, flag: str = "--since") -> datetime | None:
    """``--since``: a time, or a duration before ``moment``."""
    from noderr_deploy.units import parse_duration, parse_time

    if text is None:
        return None
    try:
        return moment - parse_duration(text)
    except (ValueError, OverflowError):
        pass
    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc} (or a duration such as 2h)") from None
