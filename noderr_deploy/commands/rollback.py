"""``noderr rollback check``: a per-cohort rollback verdict from exported health reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noderr_deploy.commands._action import SafeOption
from noderr_deploy.commands._chain import (
    BeaconOption,
    BlockOption,
    ChainIdOption,
    RpcUrlOption,
    TimeoutOption,
)
from noderr_deploy.commands._options import ConfigOption, JsonOption, QuietOption, environment
from noderr_deploy.commands._rollback_settings import (
    ChainRead,
    Target,
    check_plan_flags,
    read_file_settings,
    require_version,
    resolve_target,
    resolve_thresholds,
)
from noderr_deploy.commands.rollback_propose import (
    ProposeFormatOption,
    ProposeOption,
    check_propose,
    proposing,
)
from noderr_deploy.errors import ExitCode, UsageError
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config
    from noderr_deploy.rollback import CohortTally, RollbackResult, Thresholds

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


@app.command("check")
def check(  # noqa: PLR0917 - a command takes its options as parameters
    ctx: typer.Context,
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
            " rollout plan (needs --rpc-url and --beacon, or beacon: in tiers.yaml)."
            " --version still chooses the version; --canary/--cohort-size contradict it.",
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
    propose: ProposeOption = None,
    propose_format: ProposeFormatOption = "proposal",
    safe: SafeOption = None,
) -> None:
    """Per-cohort rollback verdict from exported health reports.

    Keeps each node's latest report, leaves out stale nodes and nodes on other versions.

    A cohort triggers when its unhealthy share or mean errors per node is above threshold.

    A cohort with fewer than --min-nodes nodes is 'insufficient': it cannot trigger.

    With --tier, the version and the rollout plan come from the VersionBeacon.

    Plan flags then contradict the chain (exit 2), as for noderr cohort.

    Exit codes: 0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data;
    2 malformed input or bad flags; 1 chain unreachable or no version for --tier.

    Examples:

        noderr rollback check --health exports/ --version 1.4.2

        noderr rollback check --health today.jsonl.gz --version 1.4.2 --max-age 15m --json

        zcat reports.jsonl.gz | noderr rollback check --health - --version 1.4.2 -f markdown

        noderr rollback check --health exports/ --tier oracle --rpc-url https://sepolia.base.org
    """
    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    fmt = output_format
    if json_:
        if fmt is Format.markdown:
            raise UsageError("--json and --format markdown exclude each other")
        fmt = Format.json
    sources: list[str | Path] = [*(health or []), *(files or [])]
    if not sources:
        raise UsageError("missing --health FILE (a file, a directory, or - for stdin)")
    moment, age = _moment_and_age(at, max_age, env.now)
    require_version(version, tier)
    proposal = check_propose(propose, tier, propose_format, safe)
    if tier is not None:
        check_plan_flags(ctx, canary, cohort_size)
        canary = cohort_size = None  # from the environment: the chain's plan wins
    settings: list[tuple[Target, Thresholds]] = []
    cfg: Config | None = None

    def read_chain(name: str) -> ChainRead:
        from noderr_deploy.chain.beacon import plan_and_version_from_chain
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

    from noderr_deploy.health.read import read_folded

    if tier is not None:
        # Read the chain first: an unreachable RPC fails before a large export is read,
        # and no worker is forked after web3 has started.
        resolve()
    if out.stderr_is_tty:
        # A line, not a spinner: a spinner's thread must not be running when the reader
        # forks its workers.
        out.info(f"reading health reports from {len(sources)} path(s)...")

    # Imported before the reader forks: its workers unpickle a CohortTally.
    from noderr_deploy.rollback import CohortTally, verdict

    def tally() -> CohortTally:
        target = settings[0][0]
        return CohortTally.for_plan(target.plan, target.version, moment, age)

    meanwhile = None if tier is not None else resolve
    read = read_folded(
        sources, tally, skip_invalid=skip_invalid, stdin=env.stdin, while_reading=meanwhile
    )

    target, thresholds = settings[0]
    if read.problems.count:
        out.warn(f"skipped {read.problems.count} invalid record(s):")
        for line in read.problems.lines(5):
            out.warn(f"  {line}")
    result = verdict(
        read.fold,
        plan=target.plan,
        thresholds=thresholds,
        at=moment,
        tier=target.tier,
        records=read.records,
        invalid=read.problems.count,
    )
    # A rollback verdict (exit 3) also hands humans the proposal, with --propose.
    with proposing(
        env,
        out,
        proposal,
        result,
        config=config,
        rpc_url=rpc_url,
        beacon=beacon,
        chain_id=chain_id,
        timeout=timeout,
    ):
        _finish(out, result, fmt, require_data=require_data)


def _moment_and_age(
    at: str | None, max_age: str | None, now: Callable[[], datetime]
) -> tuple[datetime, timedelta | None]:
    from noderr_deploy.units import parse_duration, parse_time

    try:
        moment = parse_time(at) if at is not None else now()
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from exc
    try:
        age = parse_duration(max_age) if max_age is not None else None
    except ValueError as exc:
        raise UsageError(f"--max-age: {exc}") from exc
    return moment, age


def _finish(out: Output, result: RollbackResult, fmt: Format, *, require_data: bool) -> None:
    """Render the verdict, then end with its exit code."""
    from noderr_deploy.ui import rollback as render

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
