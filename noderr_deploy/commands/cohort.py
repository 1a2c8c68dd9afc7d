"""``noderr cohort``: the staged-rollout cohort of node ids, bit for bit as the network computes it.

Start-up matters here (operators call it in loops): nothing heavy is imported, and
tiers.yaml is read through :mod:`noderr_deploy.config.sections`'s fast path, not pydantic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

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


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


# A module-level alias: typer evaluates each string annotation at every start, and a name
# costs less to evaluate than an inline Annotated[...] with its typer.Option(...) call.
_TierOption = Annotated[
    str | None,
    typer.Option(
        "--tier",
        "-t",
        shell_complete=complete_tier,
        help="Take the publish time from this tier's current version on the VersionBeacon"
        " (and the plan from its rolloutConfig).",
        rich_help_panel="Chain",
    ),
]


def cohort(  # noqa: PLR0917 - typer passes options positionally
    ctx: typer.Context,
    node_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NODE_ID]...",
            help="Node ids, hashed byte-exact as UTF-8 (no trimming, no case folding).",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="PATH",
            help="Read ids from PATH, one per line ('-' for stdin). Only the line end"
            " (\\n or \\r\\n) is stripped; an empty line or invalid UTF-8 is exit 2.",
        ),
    ] = None,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary",
            envvar="NODERR_CANARY_PERCENTAGE",
            show_envvar=True,
            metavar="PERCENT",
            help="Canary size in percent of buckets. Default: tiers.yaml rollout, else 5.",
        ),
    ] = None,
    cohort_size: Annotated[
        int | None,
        typer.Option(
            "--cohort-size",
            envvar="NODERR_COHORT_PERCENTAGE",
            show_envvar=True,
            metavar="PERCENT",
            help="Size of cohorts 1-3 in percent (cohort4 takes the rest)."
            " Default: tiers.yaml rollout, else 25.",
        ),
    ] = None,
    delay_hours: Annotated[
        float | None,
        typer.Option(
            "--delay-hours",
            envvar="NODERR_COHORT_DELAY_HOURS",
            show_envvar=True,
            metavar="HOURS",
            help="Hours between cohorts. Default: tiers.yaml rollout, else 24.",
        ),
    ] = None,
    config: ConfigOption = None,
    published_at: Annotated[
        str | None,
        typer.Option(
            "--published-at",
            metavar="TIME",
            help="When the version was published (ISO 8601, e.g. 2026-03-01T12:00:00Z or"
            " 20260301; or unix seconds: a number of at least 10 digits or with a decimal"
            " point): adds each node's activation time and whether it is active.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="Judge 'active' at TIME instead of now, or of the block's time with a chain"
            " (needs a publish time).",
        ),
    ] = None,
    tier: _TierOption = None,
    rpc_url: RpcUrlOption = None,
    beacon: BeaconOption = None,
    chain_id: ChainIdOption = None,
    block: BlockOption = "latest",
    timeout: TimeoutOption = None,
    format_: Annotated[
        Format | None,
        typer.Option(
            "--format",
            help="Output format. Default: table.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    json_: JsonOption = False,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Print nodes and percentages per cohort instead of rows (a repeated id"
            " counts once).",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Show the rollout cohort of node ids: keccak256(utf8(id)) mod 100.

    Buckets below the canary size c are the canary, the next s (cohort
    size) cohort1, then cohort2 and cohort3; the rest is cohort4. With
    --published-at, cohort k activates k x delay hours after publishing.

    A plan with c + 4s < 100 prints a warning on stderr (and in --summary
    JSON): the node-side auto-updater never updates buckets >= c + 4s.

    The plan comes from --canary/--cohort-size/--delay-hours, their
    NODERR_* variables, tiers.yaml rollout, else 5/25/24. Given --rpc-url,
    --beacon or --tier on the command line, it comes from the VersionBeacon's
    rolloutConfig instead (NODERR_RPC_URL, NODERR_BEACON_ADDRESS and tiers.yaml
    beacon fill in the rest); with --tier the publish time is the tier's
    current version's, and "now" is the block's time. Plan flags or
    --published-at with --tier then contradict the chain: exit 2.
    Exit 1 when the chain cannot be read.

    Examples:

        noderr cohort node-1 validator-eu-1

        noderr cohort node-1 --json --published-at 2026-03-01T12:00:00Z

        noderr cohort --file nodes.txt --summary

        cut -f1 inventory.tsv | noderr cohort -f - --format csv > cohorts.csv

        noderr cohort node-1 --tier oracle --rpc-url https://sepolia.base.org --beacon 0xAbC...
    """
    from functools import partial

    from noderr_deploy.chain.cohort import CohortRequest, run_cohort
    from noderr_deploy.chain.source import PlanFlags
    from noderr_deploy.commands._cohort_chain import chain_request
    from noderr_deploy.errors import UsageError
    from noderr_deploy.ui import cohort as render
    from noderr_deploy.ui.output import Output

    fmt = _format(format_, json_)
    if node_ids and file is not None:
        raise UsageError("give node ids as arguments or with --file, not both")
    if not node_ids and file is None:
        raise UsageError("no node ids: give them as arguments or with --file PATH ('-' for stdin)")
    if at is not None and published_at is None and tier is None:
        # Checked before anything is read: run_cohort checks again once the source is known.
        raise UsageError("--at needs a publish time (--published-at or --tier)")
    flags = PlanFlags(canary, cohort_size, delay_hours, plan_flag_names(ctx))
    chain = chain_request(
        ctx,
        flags,
        published_at=published_at,
        config=config,
        tier=tier,
        rpc_url=rpc_url,
        beacon=beacon,
        chain_id=chain_id,
        block=block,
        timeout=timeout,
    )
    request = CohortRequest(
        flags,
        node_ids=node_ids or (),
        file=file,
        published_at=published_at,
        at=at,
        config=config,
        chain=chain,
        summary=summary,
    )
    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    result = run_cohort(
        request,
        stdin=env.stdin,
        now=env.now,
        cache_dir=env.cache_dir(),
        on_source=partial(render.announce, out),
    )
    render.write_result(out, fmt, result)


def _format(format_: Format | None, json_: bool) -> Format:
    from noderr_deploy.errors import UsageError

    if json_ and format_ not in (None, Format.json):
        raise UsageError(f"--json and --format {format_.value} contradict each other")
    return Format.json if json_ else (format_ or Format.table)
