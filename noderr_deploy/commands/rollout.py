"""``noderr rollout status``: each tier's current version and rollout phase, from the chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noderr_deploy.commands._chain import (
    AtOption,
    BeaconOption,
    BlockOption,
    ChainIdOption,
    RpcUrlOption,
    TimeoutOption,
    chain_settings,
    parse_at,
    select_tiers,
)
from noderr_deploy.commands._options import (
    ConfigOption,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    load_optional,
)
from noderr_deploy.ui.output import Cell, Output

if TYPE_CHECKING:
    from datetime import timedelta

    from noderr_deploy.chain.state import RolloutStatus, TierStatus
    from noderr_deploy.config.schema import Config
    from noderr_deploy.environment import Environment
    from noderr_deploy.health.model import HealthRead

_HEALTH = "Health"

app = typer.Typer(
    name="rollout",
    help="Staged rollouts as the VersionBeacon records them.",
    epilog="Example: noderr rollout status --rpc-url https://sepolia.base.org --beacon 0xAbC...",
    no_args_is_help=True,
)


@app.command("status")
def status(  # noqa: PLR0917 - typer passes options as arguments
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[FILE]...",
            help="More health exports, after --health (so that '--health exports/*.jsonl'"
            " reads them all).",
            show_default=False,
        ),
    ] = None,
    tier: Annotated[
        list[str] | None,
        typer.Option(
            "--tier",
            "-t",
            help="Tier from tiers.yaml (repeatable). Default: every tier.",
            shell_complete=complete_tier,
        ),
    ] = None,
    at: AtOption = None,
    rpc_url: RpcUrlOption = None,
    beacon: BeaconOption = None,
    chain_id: ChainIdOption = None,
    block: BlockOption = "latest",
    timeout: TimeoutOption = None,
    config: ConfigOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    health: Annotated[
        list[str] | None,
        typer.Option(
            "--health",
            "-H",
            metavar="FILE|DSN",
            help="Health export (as for 'noderr rollback check': .jsonl/.ndjson, .json, .csv,"
            " optionally .gz; a directory; '-' for stdin; or a PostgreSQL DSN). Repeatable."
            " Adds per cohort: nodes reporting, nodes on the tier's version, success rate.",
            show_default=False,
            rich_help_panel=_HEALTH,
        ),
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            metavar="DURATION",
            envvar="NODERR_MAX_AGE",
            show_envvar=True,
            help="Leave out (and count) nodes whose latest report is older than this before"
            " the block's time (or --at), e.g. 15m, 2h. Default: no limit.",
            show_default=False,
            rich_help_panel=_HEALTH,
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Leave malformed health records out (counted, first reasons on stderr)"
            " instead of failing with exit 2.",
            rich_help_panel=_HEALTH,
        ),
    ] = False,
) -> None:
    """Show each tier's current version on the VersionBeacon and where its rollout stands.

    Every value is read at one block (--block, default latest).
    "Now" for the phases is that block's timestamp (chain time), unless --at is given.
    Phases: canary, cohort1..cohort4, complete. A paused rollout is shown as PAUSED
    (and warned about on stderr). A cohort whose activation would fall past the year
    9999 (a delay up to the contract's uint256 maximum) never activates.

    With --health, per tier and cohort (the beacon's plan): nodes reporting,
    nodes whose latest report runs the tier's current versionString, and
    the success rate (healthy share of those). Reports carry no tier: every
    tier is measured against all the reports given.

    Exit codes: 0 shown; 1 chain unreachable or not a VersionBeacon;
    2 bad flags or configuration, malformed health input.

    Examples:

        noderr rollout status --rpc-url https://sepolia.base.org --beacon 0xAbC...

        noderr rollout status --tier oracle --json | jq '.tiers[0].phase'

        noderr rollout status --block 18200000 --at 2026-02-01T00:00:00Z

        noderr rollout status --tier oracle --health exports/ --max-age 15m
    """
    from noderr_deploy.chain.beacon import read_from_settings
    from noderr_deploy.chain.state import rollout_status, with_health

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    sources = _health_sources(health, files)
    age = _max_age(max_age, given=bool(sources))
    cfg = load_optional(config)
    tiers = select_tiers(cfg, tier or [])
    moment = parse_at(at)
    settings = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    # Health exports first: malformed input fails before the network is touched, and the
    # reader's worker processes are forked before any spinner thread or web3 runs.
    read = _read_health(env, out, sources, skip_invalid, cfg) if sources else None
    with out.status(f"reading the VersionBeacon {settings.beacon_address}"):
        snapshot, requests = read_from_settings(settings, [slot for _, slot in tiers])
    out.info(
        f"read block {snapshot.block.number} of chain {snapshot.chain_id} from"
        f" {settings.redacted_url} in {requests} HTTP request(s)"
    )
    result = rollout_status(snapshot, tiers, moment)
    for warning in result.warnings():
        out.warn(warning)
    for note in result.rollout.plan().notes():
        out.info(note)
    if read is not None:
        result = with_health(
            result,
            read.latest,
            records=read.records,
            invalid=read.problems.count,
            max_age=age,
        )
    if json_:
        out.json(result.document())
        return
    render(out, result, explicit_at=moment is not None)


def _health_sources(health: list[str] | None, files: list[Path] | None) -> list[str | Path]:
    from noderr_deploy.errors import UsageError

    if files and not health:
        raise UsageError(
            f"unexpected argument {str(files[0])!r}: health exports follow --health FILE"
        )
    return [*(health or []), *(files or [])]


def _max_age(text: str | None, *, given: bool) -> timedelta | None:
    from noderr_deploy.errors import UsageError
    from noderr_deploy.units import parse_duration

    if text is None:
        return None
    if not given:
        raise UsageError("--max-age applies to health exports: give --health FILE too")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--max-age: {exc}") from None


def _read_health(
    env: Environment,
    out: Output,
    sources: list[str | Path],
    skip_invalid: bool,
    cfg: Config | None = None,
) -> HealthRead:
    from noderr_deploy.health.postgres import is_dsn
    from noderr_deploy.health.read import read_latest

    if len(sources) == 1 and is_dsn(str(sources[0])):
        return _read_table(str(sources[0]), skip_invalid, cfg)
    if out.stderr_is_tty:
        # A line, not a spinner: no thread may run while the reader forks its workers.
        out.info(f"reading health reports from {len(sources)} path(s)...")
    read = read_latest(sources, skip_invalid=skip_invalid, stdin=env.stdin)
    if read.problems.count:
        out.warn(f"skipped {read.problems.count} invalid health record(s):")
        for line in read.problems.lines(5):
            out.warn(f"  {line}")
    return read


def _read_table(dsn: str, skip_invalid: bool, cfg: Config | None) -> HealthRead:
    """The latest report per node straight from PostgreSQL (table and columns from
    tiers.yaml ``health``, as for ``rollback check``)."""
    from noderr_deploy.health.columns import ColumnMap
    from noderr_deploy.health.model import HealthRead
    from noderr_deploy.health.postgres import TableQuery, read_table
    from noderr_deploy.health.read import check_read

    query = TableQuery()
    if cfg is not None:
        query = TableQuery(
            table=cfg.health.table,
            columns=ColumnMap.of(cfg.health.columns),
            unit=cfg.health.timestamp_unit,
        )
    read = read_table(dsn, query)
    check_read(read.problems, read.records, [read.source], skip_invalid=skip_invalid)
    return HealthRead(read.latest, read.records, read.problems, [read.source], read.future)


def render(out: Output, result: RolloutStatus, *, explicit_at: bool = False) -> None:
    """The human view of a rollout status."""
    from noderr_deploy.chain.beacon import TIER_NAMES
    from noderr_deploy.units import iso

    r = result.rollout
    out.text(
        f"VersionBeacon {result.address} on chain {result.chain_id},"
        f" block {result.block.number} ({iso(result.block.time)})"
    )
    state = "PAUSED" if result.paused else "active"
    out.text(
        f"Rollout {state}: canary {r.canary_percentage}%, cohorts of {r.cohort_percentage}%,"
        f" {r.cohort_delay_hours} h apart"
    )
    if explicit_at:
        out.text(f"Phases computed at {iso(result.at)} (--at)")
    if result.health is not None:
        out.text(_health_line(result))
    out.text()
    rows: list[tuple[Cell, ...]] = []
    for t in result.tiers:
        v = t.version
        slot = f"{t.beacon_tier} {TIER_NAMES.get(t.beacon_tier, '?')}"
        if v is None:
            rows.append((t.tier, slot, None, "no version published", None, None, None))
            continue
        phase = f"{t.phase} (paused)" if result.paused else t.phase
        kind = "emergency rollback" if v.is_emergency_rollback else "normal"
        rows.append(
            (t.tier, slot, v.version_id, v.version_string, iso(v.published_at), phase, kind)
        )
    out.table(("tier", "beacon tier", "id", "version", "published", "phase", "kind"), rows)
    for t in result.tiers:
        if t.version is not None:
            out.text()
            _render_tier(out, t)
        elif t.health is not None:
            reporting = sum(c.reporting for c in t.health)
            out.text()
            out.text(f"{t.tier}: no version published; {reporting} node(s) reporting")


def _health_line(result: RolloutStatus) -> str:
    h = result.health
    assert h is not None
    line = (
        f"Health exports: {h.records} record(s), {h.invalid} invalid skipped;"
        f" {h.nodes} node(s), {h.stale} stale"
    )
    if h.max_age is not None:
        line += f" (latest report older than {_duration(h.max_age.total_seconds())})"
    return line


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _render_tier(out: Output, t: TierStatus) -> None:
    from noderr_deploy.units import iso

    v = t.version
    assert v is not None
    out.text(f"{t.tier}: version {v.version_id} {v.version_string}")
    out.text(f"  image tag    {v.docker_image_tag}")
    out.text(f"  config hash  {v.config_hash}")
    out.text(f"  published    {iso(v.published_at)} by {v.publisher}")
    out.text(f"  isActive     {'yes' if v.is_active else 'no'}")
    columns: tuple[str, ...] = ("cohort", "activates at", "active")
    rows: list[tuple[Cell, ...]] = [
        (e.cohort, iso(e.activates_at) if e.activates_at is not None else "never", e.active)
        for e in t.schedule
    ]
    if t.health is not None:
        columns += ("reporting", "on version", "healthy", "success")
        rows = [
            (*row, c.reporting, c.on_version, c.healthy, _rate(c.success_rate))
            for row, c in zip(rows, t.health, strict=True)
        ]
    out.table(columns, rows)


def _rate(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"
