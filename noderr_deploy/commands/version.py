"""``noderr version NODE_ID``: what one node should run, as the deployment engine decides."""

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
from noderr_deploy.commands._options import (
    ConfigOption,
    GivenText,
    JsonOption,
    QuietOption,
    complete_tier,
    environment,
    load_optional,
)
from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.text import is_utf8
from noderr_deploy.ui.output import Output


def version(  # noqa: PLR0917 - typer passes options as arguments
    ctx: typer.Context,
    node_id: Annotated[str, typer.Argument(help="The node's id, hashed byte-exact.")],
    tier: Annotated[
        str,
        typer.Option(
            "--tier", "-t", help="The node's tier (tiers.yaml).", shell_complete=complete_tier
        ),
    ],
    current: Annotated[
        str | None,
        typer.Option(
            "--current", click_type=GivenText(), help="The versionString the node runs now."
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
    """Show the version a node should run, as the deployment engine decides it.

    Reads the tier's current version and the rollout config from the VersionBeacon.
    shouldUpdate: the node's cohort is active (at the block's time, or --at)
    and --current differs from the published versionString (no --current: it differs).
    The canary is active from the publish time on, and also for an --at before it
    (the engine's isCohortActive); the other cohorts k once k x delay has passed.
    updatePriority: emergency for an emergency rollback, else normal.
    A paused rollout is a warning and "paused" in --json.
    Exit 1 if no version is published for the tier.

    Examples:

        noderr version node-042 --tier oracle --current 1.4.0

        noderr version node-042 --tier oracle --json | jq .shouldUpdate
    """
    from noderr_deploy.chain.beacon import read_from_settings
    from noderr_deploy.chain.nodeversion import node_version
    from noderr_deploy.chain.state import rollout_warnings
    from noderr_deploy.units import iso

    env = environment(ctx)
    out = Output.of(env, quiet=quiet)
    check_node_id(node_id)
    if current is not None and not is_utf8(current):  # as every text flag: no versionString
        raise UsageError("--current: not valid UTF-8 text")
    cfg = load_optional(config)
    ((tier_name, slot),) = select_tiers(cfg, [tier])
    moment = parse_at(at)
    settings = chain_settings(
        cfg, rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, block=block, timeout=timeout
    )
    snapshot, _ = read_from_settings(settings, [slot])
    where = (
        f"the VersionBeacon {snapshot.address}, chain {snapshot.chain_id},"
        f" block {snapshot.block.number}"
    )
    published = snapshot.versions[slot]
    if published is None:
        raise ChainError(
            f"no version published for tier {tier_name!r} (beacon tier {slot}) on {where}"
        )
    result = node_version(
        node_id,
        tier_name,
        published,
        snapshot.rollout.plan(),
        at=moment or snapshot.block.time,
        current=current,
        paused=not snapshot.rollout.is_active,
        warnings=rollout_warnings(snapshot.rollout, where),
    )
    for warning in result.warnings:
        out.warn(warning)
    for note in result.notes:
        out.info(note)
    if json_:
        out.json(result.document())
        return
    v = result.version
    verdict = "yes" if result.should_update else "no"
    if result.should_update:
        verdict += f" ({result.update_priority} priority)"
    elif current == v.version_string:
        verdict += " (already on it)"
    elif result.activates_at is None:
        verdict += " (its cohort never activates: the delay reaches past the year 9999)"
    else:
        verdict += " (cohort not active yet)"
    rows = [
        ("node", node_id),
        ("tier", f"{tier_name} (beacon tier {slot})"),
        ("version", f"{v.version_id} {v.version_string}"),
        ("image tag", v.docker_image_tag),
        ("config hash", v.config_hash),
        ("published", iso(v.published_at)),
        ("cohort", f"{result.cohort} (bucket {result.bucket})"),
        ("activates at", iso(result.activates_at) if result.activates_at else "never"),
        ("should update", verdict),
    ]
    if not snapshot.rollout.is_active:
        rows.append(("rollout", "PAUSED on the beacon"))
    out.table(("field", "value"), rows)


def check_node_id(node_id: str) -> None:
    """A :class:`UsageError` for an id the engine cannot hash: empty, or not UTF-8."""
    if not node_id:
        raise UsageError("the node id is empty (the deployment engine refuses an empty id)")
    if not is_utf8(node_id):
        raise UsageError("the node id is not valid UTF-8")
