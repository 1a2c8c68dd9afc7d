"""``noderr rollback check``: a per-cohort rollback verdict from exported health reports."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Annotated

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
from noderr_deploy.commands._health import (
    ColumnsOption,
    HealthFilesArgument,
    HealthFlags,
    HealthOption,
    IncompleteOption,
    MaxAgeOption,
    MaxSkewOption,
    SinceOption,
    SkipInvalidOption,
    TimestampUnitOption,
)
from noderr_deploy.commands._options import (
    ConfigOption,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    given_as,
    given_flags,
    plan_flag_names,
)
from noderr_deploy.commands._rollback_proposal import (
    ProposeFormatOption,
    ProposeOption,
    check_propose,
    proposing,
)
from noderr_deploy.config.thresholds import read_error_rate, read_min_nodes, read_unhealthy
from noderr_deploy.errors import UsageError
from noderr_deploy.text import printable
from noderr_deploy.ui.health import announce_read
from noderr_deploy.ui.output import Output
from noderr_deploy.ui.rollback import show_outcome

if TYPE_CHECKING:
    from noderr_deploy.config.schema import Config
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


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def check(  # noqa: PLR0917 - a command takes its options as parameters
    ctx: typer.Context,
    files: HealthFilesArgument = None,
    health: HealthOption = None,
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
    max_age: MaxAgeOption = None,
    max_skew: MaxSkewOption = None,
    columns: ColumnsOption = None,
    timestamp_unit: TimestampUnitOption = None,
    incomplete: IncompleteOption = "complete",
    since: SinceOption = None,
    skip_invalid: SkipInvalidOption = False,
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
            help="Fewer nodes make a cohort 'insufficient' (it cannot trigger): a whole"
            " number, 1 or more. Default: tiers.yaml rollback, else 1.",
            show_default=False,
        ),
    ] = None,
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

    Without --health, $NODERR_HEALTH_DSN is read. The health options are those of
    noderr rollout status --health, with the same rules and counts.

    Exit codes: 0 ok or inconclusive; 3 rollback; 4 inconclusive with --require-data;
    2 malformed or lost input, bad flags, or a missing table or column; 1 chain or database
    unreachable, login refused, query over --timeout, or no version for --tier.

    Examples:

        noderr rollback check --health exports/ --version 1.4.2

        noderr rollback check --health today.jsonl.gz --version 1.4.2 --max-age 15m --json

        zcat reports.jsonl.gz | noderr rollback check --health - --version 1.4.2 -f markdown

        noderr rollback check --health exports/ --tier oracle --rpc-url https://sepolia.base.org

        noderr rollback check --health postgresql://reader@db/noderr -V 1.4.2 --since 1h

        noderr rollback check -H telemetry.csv -V 1.4.2 --columns nodeId=host,cpu=load
    """
    from noderr_deploy.rollback.check import CheckRequest, run_check
    from noderr_deploy.units import parse_time

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    if json_ and output_format is Format.markdown:
        raise UsageError("--json and --format markdown exclude each other")
    fmt = Format.json if json_ else output_format
    flags = HealthFlags.of(ctx)  # the health options above, by name, and how each was given
    sources = flags.sources(env)
    if not sources:
        raise UsageError(
            "missing --health FILE (a file, a directory, - for stdin, or a PostgreSQL DSN)"
        )
    try:
        moment = parse_time(at) if at is not None else env.now()
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from exc
    _check_unused(ctx, tier=tier, propose=propose)
    proposal = check_propose(propose, tier, propose_format, safe, given_as(ctx, "safe"))
    if tier is not None:
        _check_plan_flags(ctx, canary, cohort_size)
        canary = cohort_size = None  # from the environment: the chain's plan wins
    request = CheckRequest(
        health=flags.request(sources, at=moment, config=config, timeout=timeout),
        version=version,
        tier=tier,
        canary=canary,
        cohort_size=cohort_size,
        unhealthy_threshold=unhealthy_threshold,
        error_rate_threshold=error_rate_threshold,
        min_nodes=min_nodes,
        plan_names=plan_flag_names(ctx),
    )
    announce_read(out, sources)
    chain = None
    if tier is not None:
        chain = partial(
            _read_chain,
            out=out,
            rpc_url=rpc_url,
            beacon=beacon,
            chain_id=chain_id,
            block=block,
            timeout=timeout,
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
        code = show_outcome(out, outcome, str(fmt), require_data=require_data)
        if code:
            raise typer.Exit(code)


def _check_plan_flags(ctx: typer.Context, canary: int | None, cohort_size: int | None) -> None:
    """With ``--tier`` the plan is the VersionBeacon's rolloutConfig: plan values given on
    the command line contradict it (:class:`UsageError`, as for ``noderr cohort``); from
    the environment they are ambient settings, left unused."""
    from noderr_deploy.chain.source import PlanFlags, check_chain_conflicts

    flags = PlanFlags(canary, cohort_size, None, plan_flag_names(ctx))
    check_chain_conflicts(flags, published_at_given=False, tier=None, chain_flag="--tier")


# Flags that only mean something with another: (parameter, flag) -> what it needs.
_NEEDS_TIER = {
    "rpc_url": "--rpc-url",
    "beacon": "--beacon",
    "chain_id": "--chain-id",
    "block": "--block",
}
_NEEDS_PROPOSE = {"safe": "--safe", "propose_format": "--propose-format"}


def _check_unused(ctx: typer.Context, *, tier: str | None, propose: object) -> None:
    """A flag given on the command line that this run would ignore is a mistake (from the
    environment it is ambient: unused, unsaid)."""
    for needed, flags, what in (
        (tier, _NEEDS_TIER, "--tier T (the version and plan from the VersionBeacon)"),
        (propose, _NEEDS_PROPOSE, "--propose FILE"),
    ):
        given = given_flags(ctx, flags) if needed is None else []
        if given:
            raise UsageError(f"{given[0]} applies with {what}: give it too, or drop {given[0]}")


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
        f" {slot} runs {printable(current.version_string) if current else 'no version'}"
    )
    return ChainRead(tier_name, slot, plan, current, note)
