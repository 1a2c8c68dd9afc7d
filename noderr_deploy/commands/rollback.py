"""``noderr rollback check``: a per-cohort rollback verdict from exported health reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from noderr_deploy.commands._action import SafeOption
from noderr_deploy.commands._chain import (
    BeaconOption,
    BlockOption,
    ChainIdOption,
    RpcUrlOption,
    TimeoutOption,
)
from noderr_deploy.commands._options import (
    ConfigOption,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    plan_flag_names,
)
from noderr_deploy.commands.rollback_propose import (
    ProposeFormatOption,
    ProposeOption,
    check_propose,
    proposing,
)
from noderr_deploy.config.thresholds import read_error_rate, read_min_nodes, read_unhealthy
from noderr_deploy.errors import ExitCode, UsageError
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config
    from noderr_deploy.rollback.check import CheckOutcome
    from noderr_deploy.rollback.settings import ChainRead


class _Threshold(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3
    """A threshold as typed (flag or variable), read by the one rule of
    :mod:`noderr_deploy.config.thresholds`: ASCII digits, finite, in range. A bad value is
    one ``error:`` line naming the flag and its variable."""

    def __init__(self, read: Callable[[str], float], name: str = "FLOAT") -> None:
        self.read = read
        self.name = name

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> object:
        if not isinstance(value, str):
            return value
        try:
            return self.read(value)
        except ValueError as exc:
            flag = param.opts[0] if param is not None and param.opts else "a threshold"
            envvar = getattr(param, "envvar", None)
            also = f" (or {envvar})" if isinstance(envvar, str) else ""
            raise UsageError(f"invalid thresholds: {flag}{also}: {exc}") from None


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
        list[str] | None,
        typer.Option(
            "--health",
            "-H",
            metavar="FILE|DSN",
            help="Health export: .jsonl/.ndjson, .json (array), .csv, each optionally .gz;"
            " a directory (every file inside); '-' for stdin. Repeatable. Or a PostgreSQL"
            " DSN (postgresql://user@host:5432/db) to read the telemetry table directly."
            " Default: $NODERR_HEALTH_DSN.",
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
            shell_complete=complete_tier,
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
    max_skew: Annotated[
        str | None,
        typer.Option(
            "--max-skew",
            metavar="DURATION",
            envvar="NODERR_MAX_SKEW",
            show_envvar=True,
            help="Reports stamped later than --at plus this are not used (counted as"
            " 'future'): a node's clock may be this far ahead. Default: 5m.",
            show_default=False,
        ),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            metavar="FIELD=COLUMN,...",
            help="Column names of a CSV export or table, e.g. nodeId=host,cpu=load (over"
            " tiers.yaml health.columns). node_telemetry's names are known already.",
            show_default=False,
        ),
    ] = None,
    timestamp_unit: Annotated[
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
        ),
    ] = None,
    incomplete: Annotated[
        str,
        typer.Option(
            "--incomplete",
            metavar="complete|latest",
            help="A report missing cpu, memory or errors is never judged. complete: keep a"
            " node's latest complete report over it; latest: keep it (the node is then"
            " counted incomplete).",
        ),
    ] = "complete",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME|DURATION",
            help="With a DSN: read only rows from this time on (ISO 8601, unix seconds, or"
            " a duration before --at such as 2h).",
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
            click_type=_Threshold(read_unhealthy),
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
            click_type=_Threshold(read_error_rate),
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
            click_type=_Threshold(read_min_nodes, "INTEGER"),
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

    Reports stamped after --at plus --max-skew are not used (counted as future).

    Exit codes: 0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data;
    2 malformed or lost input, bad flags, or a missing table or column; 1 chain or database
    unreachable, login refused, query over --timeout, or no version for --tier.

    Examples:

        noderr rollback check --health exports/ --version 1.4.2

        noderr rollback check --health today.jsonl.gz --version 1.4.2 --max-age 15m --json

        zcat reports.jsonl.gz | noderr rollback check --health - --version 1.4.2 -f markdown

        noderr rollback check --health exports/ --tier oracle --rpc-url https://sepolia.base.org

        noderr rollback check --health postgresql://reader@db/noderr -V 1.4.2 --since 1h
    """
    from noderr_deploy.rollback.check import CheckRequest, run_check

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    if json_ and output_format is Format.markdown:
        raise UsageError("--json and --format markdown exclude each other")
    fmt = Format.json if json_ else output_format
    sources: tuple[str | Path, ...] = (*(health or []), *(files or []))
    if not sources and env.environ.get("NODERR_HEALTH_DSN"):
        from noderr_deploy.health.postgres import is_dsn

        dsn = env.environ["NODERR_HEALTH_DSN"]
        if not is_dsn(dsn):  # never echoed: it may hold a password
            raise UsageError(
                "NODERR_HEALTH_DSN must be a postgresql:// or postgres:// URI"
                " (e.g. postgresql://user@host:5432/db)"
            )
        sources = (dsn,)
    if not sources:
        raise UsageError(
            "missing --health FILE (a file, a directory, - for stdin, or a PostgreSQL DSN)"
        )
    moment = _moment(at, env.now)
    proposal = check_propose(propose, tier, propose_format, safe)
    if tier is not None:
        _check_plan_flags(ctx, canary, cohort_size)
        canary = cohort_size = None  # from the environment: the chain's plan wins
    request = CheckRequest(
        sources=sources,
        version=version,
        at=moment,
        tier=tier,
        max_age=_duration("--max-age", max_age),
        max_skew=_skew(max_skew),
        canary=canary,
        cohort_size=cohort_size,
        unhealthy_threshold=unhealthy_threshold,
        error_rate_threshold=error_rate_threshold,
        min_nodes=min_nodes,
        skip_invalid=skip_invalid,
        config=config,
        **_read_flags(columns, timestamp_unit, incomplete, since, moment),
        timeout=timeout,
    )
    if out.stderr_is_tty:
        # A line, not a spinner: the reader reads alone when another thread runs.
        from noderr_deploy.health.postgres import is_dsn, redact_dsn

        first = str(sources[0])
        where = redact_dsn(first) if is_dsn(first) else f"{len(sources)} path(s)"
        out.info(f"reading health reports from {where}...")
    chain = (
        None
        if tier is None
        else partial(
            _read_chain,
            out=out,
            rpc_url=rpc_url,
            beacon=beacon,
            chain_id=chain_id,
            block=block,
            timeout=timeout,
        )
    )
    outcome = run_check(request, read_chain=chain, stdin=env.stdin)
    # A rollback verdict (exit 3) also hands humans the proposal, with --propose.
    with proposing(
        env,
        out,
        proposal,
        outcome.result,
        config=config,
        rpc_url=rpc_url,
        beacon=beacon,
        chain_id=chain_id,
        timeout=timeout,
    ):
        _finish(out, outcome, fmt, require_data=require_data)


def _check_plan_flags(ctx: typer.Context, canary: int | None, cohort_size: int | None) -> None:
    """With ``--tier`` the plan is the VersionBeacon's rolloutConfig: plan values given on
    the command line contradict it (:class:`UsageError`, as for ``noderr cohort``); from
    the environment they are ambient settings, left unused."""
    from noderr_deploy.chain.source import PlanFlags, check_chain_conflicts

    flags = PlanFlags(canary, cohort_size, None, plan_flag_names(ctx))
    check_chain_conflicts(flags, published_at_given=False, tier=None, chain_flag="--tier")


def _read_chain(
    cfg: Config | None,
    name: str,
    *,
    out: Output,
    rpc_url: str | None,
    beacon: str | None,
    chain_id: int | None,
    block: str,
    timeout: float | None,
) -> ChainRead:
    """The tier ``name``'s plan and current version on the VersionBeacon the flags (or
    tiers.yaml) name."""
    from noderr_deploy.chain.beacon import plan_and_version_from_chain
    from noderr_deploy.commands._chain import chain_settings, select_tiers
    from noderr_deploy.rollback.settings import ChainRead

    tier_name, slot = select_tiers(cfg, [name])[0]
    where = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    plan, current, at_block = plan_and_version_from_chain(where, slot)
    note = (
        f"VersionBeacon {where.beacon_address} at block {at_block.number}: beacon tier"
        f" {slot} runs {current.version_string if current else 'no version'}"
    )
    return ChainRead(tier_name, slot, plan, current, note)


def _read_flags(
    columns: list[str] | None,
    unit: str | None,
    incomplete: str,
    since: str | None,
    moment: datetime,
) -> dict[str, Any]:
    """``--columns``, ``--timestamp-unit``, ``--incomplete`` and ``--since`` as request
    fields (a bad value is a :class:`UsageError` naming its flag)."""
    from noderr_deploy.health.columns import ColumnError, parse_columns
    from noderr_deploy.health.incomplete import parse_policy
    from noderr_deploy.health.stamps import parse_unit

    fields: dict[str, Any] = {}
    try:
        fields["columns"] = parse_columns(columns) if columns else None
    except ColumnError as exc:
        raise UsageError(f"--columns: {exc}") from None
    try:
        fields["timestamp_unit"] = parse_unit(unit) if unit is not None else None
    except ValueError as exc:
        raise UsageError(f"--timestamp-unit: {exc}") from None
    try:
        fields["incomplete"] = parse_policy(incomplete)
    except ValueError as exc:
        raise UsageError(f"--incomplete: {exc}") from None
    fields["since"] = _since(since, moment)
    return fields


def _since(text: str | None, moment: datetime) -> datetime | None:
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
        raise UsageError(f"--since: {exc} (or a duration such as 2h)") from None


def _moment(at: str | None, now: Callable[[], datetime]) -> datetime:
    from noderr_deploy.units import parse_time

    try:
        return parse_time(at) if at is not None else now()
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from exc


def _duration(flag: str, text: str | None) -> timedelta | None:
    from noderr_deploy.units import parse_duration

    try:
        return parse_duration(text) if text is not None else None
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from exc


def _skew(text: str | None) -> timedelta:
    from noderr_deploy.rollback.check import DEFAULT_MAX_SKEW

    skew = _duration("--max-skew", text)
    return DEFAULT_MAX_SKEW if skew is None else skew


def _finish(out: Output, outcome: CheckOutcome, fmt: Format, *, require_data: bool) -> None:
    """Tell what the read noticed, render the verdict, then end with its exit code."""
    from noderr_deploy.ui import rollback as render

    for note in outcome.notes:
        out.info(note)
    for warning in outcome.warnings:
        out.warn(warning)
    if outcome.skipped:
        out.warn(f"skipped {outcome.skipped}:")
        for line in outcome.problems:
            out.warn(f"  {line}")
    result = outcome.result
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


def _register_propose() -> None:
    # `noderr rollback propose` lives in its own module, beside `check`.
    from noderr_deploy.commands.rollback_propose import propose as propose_command

    app.command("propose")(propose_command)


_register_propose()
