"""``noderr rollout status``: each tier's current version and rollout phase, from the chain."""

from __future__ import annotations

from datetime import datetime
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
    load_optional,
)
from noderr_deploy.ui.health import announce_read, tell_read
from noderr_deploy.ui.output import Cell, Output

if TYPE_CHECKING:
    from noderr_deploy.chain.state import RolloutStatus, TierStatus
    from noderr_deploy.config.schema import Config
    from noderr_deploy.environment import Environment
    from noderr_deploy.rollback.reading import HealthOutcome, HealthRequest, LatestFold


def status(  # noqa: PLR0917 - typer passes options as arguments
    ctx: typer.Context,
    files: HealthFilesArgument = None,
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
    health: HealthOption = None,
    max_age: MaxAgeOption = None,
    max_skew: MaxSkewOption = None,
    columns: ColumnsOption = None,
    timestamp_unit: TimestampUnitOption = None,
    incomplete: IncompleteOption = "complete",
    since: SinceOption = None,
    skip_invalid: SkipInvalidOption = False,
) -> None:
    """Show each tier's current version on the VersionBeacon and where its rollout stands.

    Every value is read at one block (--block, default latest).
    "Now" for the phases is that block's timestamp (chain time), unless --at is given.
    Phases: canary, cohort1..cohort4, complete. A paused rollout is shown as PAUSED
    (and warned about on stderr). A cohort whose activation would fall past the year
    9999 (a delay up to the contract's uint256 maximum) never activates.

    With --health, per tier and cohort (the beacon's plan): nodes reporting,
    nodes whose latest report runs the tier's current versionString, and
    the success rate (healthy share of those; an incomplete report is never a
    success). Reports carry no tier: every tier is measured against all the
    reports given. The health options and their rules are those of noderr
    rollback check; --max-age and --max-skew are measured from the same moment
    as the phases (--at, else the block's time). With --at the health inputs
    are read before the chain (malformed input fails first); without it, after.

    Exit codes: 0 shown; 1 chain (or database) unreachable or not a VersionBeacon;
    2 bad flags or configuration, malformed or lost health input.

    Examples:

        noderr rollout status --rpc-url https://sepolia.base.org --beacon 0xAbC...

        noderr rollout status --tier oracle --json | jq '.tiers[0].phase'

        noderr rollout status --block 18200000 --at 2026-02-01T00:00:00Z

        noderr rollout status --tier oracle --health exports/ --max-age 15m

        noderr rollout status -t oracle -H telemetry.csv --columns nodeId=host --skip-invalid
    """
    from noderr_deploy.chain.beacon import read_from_settings
    from noderr_deploy.chain.state import rollout_status

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    flags = HealthFlags.of(ctx)  # the health options above, by name, and how each was given
    if not health:
        flags.check_unused(ctx)
    sources = flags.sources()
    cfg = load_optional(config)
    tiers = select_tiers(cfg, tier or [])
    moment = parse_at(at)
    settings = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    reader = None
    if sources:
        # Every health option is checked before the chain is read (with "now" standing in
        # for the block's time, which only the chain tells).
        reader = _HealthReader(env, out, flags, sources, cfg=cfg, timeout=timeout)
        reader.check(moment or env.now())
    # With --at, health inputs first: malformed input fails before the network is touched,
    # and the reader's worker processes are forked before any spinner thread or web3 runs.
    read = reader.read(moment) if reader is not None and moment is not None else None
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
    if reader is not None:
        result = reader.apply(result, read or reader.read(result.at))
    if json_:
        out.json(result.document())
        return
    render(out, result, explicit_at=moment is not None)


class _HealthReader:
    """``--health`` and its options, read by the core read ``rollback check`` uses
    (:func:`noderr_deploy.rollback.reading.read_health`), at the status's moment."""

    def __init__(
        self,
        env: Environment,
        out: Output,
        flags: HealthFlags,
        sources: tuple[str | Path, ...],
        *,
        cfg: Config | None,
        timeout: float | None,
    ) -> None:
        from noderr_deploy.config.sections import FileSettings

        self.env, self.out, self.flags, self.sources = env, out, flags, sources
        self.config = None if cfg is None else cfg.path
        self.file = FileSettings() if cfg is None else FileSettings.of(cfg)
        self.timeout = timeout
        self.request: HealthRequest | None = None

    def _request(self, at: datetime) -> HealthRequest:
        return self.flags.request(self.sources, at=at, config=self.config, timeout=self.timeout)

    def check(self, at: datetime) -> None:
        from noderr_deploy.rollback.reading import plan_read

        plan_read(self._request(at), self.file)

    def read(self, at: datetime) -> HealthOutcome[LatestFold]:
        from noderr_deploy.rollback.reading import LatestFold, plan_read, read_health

        self.request = request = self._request(at)
        announce_read(self.out, self.sources)
        plan = plan_read(request, self.file)
        return read_health(request, LatestFold, plan=plan, stdin=self.env.stdin)

    def apply(self, result: RolloutStatus, read: HealthOutcome[LatestFold]) -> RolloutStatus:
        """``result`` with the health read's adoption and counts; what the read noticed,
        on stderr."""
        from noderr_deploy.chain.state import with_health
        from noderr_deploy.rollback.reading import read_messages

        request = self.request
        assert request is not None
        counts = read.counts
        result = with_health(
            result,
            read.fold.latest,
            records=counts.records,
            invalid=counts.invalid,
            max_age=request.max_age,
            read=counts,
        )
        assert result.health is not None
        said = read_messages(
            request,
            counts,
            read.problems,
            incomplete_nodes=result.health.incomplete,
            warnings=read.warnings,
        )
        tell_read(
            self.out,
            notes=said.notes,
            warnings=said.warnings,
            skipped=said.skipped,
            problems=said.problems,
        )
        return result


def render(out: Output, result: RolloutStatus, *, explicit_at: bool = False) -> None:
    """The human view of a rollout status."""
    from noderr_deploy.chain.beacon import TIER_NAMES
    from noderr_deploy.text import printable
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
            out.text(f"{printable(t.tier)}: no version published; {reporting} node(s) reporting")


def _health_line(result: RolloutStatus) -> str:
    """The counts of the health read, as ``rollback check``'s summary says them."""
    h = result.health
    assert h is not None
    read = f"Health exports: {h.records} record(s), {h.invalid} invalid skipped"
    if h.future:
        read += f", {h.future} future left out"
    if h.lost_bytes or h.lost_records:
        read += f", {h.lost_bytes} bytes lost"
        if h.lost_records:
            read += f" ({h.lost_records} records or more)"
    line = f"{read}; {h.nodes} node(s), {h.stale} stale"
    if h.max_age is not None:
        line += f" (latest report older than {_duration(h.max_age.total_seconds())})"
    if h.incomplete:
        line += f", {h.incomplete} incomplete"
    return line


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _render_tier(out: Output, t: TierStatus) -> None:
    from noderr_deploy.text import printable
    from noderr_deploy.units import iso

    v = t.version
    assert v is not None
    out.text(f"{printable(t.tier)}: version {v.version_id} {printable(v.version_string)}")
    out.text(f"  image tag    {printable(v.docker_image_tag)}")
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
