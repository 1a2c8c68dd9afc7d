"""``noderr rollout status``: each tier's current version and rollout phase, from the chain."""

from __future__ import annotations

from typing import Annotated

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
from noderr_deploy.ui.output import Output


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
    from functools import partial

    from noderr_deploy.chain.rollout import RolloutRequest, rollout_status_report
    from noderr_deploy.ui.rollout import TerminalProgress, show_status

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
    health_at = None
    if sources:
        path = None if cfg is None else cfg.path
        health_at = partial(flags.request, sources, config=path, timeout=timeout)
    request = RolloutRequest(settings, tuple(tiers), at=moment, health=health_at, config=cfg)
    result = rollout_status_report(
        request, clock=env.now, stdin=env.stdin, progress=TerminalProgress(out)
    )
    show_status(out, result, json=json_, explicit_at=moment is not None)
