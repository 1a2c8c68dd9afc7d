"""``noderr rollback propose``: propose (or send) a tier's emergency rollback on the beacon.

Its core, :func:`~noderr_deploy.commands._rollback_proposal.propose_rollback`, is shared
with ``rollback check --propose FILE``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from noderr_deploy.commands._action import ActionOptions, action_command
from noderr_deploy.commands._options import environment
from noderr_deploy.commands._rollback_proposal import propose_rollback
from noderr_deploy.ui.output import Output


@action_command
def propose(
    ctx: typer.Context,
    tier: Annotated[str, typer.Option("--tier", "-t", help="The tier to roll back (tiers.yaml).")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            "-r",
            help="Why: goes into the call (where the ABI"
            " takes a reason) and the proposal's description.",
        ),
    ],
    to_version_id: Annotated[
        int | None,
        typer.Option(
            "--to-version-id",
            min=1,
            help="The version to go back to, where the ABI's function takes one. Default: the"
            " tier's previous published version (from its VersionPublished events).",
            show_default=False,
        ),
    ] = None,
    *,
    options: ActionOptions,
) -> None:
    """Propose the emergency rollback of a tier on the VersionBeacon (or --send it).

    Binds the ABI's emergencyRollback by parameter name; --arg NAME=VALUE gives any other.

    The proposal goes to stdout (or --out), the decoded call to stderr.

    Exit codes: 0 proposed or sent; 1 unreachable or reverted; 2 bad input, no earlier version.

    Examples:

        noderr rollback propose -t oracle --reason "cohort1 unhealthy" -f safe --safe 0x5afe...

        noderr rollback propose -t oracle --reason "bad build" --send --keystore ops.json
    """
    from noderr_deploy.commands._options import load_optional

    env = environment(ctx)
    out = Output.of(env, quiet=options.quiet)
    delivery = options.delivery(ctx)
    cfg = load_optional(options.config)
    propose_rollback(
        env,
        out,
        cfg,
        options.settings(cfg),
        delivery,
        tier=tier,
        reason=reason,
        to_version_id=to_version_id,
        abi=options.abi,
        args=options.arg or [],
    )
