"""A tier's rollback proposal: the core of ``noderr rollback propose``, and the hook by
which ``rollback check --propose FILE`` writes one for a ``rollback`` verdict (each
command's module imports it, neither the other's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from noderr_deploy.commands._action import ActionOptions, check_text
from noderr_deploy.commands._delivery import Delivery
from noderr_deploy.commands._options import GivenPath
from noderr_deploy.errors import UsageError

if TYPE_CHECKING:
    from noderr_deploy.chain.settings import ChainSettings
    from noderr_deploy.config.schema import Config
    from noderr_deploy.environment import Environment
    from noderr_deploy.rollback import RollbackResult
    from noderr_deploy.ui.output import Output

_MAX_REASON = 1000


def propose_rollback(
    env: Environment,
    out: Output,
    cfg: Config | None,
    settings: ChainSettings,
    delivery: Delivery,
    *,
    tier: str,
    reason: str,
    to_version_id: int | None = None,
    abi: Path | None = None,
    args: list[str] | None = None,
    evidence: tuple[str, ...] = (),
) -> None:
    """Prepare the rollback of ``tier`` and deliver it (the core of both entry points)."""
    from noderr_deploy.chain.actions import RollbackRequest, prepare_rollback
    from noderr_deploy.chain.binding import parse_args
    from noderr_deploy.commands._action import resolve_abi, run
    from noderr_deploy.commands._chain import select_tiers

    check_text(reason, "--reason")
    if not reason.strip():
        raise UsageError("--reason is empty: say why the tier rolls back")
    if len(reason) > _MAX_REASON:
        raise UsageError(f"--reason is {len(reason)} characters: keep it under {_MAX_REASON}")
    tier_name, slot = select_tiers(cfg, [tier])[0]
    request = RollbackRequest(
        tier=tier_name,
        beacon_tier=slot,
        reason=reason,
        abi=resolve_abi(cfg, abi),
        to_version_id=to_version_id,
        args=parse_args(args or []),
        evidence=evidence,
    )
    run(
        env,
        out,
        settings,
        delivery,
        lambda client, address: prepare_rollback(
            client, address, request, chain_id=settings.chain_id
        ),
    )


# ---- rollback check --propose FILE ----

ProposeOption = Annotated[
    Path | None,
    typer.Option(
        "--propose",
        metavar="FILE",
        click_type=GivenPath(dir_okay=False),
        help="On a rollback verdict, also write the tier's rollback proposal to FILE (with"
        " the verdict's reasons); nothing is written otherwise. Needs --tier.",
        rich_help_panel="Proposal",
    ),
]
ProposeFormatOption = Annotated[
    str,
    typer.Option(
        "--propose-format",
        metavar="safe|proposal|tx",
        help="The --propose file's format (as rollback propose --format).",
        rich_help_panel="Proposal",
    ),
]


def check_propose(
    propose_file: Path | None, tier: str | None, fmt: str, safe: str | None, safe_given: str
) -> Delivery | None:
    """Validate ``--propose`` before any report is read (exit 2 at once, not after);
    ``safe_given`` is how ``--safe`` was given (a flag, or its variable)."""
    if propose_file is None:
        return None
    if tier is None:
        raise UsageError("--propose needs --tier: the tier whose rollback is proposed")
    given = {"fmt": "--propose-format", "safe": safe_given}
    return Delivery(fmt, safe, propose_file, given=given).check()


@contextmanager
def proposing(
    env: Environment,
    out: Output,
    delivery: Delivery | None,
    result: RollbackResult,
    **chain: Any,
) -> Iterator[None]:
    """Around rendering a verdict: when it ends the command with a rollback verdict, write
    the proposal first (``chain``: the check's config and chain options)."""
    try:
        yield
    except typer.Exit:
        propose_from_verdict(env, out, delivery, result, **chain)
        raise


def propose_from_verdict(
    env: Environment,
    out: Output,
    delivery: Delivery | None,
    result: RollbackResult,
    *,
    config: Path | None,
    rpc_url: str | None,
    beacon: str | None,
    chain_id: int | None,
    timeout: float | None,
) -> None:
    """``rollback check --propose``: write the rollback proposal when the verdict says so.

    The verdict's triggering cohorts and their reasons become the reason and description.
    """
    if delivery is None or result.verdict != "rollback" or result.tier is None:
        return
    from noderr_deploy.commands._options import load_optional

    cfg = load_optional(config)
    chain = ActionOptions(rpc_url=rpc_url, beacon=beacon, chain_id=chain_id, timeout=timeout)
    settings = chain.settings(cfg)
    triggered = result.triggered
    reason = f"rollback check: version {result.version}: " + "; ".join(
        f"{c.cohort} {', '.join(c.reasons)}" for c in triggered
    )
    evidence = (
        f"Verdict of noderr rollback check at {result.at}: rollback of version"
        f" {result.version} ({result.reports.nodes} nodes reporting).",
        *(
            f"- {c.cohort}: {', '.join(c.reasons)} ({c.unhealthy} of {c.nodes} nodes unhealthy)"
            for c in triggered
        ),
    )
    propose_rollback(
        env,
        out,
        cfg,
        settings,
        delivery,
        tier=result.tier,
        reason=reason[:_MAX_REASON],
        evidence=evidence,
    )
