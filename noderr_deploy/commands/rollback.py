"""``noderr rollback check``: a per-cohort rollback verdict from exported health reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple, TypeVar

import typer

from noderr_deploy.commands._chain import (
    BeaconOption,
    BlockOption,
    ChainIdOption,
    RpcUrlOption,
    TimeoutOption,
)
from noderr_deploy.commands._options import ConfigOption, JsonOption, QuietOption
from noderr_deploy.errors import ExitCode, UsageError
from noderr_deploy.output import Output

if TYPE_CHECKING:
    from noderr_deploy.beacon import VersionInfo
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.config import Config
    from noderr_deploy.configfile import FileSettings
    from noderr_deploy.rollback import RollbackResult, Thresholds

T = TypeVar("T")

app = typer.Typer(
    name="rollback",
    help="Decide from exported health reports whether a rollout must roll back.",
    epilog="Example: noderr rollback check --health exports/ --version 1.4.2 --max-age 15m",
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


class ChainRead(NamedTuple):
    """What the VersionBeacon says about a tier."""

    tier: str
    """The tier's name (as tiers.yaml spells it)."""
    slot: int
    """Its beacon tier."""
    plan: RolloutPlan
    current: VersionInfo | None
    """Its current version; None when none is published."""


ChainReader = Callable[[str], ChainRead]
"""Finds a tier (``--tier``) and reads its rollout plan and current version on the chain."""


def require_version(version: str | None, tier: str | None) -> None:
    """Checked before any input is read: there must be a version, or a tier to read it for."""
    if version is None and tier is None:
        raise UsageError(
            "missing --version V (the version under evaluation), or --tier T to evaluate"
            " the tier's current version on the VersionBeacon"
        )
    if version is not None and not version.strip():
        raise UsageError("--version must not be empty")


def resolve_target(
    version: str | None,
    tier: str | None,
    file: FileSettings,
    canary: int | None,
    cohort_size: int | None,
    *,
    read_chain: ChainReader | None = None,
) -> Target:
    """The version and rollout plan to evaluate, each from the first source that has it.

    Version: ``--version``, else (with ``--tier``) the tier's current ``versionString`` on
    the VersionBeacon. Plan values: ``--canary``/``--cohort-size`` (or their environment
    variables), else the on-chain rollout config (with ``--tier``), else tiers.yaml
    ``rollout`` (``file``), else the defaults. ``read_chain`` is called only with ``--tier``.
    """
    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.errors import ChainError

    require_version(version, tier)
    base = file.plan()
    tier_name = None
    if tier is not None:
        if read_chain is None:
            raise UsageError("--tier needs the VersionBeacon: pass --rpc-url and --beacon")
        tier_name, slot, base, current = read_chain(tier)
        if version is None:
            if current is None:
                raise ChainError(
                    f"no version published for tier {tier_name!r} (beacon tier {slot}) on the"
                    " VersionBeacon: nothing to evaluate (pass --version V to choose one)"
                )
            version = current.version_string
    assert version is not None
    try:
        plan = RolloutPlan(
            canary_percentage=_first(canary, base.canary_percentage),
            cohort_percentage=_first(cohort_size, base.cohort_percentage),
            cohort_delay_hours=base.cohort_delay_hours,
        )
    except ValueError as exc:
        raise UsageError(f"invalid rollout plan: {exc}") from exc
    return Target(version=version, tier=tier_name, plan=plan)


def resolve_thresholds(
    file: FileSettings,
    unhealthy: float | None,
    error_rate: float | None,
    min_nodes: int | None,
) -> Thresholds:
    """Flags (and their environment variables) over tiers.yaml ``rollback`` (``file``) over
    defaults."""
    from noderr_deploy.rollback import Thresholds

    base = file.rollback
    default = Thresholds()
    return Thresholds(
        unhealthy_ratio=_first(unhealthy, base.get("unhealthy_threshold"), default.unhealthy_ratio),
        error_rate=_first(error_rate, base.get("error_rate_threshold"), default.error_rate),
        min_nodes=_first(min_nodes, _int(base.get("min_nodes")), default.min_nodes),
    )


def read_file_settings(config: Path | None, *, full: bool) -> tuple[FileSettings, Config | None]:
    """tiers.yaml's rollout and rollback values (none when there is no file and none was
    asked for), and, with ``full``, the whole validated file.

    Without ``full`` only those two sections are read and checked, without pydantic
    (:func:`noderr_deploy.configfile.read_settings`); ``--tier`` needs the full file, for the
    tiers and the ``beacon`` section.
    """
    from noderr_deploy.configfile import FileSettings, find_config, read_settings

    path = find_config(config)
    if path is None:
        return FileSettings(), None
    if not full:
        return read_settings(path), None
    from noderr_deploy.config import load_config

    cfg = load_config(path)
    return FileSettings.of(cfg), cfg


def _int(value: float | None) -> int | None:
    # min_nodes is an int in tiers.yaml (the readers check it); this only tells mypy so.
    return None if value is None else int(value)


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
            help="The version under evaluation (default with --tier: the tier's current one).",
            show_default=False,
        ),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            "--tier",
            "-t",
            help="Evaluate this tier's current version on the VersionBeacon, with its on-chain"
            " rollout plan (needs --rpc-url and --beacon, or beacon: in tiers.yaml).",
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
    rpc_url: RpcUrlOption = None,
    beacon: BeaconOption = None,
    chain_id: ChainIdOption = None,
    block: BlockOption = "latest",
    timeout: TimeoutOption = None,
) -> None:
    """Per-cohort rollback verdict from exported health reports.

    Keeps each node's latest report, leaves out stale nodes and nodes on other versions.

    A cohort triggers when its unhealthy share or mean errors per node is above threshold.

    A cohort with fewer than --min-nodes nodes is 'insufficient': it cannot trigger.

    With --tier, the version and the rollout plan come from the VersionBeacon.

    Exit codes: 0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data;
    2 malformed input or bad flags; 1 chain unreachable or no version for --tier.

    Examples:

        noderr rollback check --health exports/ --version 1.4.2

        noderr rollback check --health today.jsonl.gz --version 1.4.2 --max-age 15m --json

        zcat reports.jsonl.gz | noderr rollback check --health - --version 1.4.2 -f markdown

        noderr rollback check --health exports/ --tier oracle --rpc-url https://sepolia.base.org
    """
    out = Output(quiet=quiet)
    fmt = output_format
    if json_:
        if fmt is Format.markdown:
            raise UsageError("--json and --format markdown exclude each other")
        fmt = Format.json
    sources: list[str | Path] = [*(health or []), *(files or [])]
    if not sources:
        raise UsageError("missing --health FILE (a file, a directory, or - for stdin)")
    moment, age = _moment_and_age(at, max_age)
    require_version(version, tier)
    settings: list[tuple[Target, Thresholds]] = []
    cfg: Config | None = None

    def read_chain(name: str) -> ChainRead:
        from noderr_deploy.beacon import plan_and_version_from_chain
        from noderr_deploy.commands._chain import chain_settings, select_tiers

        tier_name, slot = select_tiers(cfg, [name])[0]
        where = chain_settings(
            cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
        )
        plan, current, at_block = plan_and_version_from_chain(where, slot)
        out.info(
            f"VersionBeacon {where.beacon_address} at block {at_block.number}: beacon tier"
            f" {slot} runs {current.version_string if current else 'no version'}"
        )
        return ChainRead(tier_name, slot, plan, current)

    def resolve() -> None:
        # Without --tier only tiers.yaml's rollout and rollback sections are read, without
        # pydantic; this runs while large files are read by worker processes, or else
        # before reading. --tier needs the whole file (tiers, beacon settings).
        nonlocal cfg
        file, cfg = read_file_settings(config, full=tier is not None)
        target = resolve_target(version, tier, file, canary, cohort_size, read_chain=read_chain)
        thresholds = resolve_thresholds(file, unhealthy_threshold, error_rate_threshold, min_nodes)
        settings.append((target, thresholds))

    from noderr_deploy.health import read_latest

    if tier is not None:
        # Read the chain first: an unreachable RPC fails before a large export is read,
        # and no worker is forked after web3 has started.
        resolve()
    if out.stderr_is_tty:
        # A line, not a spinner: a spinner's thread must not be running when the reader
        # forks its workers.
        out.info(f"reading health reports from {len(sources)} path(s)...")
    meanwhile = None if tier is not None else resolve
    read = read_latest(sources, skip_invalid=skip_invalid, while_reading=meanwhile)
    from noderr_deploy.rollback import evaluate

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
    _finish(out, result, fmt, require_data=require_data)


def _moment_and_age(at: str | None, max_age: str | None) -> tuple[datetime, timedelta | None]:
    from noderr_deploy.units import parse_duration, parse_time

    try:
        moment = parse_time(at) if at is not None else datetime.now(UTC)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from exc
    try:
        age = parse_duration(max_age) if max_age is not None else None
    except ValueError as exc:
        raise UsageError(f"--max-age: {exc}") from exc
    return moment, age


def _finish(out: Output, result: RollbackResult, fmt: Format, *, require_data: bool) -> None:
    """Render the verdict, then end with its exit code."""
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
