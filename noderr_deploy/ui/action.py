"""The human side of a proposed or sent beacon call: what it does, decoded, on stderr.

Everything here may hold text from outside (a reason, a version string read from the chain,
an ABI's parameter names): it is written as plain text, never as markup, with control
characters shown escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from noderr_deploy.chain.binding import show_value
from noderr_deploy.results import Document
from noderr_deploy.text import printable

if TYPE_CHECKING:
    from noderr_deploy.chain.actions import Prepared
    from noderr_deploy.chain.beacon import VersionInfo
    from noderr_deploy.chain.send import SendResult, Signer


def version_line(version: VersionInfo | None) -> str:
    if version is None:
        return "no version"
    flag = ", emergency rollback" if version.is_emergency_rollback else ""
    return printable(
        f"version id {version.version_id}: {version.version_string}"
        f" (image {version.docker_image_tag}{flag})"
    )


def summary(prepared: Prepared) -> list[str]:
    """The lines shown before a proposal is written or a transaction sent."""
    action = prepared.action
    before = prepared.before
    lines = [
        printable(action.title),
        f"  contract: VersionBeacon {action.target} on chain {action.chain_id}",
        f"  now:      tier {printable(action.tier)} (beacon tier {action.beacon_tier}) has"
        f" {version_line(prepared.current)} at block {before.block.number}",
        f"  call:     {printable(action.call.function.signature)}",
    ]
    for (name, kind, value), origin in zip(
        action.call.named_args(), action.call.origins, strict=True
    ):
        lines.append(
            f"    {printable(name or '?')} ({kind}) = {printable(show_value(value))}"
            f"  [{printable(origin)}]"
        )
    lines += [f"  note:     {printable(n)}" for n in prepared.notes]
    return lines


def sent_lines(
    result: SendResult, signer: Signer, tier: str, after: VersionInfo | None
) -> list[str]:
    return [
        f"sent {result.transaction_hash} from {result.sender} ({printable(signer.source)}):"
        f" mined in block {result.block}, gas used {result.gas_used}",
        f"tier {printable(tier)} now has {version_line(after)} (read at block {result.block})",
    ]


class SentVersion(Document, frozen=True):
    """The tier's version read back after a ``--send``."""

    version_id: int
    version_string: str
    docker_image_tag: str
    config_hash: str
    is_emergency_rollback: bool


class SentDocument(Document, frozen=True, kw_only=True):
    """The ``--send`` result on stdout."""

    transaction_hash: str
    block_number: int
    gas_used: int
    sender: str = msgspec.field(name="from")
    tier: str
    beacon_tier: int
    new_version: SentVersion | None


def sent_document(
    result: SendResult, tier: str, beacon_tier: int, after: VersionInfo | None
) -> SentDocument:
    """The ``--send`` result on stdout (JSON, camelCase)."""
    return SentDocument(
        transaction_hash=result.transaction_hash,
        block_number=result.block,
        gas_used=result.gas_used,
        sender=result.sender,
        tier=tier,
        beacon_tier=beacon_tier,
        new_version=None
        if after is None
        else SentVersion(
            version_id=after.version_id,
            version_string=after.version_string,
            docker_image_tag=after.docker_image_tag,
            config_hash=after.config_hash,
            is_emergency_rollback=after.is_emergency_rollback,
        ),
    )
