"""``noderr rollout status``: each tier's current version and rollout phase, from the chain."""

from __future__ import annotations

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
from noderr_deploy.commands._options import ConfigOption, JsonOption, QuietOption, load_optional
from noderr_deploy.output import Cell, Output

if TYPE_CHECKING:
    from noderr_deploy.rollout_state import RolloutStatus, TierStatus

app = typer.Typer(
    name="rollout",
    help="Staged rollouts as the VersionBeacon records them.",
    epilog="Example: noderr rollout status --rpc-url https://sepolia.base.org --beacon 0xAbC...",
    no_args_is_help=True,
)


@app.command("status")
def status(  # noqa: PLR0917 - typer passes options as arguments
    tier: Annotated[
        list[str] | None,
        typer.Option(
            "--tier", "-t", help="Tier from tiers.yaml (repeatable). Default: every tier."
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
) -> None:
    """Show each tier's current version on the VersionBeacon and where its rollout stands.

    Every value is read at one block (--block, default latest).
    "Now" for the phases is that block's timestamp (chain time), unless --at is given.
    Phases: canary, cohort1..cohort4, complete. A paused rollout is shown as PAUSED.

    Examples:

        noderr rollout status --rpc-url https://sepolia.base.org --beacon 0xAbC...

        noderr rollout status --tier oracle --json | jq '.tiers[0].phase'

        noderr rollout status --block 18200000 --at 2026-02-01T00:00:00Z
    """
    from noderr_deploy.beacon import read_from_settings
    from noderr_deploy.rollout_state import rollout_status

    out = Output(quiet=quiet)
    cfg = load_optional(config)
    tiers = select_tiers(cfg, tier or [])
    moment = parse_at(at)
    settings = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    with out.status(f"reading the VersionBeacon {settings.beacon_address}"):
        snapshot, requests = read_from_settings(settings, [slot for _, slot in tiers])
    out.info(
        f"read block {snapshot.block.number} of chain {snapshot.chain_id} from"
        f" {settings.redacted_url} in {requests} HTTP request(s)"
    )
    result = rollout_status(snapshot, tiers, moment)
    if json_:
        out.json(result.to_json())
        return
    render(out, result, explicit_at=moment is not None)


def render(out: Output, result: RolloutStatus, *, explicit_at: bool = False) -> None:
    """The human view of a rollout status."""
    from noderr_deploy.beacon import TIER_NAMES
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


def _render_tier(out: Output, t: TierStatus) -> None:
    from noderr_deploy.units import iso

    v = t.version
    assert v is not None
    out.text(f"{t.tier}: version {v.version_id} {v.version_string}")
    out.text(f"  image tag    {v.docker_image_tag}")
    out.text(f"  config hash  {v.config_hash}")
    out.text(f"  published    {iso(v.published_at)} by {v.publisher}")
    out.text(f"  isActive     {'yes' if v.is_active else 'no'}")
    rows = [(e.cohort, iso(e.activates_at), e.active) for e in t.schedule]
    out.table(("cohort", "activates at", "active"), rows)
