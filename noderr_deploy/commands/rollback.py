"""``noderr rollback check``: a per-cohort rollback verdict from exported health reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from noderr_deploy.commands._options import ConfigOption, JsonOption, QuietOption, load_optional
from noderr_deploy.errors import ExitCode, UsageError
from noderr_deploy.output import Output

if TYPE_CHECKING:
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.config import Config
    from noderr_deploy.rollback import Thresholds

T = TypeVar("T")

app = typer.Typer(
    name="rollback",
    help="Decide from exported health reports whether a rollout must roll back.",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@dataclass(frozen=True)
class Target:
    """What is evaluated: the version, the tier it belongs to (if known) and the plan."""

    version: str
    tier: str | None
    plan: RolloutPlan


def require_version(version: str | None, tier: str | None) -> str:
    """The version flag, checked before any input is read (no tiers.yaml needed)."""
    if tier is not None:
        raise UsageError(
            "--tier needs the VersionBeacon reader, which this version of noderr does not"
            " have yet: pass the version to evaluate with --version V"
        )
    if version is None:
        raise UsageError("missing --version V (the version under evaluation)")
    if not version.strip():
        raise UsageError("--version must not be empty")
    return version


def resolve_target(
    version: str | None,
    tier: str | None,
    config: Config | None,
    canary: int | None,
    cohort_size: int | None,
) -> Target:
    """The version and rollout plan to evaluate.

    This is the seam for the VersionBeacon: with ``--tier`` the version is the tier's
    current ``versionString`` and the plan its on-chain rollout config. Until the chain
    reader lands, ``--tier`` is a usage error and the version must be given.
    """
    from noderr_deploy.cohorts import RolloutPlan

    version = require_version(version, tier)
    base = config.rollout if config is not None else None
    default = RolloutPlan()
    try:
        plan = RolloutPlan(
            canary_percentage=_first(
                canary, base.canary_percentage if base else None, default.canary_percentage
            ),
            cohort_percentage=_first(
                cohort_size, base.cohort_percentage if base else None, default.cohort_percentage
            ),
            cohort_delay_hours=_first(
                base.cohort_delay_hours if base else None, default.cohort_delay_hours
            ),
        )
    except ValueError as exc:
        raise UsageError(f"invalid rollout plan: {exc}") from exc
    return Target(version=version, tier=None, plan=plan)


def resolve_thresholds(
    config: Config | None,
    unhealthy: float | None,
    error_rate: float | None,
    min_nodes: int | None,
) -> Thresholds:
    """Flags (and their environment variables) over tiers.yaml ``rollback`` over defaults."""
    from noderr_deploy.rollback import Thresholds

    base = config.rollback if config is not None else None
    default = Thresholds()
    return Thresholds(
        unhealthy_ratio=_first(
            unhealthy, base.unhealthy_threshold if base else None, default.unhealthy_ratio
        ),
        error_rate=_first(
            error_rate, base.error_rate_threshold if base else None, default.error_rate
        ),
        min_nodes=_first(min_nodes, base.min_nodes if base else None, default.min_nodes),
    )


def _first(*values: T | None) -> T:
    """The first value that is set: flag (or its env var), then tiers.yaml, then default."""
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the built-in default is always set")


@app.command("check")
def check(  # noqa: PLR0917 - a command takes its options as parameters
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[FILE]...",
            help="More health exports (so that '--health a.jsonl b.jsonl' reads both).",
            show_default=False,
        ),
    ] = None,
    health: Annotated[
        list[Path] | None,
        typer.Option(
            "--health",
            "-H",
            metavar="FILE",
            help="Health export: .jsonl/.ndjson, .json (array), .csv, each optionally .gz;"
            " a directory (every file inside); '-' for stdin. Repeatable.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            "-V",
            help="The version under evaluation (required for now).",
            show_default=False,
        ),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            "--tier",
            help="Evaluate the tier's current on-chain version. Needs the VersionBeacon"
            " reader: not available yet (a usage error); use --version.",
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="Evaluate as of this time (ISO 8601 or unix seconds). Default: now.",
            show_default=False,
        ),
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            metavar="DURATION",
            envvar="NODERR_MAX_AGE",
            show_envvar=True,
            help="Leave out (and count) nodes whose latest report is older than this, e.g."
            " 15m, 2h. Default: no limit.",
            show_default=False,
        ),
    ] = None,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary",
            envvar="NODERR_CANARY_PERCENTAGE",
            show_envvar=True,
            help="Canary size in percent. Default: tiers.yaml rollout, else 5.",
            show_default=False,
        ),
    ] = None,
    cohort_size: Annotated[
        int | None,
        typer.Option(
            "--cohort-size",
            envvar="NODERR_COHORT_PERCENTAGE",
            show_envvar=True,
            help="Cohort size in percent. Default: tiers.yaml rollout, else 25.",
            show_default=False,
        ),
    ] = None,
    unhealthy_threshold: Annotated[
        float | None,
        typer.Option(
            "--unhealthy-threshold",
            envvar="NODERR_UNHEALTHY_THRESHOLD",
            show_envvar=True,
            min=0,
            max=1,
            help="Trigger when a cohort's unhealthy share is above this (0..1)."
            " Default: tiers.yaml rollback, else 0.10.",
            show_default=False,
        ),
    ] = None,
    error_rate_threshold: Annotated[
        float | None,
        typer.Option(
            "--error-rate-threshold",
            envvar="NODERR_ERROR_RATE_THRESHOLD",
            show_envvar=True,
            min=0,
            help="Trigger when a cohort's mean errors per node is above this."
            " Default: tiers.yaml rollback, else 0.05.",
            show_default=False,
        ),
    ] = None,
    min_nodes: Annotated[
        int | None,
        typer.Option(
            "--min-nodes",
            envvar="NODERR_MIN_NODES",
            show_envvar=True,
            min=1,
            help="Fewer nodes make a cohort 'insufficient' (it cannot trigger)."
            " Default: tiers.yaml rollback, else 1.",
            show_default=False,
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Leave malformed records out (counted, first"
            " reasons on stderr) instead of failing with exit 2.",
        ),
    ] = False,
    require_data: Annotated[
        bool,
        typer.Option("--require-data", help="Exit 4 when the verdict is inconclusive."),
    ] = False,
    output_format: Annotated[
        Format,
        typer.Option("--format", "-f", help="table, json, or markdown (for CI job summaries)."),
    ] = Format.table,
    json_: JsonOption = False,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Per-cohort rollback verdict from exported health reports.

    Keeps each node's latest report, leaves out stale nodes and nodes on other versions.

    A cohort triggers when its unhealthy share or mean errors per node is above threshold.

    A cohort with fewer than --min-nodes nodes is 'insufficient': it cannot trigger.

    Exit codes: 0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data;
    2 malformed input or bad flags; 1 runtime failure (chain unreachable).

    Examples:

        noderr rollback check --health exports/ --version 1.4.2

        noderr rollback check --health today.jsonl.gz --version 1.4.2 --max-age 15m --json

        zcat reports.jsonl.gz | noderr rollback check --health - --version 1.4.2 -f markdown
    """
    from noderr_deploy.units import parse_duration, parse_time

    out = Output(quiet=quiet)
    fmt = output_format
    if json_:
        if fmt is Format.markdown:
            raise UsageError("--json and --format markdown exclude each other")
        fmt = Format.json
    sources: list[str | Path] = [*(health or []), *(files or [])]
    if not sources:
        raise UsageError("missing --health FILE (a file, a directory, or - for stdin)")
    try:
        moment = parse_time(at) if at is not None else datetime.now(UTC)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from exc
    try:
        age = parse_duration(max_age) if max_age is not None else None
    except ValueError as exc:
        raise UsageError(f"--max-age: {exc}") from exc
    require_version(version, tier)
    settings: list[tuple[Target, Thresholds]] = []

    def resolve() -> None:
        # tiers.yaml (pydantic) is slow to import: this runs while large files are read
        # by worker processes, or else before reading.
        cfg = load_optional(config)
        target = resolve_target(version, tier, cfg, canary, cohort_size)
        thresholds = resolve_thresholds(cfg, unhealthy_threshold, error_rate_threshold, min_nodes)
        settings.append((target, thresholds))

    from noderr_deploy.health import read_latest
    from noderr_deploy.rollback import evaluate

    if out.stderr_is_tty:
        # A line, not a spinner: a spinner's thread must not be running when the reader
        # forks its workers.
        out.info(f"reading health reports from {len(sources)} path(s)...")
    read = read_latest(sources, skip_invalid=skip_invalid, while_reading=resolve)
    target, thresholds = settings[0]
    if read.problems.count:
        out.warn(f"skipped {read.problems.count} invalid record(s):")
        for line in read.problems.lines(5):
            out.warn(f"  {line}")
    result = evaluate(
        read.latest,
        plan=target.plan,
        thresholds=thresholds,
        version=target.version,
        at=moment,
        max_age=age,
        tier=target.tier,
        records=read.records,
        invalid=read.problems.count,
        buckets=read.buckets,
    )
    from noderr_deploy.commands import _rollback_output as render

    if fmt is Format.json:
        out.json(result)
    elif fmt is Format.markdown:
        out.stdout.write(render.markdown(result))
    else:
        render.table(out, result)
    if result.verdict == "rollback":
        raise typer.Exit(ExitCode.NEGATIVE)
    if result.verdict == "inconclusive" and require_data:
        raise typer.Exit(ExitCode.INCONCLUSIVE)
