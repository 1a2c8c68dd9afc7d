"""Options of the commands that read the VersionBeacon, and their resolution, defined once.

Precedence of every setting: flag > environment variable > tiers.yaml ``beacon:`` section >
built-in default. Nothing heavy is imported here (no web3): see :mod:`noderr_deploy.chain.rpc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from noderr_deploy.commands._options import GivenText, from_environment, given_as
from noderr_deploy.errors import UsageError

if TYPE_CHECKING:
    from noderr_deploy.chain.settings import ChainSettings
    from noderr_deploy.config.schema import Config

_PANEL = "Chain"

_AMBIENT = "noderr.ambient_problems"


class _Ambient(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.3
    """A value that is checked only when the chain is read.

    ``NODERR_CHAIN_ID=base-sepolia`` exported for one tool must not break ``noderr cohort``
    or ``noderr rollback check`` offline: a value that does not convert is recorded in the
    context and reported by :func:`chain_settings`, which only the runs that read the chain
    call (click tells where a value came from only after converting it, so the command
    line and the environment are treated alike here and told apart in the message).
    """

    def __init__(self, inner: click.ParamType[Any], envvar: str) -> None:
        self.inner = inner
        self.envvar = envvar
        self.name = inner.name

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> object:
        try:
            return self.inner.convert(value, param, ctx)
        except click.BadParameter as exc:
            if ctx is None or param is None or param.name is None:
                raise
            flag = param.opts[0] if param.opts else param.name
            problems = ctx.meta.setdefault(_AMBIENT, {})
            # IntRange says "not a valid integer range" of a word: the range is not the point.
            message = exc.message.replace("valid integer range", "valid integer")
            message = message.replace("valid float range", "valid float")
            # click repeats the value ("'abc' is not a valid integer."): it is shown once.
            message = message.removeprefix(f"{value!r} is ").rstrip(".")
            problems[param.name] = (flag, self.envvar, value, message)
            return None


def _ambient_problem() -> None:
    """Raise the first value of a chain option that did not convert (see :class:`_Ambient`)."""
    ctx = click.get_current_context(silent=True)
    problems = ctx.meta.get(_AMBIENT) if ctx is not None else None
    if not problems or ctx is None:
        return
    name, (flag, envvar, value, message) = next(iter(problems.items()))
    if from_environment(ctx, name):
        raise UsageError(f"{envvar}={value!r} (needed to read the chain): {message}")
    raise UsageError(f"{flag} {value!r}: {message}")


RpcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        click_type=GivenText(),
        envvar="NODERR_RPC_URL",
        show_envvar=True,
        help="JSON-RPC endpoint (http/https). Default: tiers.yaml beacon.rpc_url."
        " Shown redacted in every message.",
        rich_help_panel=_PANEL,
    ),
]

BeaconOption = Annotated[
    str | None,
    typer.Option(
        "--beacon",
        click_type=GivenText(),
        envvar="NODERR_BEACON_ADDRESS",
        show_envvar=True,
        help="VersionBeacon (proxy) address. Default: tiers.yaml beacon.address.",
        rich_help_panel=_PANEL,
    ),
]

ChainIdOption = Annotated[
    int | None,
    typer.Option(
        "--chain-id",
        envvar="NODERR_CHAIN_ID",
        show_envvar=True,
        click_type=_Ambient(click.IntRange(min=1), "NODERR_CHAIN_ID"),
        help="Fail unless the endpoint serves this chain. Default: tiers.yaml beacon.chain_id.",
        rich_help_panel=_PANEL,
    ),
]

BlockOption = Annotated[
    str,
    typer.Option(
        "--block",
        help="Read every value at this block: latest, safe, finalized or a number.",
        rich_help_panel=_PANEL,
    ),
]

TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        envvar="NODERR_RPC_TIMEOUT",
        show_envvar=True,
        click_type=_Ambient(click.FLOAT, "NODERR_RPC_TIMEOUT"),
        help="Seconds allowed for all RPC requests of the command together (connecting,"
        " sending, waiting and reading; up to 3 attempts each), above 0 and at most 3600."
        "  [default: 10]",
        rich_help_panel=_PANEL,
    ),
]

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Compute phases for this time (ISO 8601 or unix seconds) instead of the"
        " block's timestamp.",
    ),
]


def chain_settings(
    config: Config | None,
    *,
    rpc_url: str | None,
    beacon: str | None,
    chain_id: int | None,
    block: str = "latest",
    timeout: float | None = None,
) -> ChainSettings:
    """One settings object from the flags (typer already applied the env vars) and tiers.yaml."""
    from noderr_deploy.chain.settings import (
        DEFAULT_TIMEOUT,
        ChainSettings,
        check_timeout,
        checksum_address,
        parse_block,
        parse_endpoint,
    )

    _ambient_problem()
    file = config.beacon if config is not None else None
    where = f" or beacon.{{}} in {config.path}" if config is not None else " or a tiers.yaml"
    url = rpc_url or (file.rpc_url if file else None)
    if not url:
        raise UsageError(
            "no RPC endpoint: pass --rpc-url or set NODERR_RPC_URL" + where.format("rpc_url")
        )
    try:
        parse_endpoint(url)  # a malformed URL is a usage error before anything is read
    except UsageError as exc:  # named as it was given (never shown: it may hold a key)
        origin = (
            _given("rpc_url") if rpc_url else f"{config.path if config else ''}: beacon.rpc_url"
        )
        raise UsageError(f"{origin}: {exc.message}") from None
    address = beacon or (file.address if file else None)
    if not address:
        raise UsageError(
            "no VersionBeacon address: pass --beacon or set NODERR_BEACON_ADDRESS"
            + where.format("address")
        )
    given = _given("beacon") if beacon else f"{config.path if config else ''}: beacon.address"
    what = given if given.startswith("NODERR_") or not beacon else f"{given} address"
    return ChainSettings(
        rpc_url=url,
        beacon_address=checksum_address(address, what),
        chain_id=chain_id if chain_id is not None else (file.chain_id if file else None),
        block=parse_block(block),
        timeout=DEFAULT_TIMEOUT if timeout is None else check_timeout(timeout, _given("timeout")),
    )


def _given(name: str) -> str:
    ctx = click.get_current_context(silent=True)
    return given_as(ctx, name) if ctx is not None else f"--{name}"


DEFAULT_TIERS: tuple[tuple[str, int], ...] = (("validator", 0), ("guardian", 1), ("oracle", 2))
"""The beacon's tier slots, used when there is no tiers.yaml."""


def select_tiers(config: Config | None, names: Sequence[str]) -> list[tuple[str, int]]:
    """``(name, beacon tier)`` of the tiers named (default: all) in tiers.yaml.

    Without a tiers.yaml, the beacon's own slots: validator, guardian, oracle.
    """
    if config is not None:
        chosen = [config.tier(n) for n in names] if names else list(config.tiers)
        return [(t.name, t.beacon_tier) for t in chosen]
    known = dict(DEFAULT_TIERS)
    out = []
    for name in names or [n for n, _ in DEFAULT_TIERS]:
        # The same rule as Config.tier: names match regardless of case.
        folded = name.casefold()
        if folded not in known:
            raise UsageError(
                f"unknown tier {name!r} (no tiers.yaml; known beacon tiers: {', '.join(known)})"
            )
        out.append((folded, known[folded]))
    return out


def parse_at(at: str | None) -> datetime | None:
    """``--at`` as an aware UTC datetime, or None."""
    if at is None:
        return None
    from noderr_deploy.units import parse_time

    try:
        return parse_time(at)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None
