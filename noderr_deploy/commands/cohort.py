"""``noderr cohort``: the staged-rollout cohort of node ids, bit for bit as the network computes it.

Start-up matters here (operators call it in loops): nothing heavy is imported, and
tiers.yaml is read through :mod:`noderr_deploy.config.sections`'s fast path, not pydantic.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from noderr_deploy.chain.source import ChainRequest, PlanFlags, RolloutSource
    from noderr_deploy.environment import Environment


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
    from noderr_deploy.chain.source import PlanFlags
    from noderr_deploy.errors import UsageError

    fmt = _format(format_, json_)
    if node_ids and file is not None:
        raise UsageError("give node ids as arguments or with --file, not both")
    if not node_ids and file is None:
        raise UsageError("no node ids: give them as arguments or with --file PATH ('-' for stdin)")
    if at is not None and published_at is None and tier is None:
        # Checked before anything is read: run() checks again once the source is known.
        raise UsageError("--at needs a publish time (--published-at or --tier)")
    flags = PlanFlags(canary, cohort_size, delay_hours, plan_flag_names(ctx))
    from noderr_deploy.commands._cohort_chain import chain_request

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
    env = environment(ctx)
    source = resolve(
        flags, published_at=published_at, config=config, chain=chain, cache_dir=env.cache_dir()
    )
    env.quiet = quiet
    run(env, source, node_ids or [], file, fmt=fmt, summary=summary, at=at)


def _format(format_: Format | None, json_: bool) -> Format:
    from noderr_deploy.errors import UsageError

    if json_ and format_ not in (None, Format.json):
        raise UsageError(f"--json and --format {format_.value} contradict each other")
    return Format.json if json_ else (format_ or Format.table)


def resolve(
    flags: PlanFlags,
    *,
    published_at: str | None,
    config: Path | None,
    chain: ChainRequest | None = None,
    cache_dir: Path | None = None,
) -> RolloutSource:
    """The plan and publish time this run uses: from the flags and tiers.yaml, or the chain."""
    from noderr_deploy.chain.source import resolve_rollout

    return resolve_rollout(
        flags,
        published_at=_time("--published-at", published_at) if published_at is not None else None,
        config=config,
        chain=chain,
        cache_dir=cache_dir,
    )


def _time(flag: str, text: str) -> datetime:
    from noderr_deploy.errors import UsageError
    from noderr_deploy.units import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def run(
    env: Environment,
    source: RolloutSource,
    node_ids: list[str],
    file: str | None,
    *,
    fmt: Format,
    summary: bool,
    at: str | None,
) -> None:
    """Bucket the ids and write the result (stdout) and warnings (stderr)."""

    from noderr_deploy.errors import UsageError
    from noderr_deploy.ui import cohort as render
    from noderr_deploy.ui.output import Output
    from noderr_deploy.units import count

    chain = source.chain
    # With --tier, a tier without a published version is the chain's state, not a usage
    # error: it is reported (below) and --at has nothing to apply to.
    if at is not None and source.published_at is None and (chain is None or chain.tier is None):
        raise UsageError("--at needs a publish time (--published-at or --tier)")
    moment = _time("--at", at) if at is not None else (source.now or env.now())
    published = source.published_at
    plan = source.plan
    out = Output.of(env)
    if published is not None:
        _check_time_range(source, moment)

    warnings = list(plan.warnings())
    if chain is not None:
        from noderr_deploy.commands._cohort_chain import chain_line

        out.info(chain_line(source))
        warnings += chain.notes()
    else:
        line = plan_line(source)
        if line:
            out.info(line)
    ids, buckets, bucket_counts, total, name, repeated = _read_ids(
        env, node_ids, file, summary, warnings
    )
    if repeated:
        repeats = sum(repeated.values())
        what = "counted once in the summary" if summary else "each repeat gets its row"
        warnings.append(
            f"{name}: {count(repeats, 'repeated node id')}"
            f" ({count(len(repeated), 'id')} given more than once): {what}"
        )
    if not summary and fmt == Format.table and total > render.TABLE_MAX_ROWS:
        raise UsageError(
            f"--format table shows at most {render.TABLE_MAX_ROWS:,} node ids and {name}"
            f" holds {total:,}: use --format csv or jsonl (which stream), or --summary"
        )
    for warning in warnings:
        out.warn(warning)
    for note in plan.notes():
        out.info(note)

    if summary:
        counts = plan.cohort_counts(bucket_counts)
        from noderr_deploy.ui.cohort_documents import summary_document

        document = summary_document(counts, plan, warnings, published, moment)
        render.write_summary(out, fmt, document, plan)
        return
    assert ids is not None and buckets is not None  # rows were asked for
    single = file is None and len(node_ids) == 1
    render.write_rows(
        out, fmt, ids, buckets, plan=plan, published_at=published, at=moment, single=single
    )


def _read_ids(
    env: Environment, node_ids: list[str], file: str | None, summary: bool, warnings: list[str]
) -> tuple[list[bytes] | None, bytes | None, list[int], int, str, dict[bytes, int] | None]:
    """The ids (UTF-8), their buckets, the bucket counts (repeats once with ``summary``),
    how many ids, where they came from, and the repeated ones; input warnings are added."""
    from collections import Counter

    from noderr_deploy.cohorts import buckets_of, count_buckets

    if file is not None:
        from noderr_deploy.nodeids import input_warnings, read_input, scan_ids

        data, name = read_input(file, env.stdin)
        warnings += input_warnings(data, name)
        scan = scan_ids(data, name, keep_rows=not summary)
        counts = scan.unique_bucket_counts() if summary else scan.bucket_counts
        return scan.ids, scan.buckets, counts, scan.total, name, scan.repeated
    ids = [_utf8(node_id, i) for i, node_id in enumerate(node_ids, start=1)]
    buckets = buckets_of(ids)
    repeated = {raw: n - 1 for raw, n in Counter(ids).items() if n > 1} or None
    counts = count_buckets(buckets_of(list(dict.fromkeys(ids))) if summary else buckets)
    return ids, buckets, counts, len(ids), "the arguments", repeated


def plan_line(source: RolloutSource) -> str | None:
    """Which tiers.yaml supplied (part of) the plan, for stderr; None when none did."""
    from noderr_deploy.chain.source import DEFAULT

    p = source.plan
    origins = list(dict.fromkeys(source.origins.values()))
    files = [o for o in origins if o != DEFAULT and not o.startswith(("-", "NODERR_"))]
    if not files:
        return None
    others = [o for o in origins if o not in files]
    line = (
        f"plan {p.canary_percentage}/{p.cohort_percentage}/{p.cohort_delay_hours:g}"
        f" (canary/cohort %/delay h) from {', '.join(files)}"
    )
    if others:
        line += " and " + ", ".join("defaults" if o == DEFAULT else o for o in others)
    return line


def _utf8(node_id: str, position: int) -> bytes:
    from noderr_deploy.errors import UsageError

    if not node_id:
        raise UsageError(f"node id {position} is empty")
    # The exact bytes the shell passed, whatever the locale decoded them as (Latin-1, or
    # ASCII with surrogate escapes under C): the same bytes --file would read.
    raw = os.fsencode(node_id)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"node id {position} is not valid UTF-8") from None
    return raw


def _check_time_range(source: RolloutSource, at: datetime) -> None:
    from noderr_deploy.cohorts import schedule
    from noderr_deploy.errors import UsageError

    assert source.published_at is not None
    try:
        schedule(source.plan, source.published_at, at)
    except OverflowError:
        raise UsageError(
            "the publish time plus 4 cohort delays is past the year 9999"
            f" (delay {source.plan.cohort_delay_hours:g} h)"
        ) from None
