"""Options and flow shared by the commands that turn a decision into a beacon call
(``noderr publish``, ``noderr rollback propose``, ``rollback check --propose``).

The flow: resolve the chain settings and the write ABI, let the command's core function
prepare the call, show it decoded on stderr, then either write the proposal (stdout or
``--out``, atomically) or, with ``--send``, sign, confirm, send and re-read the beacon.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from noderr_deploy.commands._chain import BeaconOption, ChainIdOption, RpcUrlOption
from noderr_deploy.commands._delivery import Delivery
from noderr_deploy.commands._options import (
    ConfigOption,
    GivenPath,
    QuietOption,
    given_as,
    on_command_line,
)
from noderr_deploy.errors import UsageError
from noderr_deploy.text import is_utf8

if TYPE_CHECKING:
    from noderr_deploy.chain.actions import Prepared
    from noderr_deploy.chain.rpc import RpcClient
    from noderr_deploy.chain.settings import ChainSettings
    from noderr_deploy.chain.writeabi import WriteAbi
    from noderr_deploy.config.schema import Config
    from noderr_deploy.environment import Environment
    from noderr_deploy.ui.output import Output

_OUT = "Output"
_SEND = "Sending (instead of proposing)"
SEND_TIMEOUT = 120.0


FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="safe|proposal|tx",
        help="safe: a Safe Transaction Builder batch (needs --safe); proposal: the governance"
        " client's {type, description, target, data, value, metadata}; tx: {chainId, to,"
        " value, data}.",
        rich_help_panel=_OUT,
    ),
]
SafeOption = Annotated[
    str | None,
    typer.Option(
        "--safe",
        envvar="NODERR_SAFE_ADDRESS",
        show_envvar=True,
        metavar="ADDRESS",
        help="The Safe that will execute the batch (--format safe).",
        rich_help_panel=_OUT,
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        click_type=GivenPath(dir_okay=False),
        help="Write the proposal to FILE (atomically) instead of stdout.",
        rich_help_panel=_OUT,
    ),
]
AbiOption = Annotated[
    Path | None,
    typer.Option(
        "--abi",
        metavar="FILE",
        click_type=GivenPath(dir_okay=False),
        help="The deployed VersionBeacon's ABI (JSON list, or an artifact with 'abi')."
        " Default: tiers.yaml beacon.abi, else the shipped test contract's write ABI.",
    ),
]
ArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--arg",
        metavar="NAME=VALUE",
        help="Give (or override) the function's parameter NAME (repeatable; tuples and"
        " arrays as JSON).",
        show_default=False,
    ),
]
SendOption = Annotated[
    bool,
    typer.Option(
        "--send",
        help="Sign and send the transaction instead of proposing it.",
        rich_help_panel=_SEND,
    ),
]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        metavar="FILE",
        click_type=GivenPath(dir_okay=False),
        envvar="NODERR_KEYSTORE",
        show_envvar=True,
        help="Encrypted JSON keystore to sign with; its password from"
        " NODERR_KEYSTORE_PASSWORD, else a terminal prompt (never a flag).",
        rich_help_panel=_SEND,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="ADDRESS",
        help="Send from an account the node unlocks (development chains: needs --chain-id,"
        " and the account in the node's eth_accounts).",
        rich_help_panel=_SEND,
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Send without asking (needed without a terminal).",
        rich_help_panel=_SEND,
    ),
]
ActionTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        envvar="NODERR_RPC_TIMEOUT",
        show_envvar=True,
        min=0.1,
        help="Seconds for all RPC requests together; with --send, for the receipt too."
        " Default: 10, or 120 with --send.",
        rich_help_panel="Chain",
    ),
]


@dataclass(frozen=True)
class ActionOptions:
    """The options every beacon action takes, after its own (``publish``, ``rollback
    propose``): declared once here, added to a command by :func:`action_command`."""

    output_format: FormatOption = "proposal"
    safe: SafeOption = None
    out_file: OutOption = None
    abi: AbiOption = None
    arg: ArgOption = None
    send: SendOption = False
    keystore: KeystoreOption = None
    sender: FromOption = None
    yes: YesOption = False
    rpc_url: RpcUrlOption = None
    beacon: BeaconOption = None
    chain_id: ChainIdOption = None
    timeout: ActionTimeoutOption = None
    config: ConfigOption = None
    quiet: QuietOption = False

    def delivery(self, ctx: click.Context) -> Delivery:
        """How the call leaves, checked for contradictions before anything is read."""
        return Delivery(
            self.output_format,
            self.safe,
            self.out_file,
            self.send,
            self.keystore,
            self.sender,
            self.yes,
            {
                "safe": given_as(ctx, "safe"),
                "keystore": given_as(ctx, "keystore"),
                **({"fmt": "--format"} if on_command_line(ctx, "output_format") else {}),
            },
        ).check()

    def settings(self, cfg: Config | None) -> ChainSettings:
        """The chain settings (flag > variable > tiers.yaml), with the longer default
        timeout of ``--send``, which waits for the receipt."""
        from noderr_deploy.commands._chain import chain_settings

        timeout = self.timeout
        if timeout is None and self.send:
            timeout = SEND_TIMEOUT
        return chain_settings(
            cfg, rpc_url=self.rpc_url, beacon=self.beacon, chain_id=self.chain_id, timeout=timeout
        )


def action_command(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the :class:`ActionOptions` after its own parameters: typer reads
    the signature, so they appear in ``--help`` as if written out; the command receives
    them as one ``options`` keyword argument."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "options"]
    hints = inspect.get_annotations(ActionOptions, eval_str=True)
    shared = [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
        )
        for f in fields(ActionOptions)
    ]

    @functools.wraps(command)
    def with_options(*args: Any, **kwargs: Any) -> None:
        values = {f.name: kwargs.pop(f.name) for f in fields(ActionOptions)}
        command(*args, options=ActionOptions(**values), **kwargs)

    with_options.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *shared]
    )
    return with_options


def resolve_abi(config: Config | None, abi: Path | None) -> WriteAbi:
    """``--abi``, else tiers.yaml ``beacon.abi`` (relative to the file), else the default."""
    from noderr_deploy.chain.writeabi import load_abi

    if abi is not None:
        return load_abi(abi)
    configured = getattr(config.beacon, "abi", None) if config is not None else None
    if configured and config is not None:
        return load_abi(config.path.parent / configured)
    return load_abi(None)


def check_text(value: str, flag: str, *, printable: bool = False) -> str:
    """Text for the chain must be valid Unicode (argv bytes that are not UTF-8 are not);
    with ``printable``, free of control characters too (a version string nodes compare)."""
    if not is_utf8(value):
        raise UsageError(f"{flag}: not valid UTF-8 text")
    if printable and not value.isprintable():
        raise UsageError(f"{flag} {value!r}: control characters are not allowed")
    return value


def run(
    env: Environment,
    out: Output,
    settings: ChainSettings,
    delivery: Delivery,
    prepare: Callable[[RpcClient, str], Prepared],
) -> Prepared:
    """Prepare the call with ``prepare(client, beacon_address)``, show it, then deliver it."""
    from noderr_deploy.chain.rpc import connect
    from noderr_deploy.ui.action import summary

    client = connect(settings)
    prepared = prepare(client, settings.beacon_address)
    if not out.quiet:
        for line in summary(prepared):
            out.stderr.write(line + "\n")
        out.stderr.flush()
    if delivery.send:
        _send(env, out, settings, delivery=delivery, prepared=prepared, client=client)
    else:
        _write(env, out, delivery, prepared)
    return prepared


def _write(env: Environment, out: Output, delivery: Delivery, prepared: Prepared) -> None:
    from noderr_deploy.chain.proposal import Format, document
    from noderr_deploy.files import write_text
    from noderr_deploy.ui.output import to_json

    created = int(env.now().timestamp() * 1000)
    proposal = document(
        prepared.action, Format(delivery.fmt), safe=delivery.safe, created_at_ms=created
    )
    text = to_json(proposal) + "\n"
    if delivery.out is None:
        out.machine(text)  # UTF-8 whatever the locale, as every JSON document
        return
    write_text(delivery.out, text, flag="--out")
    out.info(f"wrote the {delivery.fmt} proposal to {delivery.out}")


def _send(
    env: Environment,
    out: Output,
    settings: ChainSettings,
    *,
    delivery: Delivery,
    prepared: Prepared,
    client: RpcClient,
) -> None:
    from noderr_deploy.chain.beacon import read_beacon
    from noderr_deploy.chain.send import Sender, read_keystore
    from noderr_deploy.text import printable
    from noderr_deploy.ui.action import sent_document, sent_lines
    from noderr_deploy.ui.output import to_json

    action = prepared.action
    interactive = env.stdin_isatty and env.stderr_isatty
    if not delivery.yes and not interactive:
        raise UsageError("--send without a terminal to confirm on: add --yes")
    sender = Sender(settings.rpc_url, settings.timeout)
    if delivery.keystore is not None:
        signer = read_keystore(
            delivery.keystore,
            environ=env.environ,
            prompt=_password_prompt if interactive else None,
            flag=delivery.name("keystore"),
        )
    else:
        assert delivery.sender is not None
        signer = sender.node_signer(delivery.sender, settings.chain_id, action.chain_id)
    tx = sender.transaction(action, signer)
    if not out.quiet or not delivery.yes:
        out.stderr.write(
            f"  send:     from {signer.address} ({printable(signer.source)}),"
            f" gas limit {tx['gas']}\n"
        )
        out.stderr.flush()
    if not delivery.yes and not typer.confirm("Send this transaction?", default=False, err=True):
        raise UsageError("not sent (declined)")
    result = sender.send(tx, signer, action.call.function.name)
    after = read_beacon(
        client, action.target, [action.beacon_tier], result.block, action.chain_id
    ).versions.get(action.beacon_tier)
    if not out.quiet:
        for line in sent_lines(result, signer, action.tier, after):
            out.stderr.write(line + "\n")
    out.machine(to_json(sent_document(result, action.tier, action.beacon_tier, after)) + "\n")


def _password_prompt(message: str) -> str:
    import getpass

    return getpass.getpass(message)
