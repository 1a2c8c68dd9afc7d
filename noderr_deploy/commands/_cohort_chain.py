"""``noderr cohort`` with the VersionBeacon: whether the flags ask for the chain, and how
to read it (a :class:`~noderr_deploy.chain.source.ChainRequest`).

Nothing heavy is imported until a chain option is given: the offline ``noderr cohort``
stays as fast as before.
"""

from __future__ import annotations

from pathlib import Path

import typer

from noderr_deploy.chain.source import ChainRequest, PlanFlags
from noderr_deploy.commands._options import given_flags
from noderr_deploy.errors import UsageError

# Options that ask for the chain, and those that only tune how it is read.
_CHAIN_SWITCHES = {"tier": "--tier", "rpc_url": "--rpc-url", "beacon": "--beacon"}
_CHAIN_TUNING = {"chain_id": "--chain-id", "block": "--block", "timeout": "--timeout"}


def chain_request(
    ctx: typer.Context,
    flags: PlanFlags,
    *,
    published_at: str | None,
    config: Path | None,
    tier: str | None,
    rpc_url: str | None,
    beacon: str | None,
    chain_id: int | None,
    block: str,
    timeout: float | None,
) -> ChainRequest | None:
    """What to read from the VersionBeacon, or None when no chain option was given.

    Only options on the command line ask for the chain: an exported NODERR_RPC_URL (set for
    ``rollout status``) must not turn every offline ``noderr cohort`` into a network call.
    """
    switches = given_flags(ctx, _CHAIN_SWITCHES)
    if not switches:
        tuning = given_flags(ctx, _CHAIN_TUNING)
        if tuning:
            raise UsageError(
                f"{tuning[0]} tunes reading the VersionBeacon: give --rpc-url, --beacon or"
                " --tier too"
            )
        return None
    from noderr_deploy.chain.source import check_chain_conflicts
    from noderr_deploy.commands._chain import chain_settings, select_tiers
    from noderr_deploy.commands._options import load_optional

    check_chain_conflicts(
        flags,
        published_at_given=published_at is not None,
        tier=tier,
        chain_flag=switches[0] if tier is None else "--tier",
    )
    cfg = load_optional(config)
    settings = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    if tier is None:
        return ChainRequest(settings)
    ((name, slot),) = select_tiers(cfg, [tier])
    return ChainRequest(settings, name, slot)
