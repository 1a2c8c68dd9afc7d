"""Options every command shares, defined once.

Precedence of every setting: flag > environment variable > tiers.yaml > built-in default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from noderr_deploy.environment import Environment

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config

# Command modules are imported when the CLI starts, so they and this module import
# nothing heavy at module level: config (pydantic) is imported by the commands that
# need it, when they run.


class GivenPath(click.Path):
    """A path flag's type: click's, but an empty value is refused. ``Path('')`` is the
    working directory, never what ``--out ''`` (an unset variable in a script) meant."""

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True) -> None:
        super().__init__(file_okay=file_okay, dir_okay=dir_okay, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "":
            self.fail("an empty path", param, ctx)
        return super().convert(value, param, ctx)


class GivenText(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3
    """A text flag's type where empty text means nothing: refused, rather than read as
    "not given" (``--registry ''`` fell back to tiers.yaml's, unsaid)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "":
            self.fail("an empty value", param, ctx)
        return value


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="NODERR_CONFIG",
        show_envvar=True,
        help="tiers.yaml to use. Default: ./tiers.yaml, else the nearest one in a parent folder.",
        click_type=GivenPath(dir_okay=False),
    ),
]

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Write only JSON to stdout (camelCase keys); logs go to stderr."),
]

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress or log lines on stderr.")
]


def complete_tier(ctx: typer.Context, param: object, incomplete: str) -> list[str]:
    """Tab completion of tier names: the tiers of the tiers.yaml this command would read
    (``--config`` typed so far, ``NODERR_CONFIG``, else discovery), or the beacon's three
    slots without one. Reads only the file's top-level ``tiers`` keys, with libyaml, and
    never fails: a broken file completes nothing."""
    names = ["validator", "guardian", "oracle"]
    try:
        from noderr_deploy.config.locate import find_config

        explicit = ctx.params.get("config") or environment(ctx).environ.get("NODERR_CONFIG")
        path = find_config(explicit)
        if path is not None:
            import yaml

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            document = yaml.load(path.read_bytes(), Loader=loader)
            tiers = document.get("tiers") if isinstance(document, dict) else None
            names = [str(n) for n in tiers] if isinstance(tiers, dict) else []
    except Exception:
        return []
    folded = incomplete.casefold()
    # Only names tiers.yaml can validly hold: a candidate goes into the shell's completion
    # machinery (zsh's script runs `eval` on it), so a key with a quote, `$(...)`, a
    # newline or an escape sequence is never offered, whatever the file says.
    return [n for n in names if TIER_NAME.fullmatch(n) and n.casefold().startswith(folded)]


TIER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
"""A valid tier name (config.schema's rule, kept here so completion need not import it)."""


def environment(ctx: typer.Context) -> Environment:
    """This run's :class:`Environment`, built once by the CLI (or here, the first time a
    command runs outside it)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Environment):
        root.obj = Environment.from_process()
    return root.obj


PLAN_OPTIONS = {
    # parameter name -> (tiers.yaml key, flag, environment variable)
    "canary": ("canary_percentage", "--canary", "NODERR_CANARY_PERCENTAGE"),
    "cohort_size": ("cohort_percentage", "--cohort-size", "NODERR_COHORT_PERCENTAGE"),
    "delay_hours": ("cohort_delay_hours", "--delay-hours", "NODERR_COHORT_DELAY_HOURS"),
}


def _source(ctx: click.Context, name: str) -> str | None:
    source = ctx.get_parameter_source(name)
    # Compared by name: newer typers bring their own copy of click and its enum.
    return source.name if source is not None else None


def on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` was given on the command line in this run."""
    return _source(ctx, name) == "COMMANDLINE"


def from_environment(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` took its value from its environment variable."""
    return _source(ctx, name) == "ENVIRONMENT"


def given_flags(ctx: click.Context, flags: Mapping[str, str]) -> list[str]:
    """The flags of ``flags`` (parameter name -> flag) given on the command line, in order:
    what a run that would ignore them refuses (from the environment they are ambient)."""
    return [flag for name, flag in flags.items() if on_command_line(ctx, name)]


def given_as(ctx: click.Context, name: str) -> str:
    """How the option ``name`` got its value in this run, for a message: its environment
    variable when the value came from there, else its long flag."""
    option = next(p for p in ctx.command.params if p.name == name)
    if from_environment(ctx, name) and isinstance(option.envvar, str):
        return option.envvar
    return max(option.opts, key=len)


def plan_flag_names(ctx: typer.Context) -> dict[str, str]:
    """How each rollout plan value was given to this command, by tiers.yaml key: its
    environment variable when it came from there, else its flag (for messages, and to tell
    command-line flags from ambient settings)."""
    present = {p.name for p in ctx.command.params}
    return {
        key: given_as(ctx, param) if param in present else flag
        for param, (key, flag, _) in PLAN_OPTIONS.items()
    }


def load(config: Path | None) -> Config:
    """The tiers.yaml named by ``--config``/``NODERR_CONFIG`` or discovered from the cwd."""
    from noderr_deploy.config.locate import discover_config
    from noderr_deploy.config.schema import load_config

    return load_config(discover_config(config))


def load_optional(config: Path | None) -> Config | None:
    """Like :func:`load`, but no tiers.yaml anywhere is fine when none was asked for.

    A file that was named explicitly, or that exists but is invalid, is still an error.
    """
    from noderr_deploy.config.locate import find_config

    path = find_config(config)
    if path is None:
        return None
    from noderr_deploy.config.schema import load_config

    return load_config(path)
