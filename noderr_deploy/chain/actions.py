"""From a decision to a beacon call: what ``noderr publish`` and ``rollback propose`` prepare.

Each ``prepare_*`` reads what it needs from the chain (the chain id, the tier's current
version and, for a rollback without a target, the tier's ``VersionPublished`` events), binds
the write ABI's function by parameter name (:mod:`noderr_deploy.chain.writeabi`) and returns
an :class:`~noderr_deploy.chain.proposal.Action` with the state it was prepared against.
The commands render it (:mod:`noderr_deploy.chain.proposal`) or send it
(:mod:`noderr_deploy.chain.send`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from noderr_deploy.chain.beacon import BeaconSnapshot, VersionInfo, read_beacon
from noderr_deploy.chain.binding import BoundCall, Values, bind
from noderr_deploy.chain.proposal import (
    Action,
    ProposalMetadata,
    PublishMetadata,
    RollbackMetadata,
    call_args,
)
from noderr_deploy.chain.rpc import RpcClient
from noderr_deploy.chain.writeabi import ALIASES, Event, WriteAbi, normalise
from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.errors import ChainError, UsageError
from noderr_deploy.text import printable, sanitized

PUBLISH_FUNCTION = "publishVersion"
ROLLBACK_FUNCTION = "emergencyRollback"
PUBLISHED_EVENT = "VersionPublished"

_HINTS = {
    "tier": "--tier",
    "version": "--version",
    "image": "--image-tag",
    "config_hash": "--config-hash or --config-file FILE",
    "to_version_id": "--to-version-id",
}


@dataclass(frozen=True)
class PublishRequest:
    """``noderr publish``: version ``version`` of ``tier``, its image tag and config hash."""

    tier: str
    beacon_tier: int
    version: str
    image_tag: str
    config_hash: bytes | None
    plan: RolloutPlan
    abi: WriteAbi
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RollbackRequest:
    """``noderr rollback propose``: roll ``tier`` back, for ``reason``."""

    tier: str
    beacon_tier: int
    reason: str
    abi: WriteAbi
    to_version_id: int | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    """Lines added to the description (the verdict's reasons)."""


@dataclass(frozen=True)
class Prepared:
    """An action and the beacon as it stood when it was prepared."""

    action: Action
    before: BeaconSnapshot
    notes: tuple[str, ...] = ()

    @property
    def current(self) -> VersionInfo | None:
        return self.before.versions.get(self.action.beacon_tier)


def prepare_publish(
    client: RpcClient,
    address: str,
    request: PublishRequest,
    *,
    block: Any = "latest",
    chain_id: int | None = None,
) -> Prepared:
    """Bind ``publishVersion`` (or the ABI's function of that name) for ``request``."""
    before = read_beacon(client, address, [request.beacon_tier], block, chain_id)
    function = request.abi.function(PUBLISH_FUNCTION)
    plan = request.plan
    values = Values(
        tier_name=request.tier,
        beacon_tier=request.beacon_tier,
        version=request.version,
        image=request.image_tag,
        config_hash=request.config_hash,
        emergency=False,
        canary_percentage=plan.canary_percentage,
        cohort_percentage=plan.cohort_percentage,
        cohort_delay_hours=plan.cohort_delay_hours,
        hints=_HINTS,
    )
    call = bind(function, values, request.args)
    current = before.versions.get(request.beacon_tier)
    title = f"Publish {request.version} for tier {request.tier}"
    lines = [
        f"{_where(title, request.beacon_tier, address, before)}: image tag {request.image_tag}.",
        f"Current version at block {before.block.number}: {_version_line(current)}.",
    ]
    if request.config_hash is not None:
        lines.append(f"Config hash: 0x{request.config_hash.hex()}.")
    metadata = PublishMetadata(
        **_common(before, request.tier, request.beacon_tier, call),
        version=request.version,
        image_tag=request.image_tag,
        config_hash="0x" + request.config_hash.hex() if request.config_hash else None,
    )
    return _prepared("version_update", title, lines, metadata, at=(address, before, call))


def _common(before: BeaconSnapshot, tier: str, beacon_tier: int, call: BoundCall) -> dict[str, Any]:
    """The metadata every action has (:class:`ProposalMetadata`, and the tier's current
    version and the block, which each kind's struct places after its own fields)."""
    current = before.versions.get(beacon_tier)
    return {
        "chain_id": before.chain_id,
        "function": call.function.signature,
        "args": call_args(call),
        "tier": tier,
        "beacon_tier": beacon_tier,
        "current_version_id": current.version_id if current else None,
        "block": before.block.number,
    }


def _where(title: str, beacon_tier: int, address: str, before: BeaconSnapshot) -> str:
    return (
        f"{title} (beacon tier {beacon_tier}) on VersionBeacon {address}, chain {before.chain_id}"
    )


def _prepared(
    kind: str,
    title: str,
    lines: list[str],
    metadata: ProposalMetadata,
    *,
    at: tuple[str, BeaconSnapshot, BoundCall],
    notes: list[str] | None = None,
) -> Prepared:
    """The action of ``call`` on the beacon at ``address`` as it stood ``before``
    (``at``), described by ``lines``."""
    address, before, call = at
    action = Action(
        kind=kind,
        title=title,
        # Signers read it: no control or bidi character of the chain's or a file's text
        # reaches them, and a line stays the line it was written as.
        description="\n".join(sanitized(line) for line in lines),
        chain_id=before.chain_id,
        target=address,
        call=call,
        metadata=metadata,
        tier=metadata.tier,
        beacon_tier=metadata.beacon_tier,
    )
    return Prepared(action, before, tuple(notes or ()))


def prepare_rollback(
    client: RpcClient,
    address: str,
    request: RollbackRequest,
    *,
    block: Any = "latest",
    chain_id: int | None = None,
) -> Prepared:
    """Bind ``emergencyRollback`` for ``request``; a target version the ABI takes and the
    request leaves open is the tier's previous published version (from its events)."""
    before = read_beacon(client, address, [request.beacon_tier], block, chain_id)
    function = request.abi.function(ROLLBACK_FUNCTION)
    current = before.versions.get(request.beacon_tier)
    takes_target = [p for p in function.inputs if ALIASES.get(normalise(p.name)) == "to_version_id"]
    target_given = request.to_version_id is not None or any(
        normalise(p.name) in request.args for p in takes_target
    )
    if request.to_version_id is not None and not takes_target:
        raise UsageError(
            f"--to-version-id: {function.signature} in {request.abi.source} takes no target"
            " version (drop the flag)"
        )
    to_version = request.to_version_id
    notes: list[str] = []
    if takes_target and not target_given:
        event = request.abi.event(PUBLISHED_EVENT)
        if event is None:
            raise UsageError(
                f"{function.signature} takes a target version, and the ABI {request.abi.source}"
                f" has no {PUBLISHED_EVENT} event to find the previous one: pass --to-version-id"
            )
        to_version = previous_version_id(
            client, address, event, request=request, current=current, block=before.block.number
        )
        notes.append(
            f"target version {to_version}: the tier's previous published version"
            f" ({PUBLISHED_EVENT} events up to block {before.block.number})"
        )
    values = Values(
        tier_name=request.tier,
        beacon_tier=request.beacon_tier,
        reason=request.reason,
        to_version_id=to_version,
        emergency=True,
        hints={
            **_HINTS,
            "reason": "--reason",
            **({"to_version_id": f"{PUBLISHED_EVENT} events"} if notes else {}),
        },
    )
    call = bind(function, values, request.args)
    title = f"Emergency rollback of tier {request.tier}"
    lines = [
        f"{_where(title, request.beacon_tier, address, before)}.",
        f"Reason: {request.reason}",
        f"Current version at block {before.block.number}: {_version_line(current)}.",
    ]
    if to_version is not None:
        lines.append(f"Roll back to version id {to_version}.")
    lines += list(request.evidence)
    metadata = RollbackMetadata(
        **_common(before, request.tier, request.beacon_tier, call),
        reason=request.reason,
        to_version_id=to_version,
    )
    return _prepared(
        "emergency_rollback", title, lines, metadata, at=(address, before, call), notes=notes
    )


def _version_line(version: VersionInfo | None) -> str:
    if version is None:
        return "none"
    flag = ", an emergency rollback" if version.is_emergency_rollback else ""
    return f"id {version.version_id}, {version.version_string} ({version.docker_image_tag}{flag})"


# ---- the tier's published versions, from its events ----


@dataclass(frozen=True)
class PublishedVersion:
    version_id: int
    version_string: str | None
    block: int
    log_index: int


def published_versions(
    client: RpcClient, address: str, event: Event, *, tier_name: str, beacon_tier: int, block: int
) -> list[PublishedVersion]:
    """The tier's ``VersionPublished`` events up to ``block``, oldest first.

    The event must name its version id (``versionId`` or an alias) and its tier; an indexed
    tier is filtered by the node, another one here.
    """
    from eth_abi.abi import decode, encode

    roles = {ALIASES.get(normalise(p.name)): i for i, p in enumerate(event.inputs)}
    if "to_version_id" not in roles or "tier" not in roles:
        raise UsageError(
            f"the {event.name} event of the ABI has no versionId and tier parameters:"
            " pass --to-version-id"
        )
    tier_param = event.inputs[roles["tier"]]
    tier_value: Any = tier_name if tier_param.type == "string" else beacon_tier
    topics: list[Any] = ["0x" + event.topic.hex()]
    indexed = [p for p in event.inputs if p.indexed]
    for param in indexed:
        if param is tier_param:
            if param.type in ("string", "bytes"):
                from noderr_deploy.keccak import keccak256

                topics.append("0x" + keccak256(str(tier_value).encode()).hex())
            else:
                topics.append("0x" + encode([param.canonical], [tier_value]).hex())
        else:
            topics.append(None)
    while topics and topics[-1] is None:
        topics.pop()
    logs = client.request(
        "eth_getLogs",
        [{"address": address, "fromBlock": "0x0", "toBlock": hex(block), "topics": topics}],
        f"the {event.name} events of {address}",
    )
    if not isinstance(logs, list):
        raise ChainError(f"eth_getLogs on {client.redacted_url} did not answer with a list")
    found = []
    plain = [p for p in event.inputs if not p.indexed]
    for log in logs:
        try:
            log_topics = list(log["topics"])[1:]
            values: dict[int, Any] = {}
            for param, topic in zip(indexed, log_topics, strict=False):
                if param.type in ("string", "bytes") or param.type.startswith("tuple"):
                    values[event.inputs.index(param)] = topic  # a hash: not the value
                else:
                    raw = bytes.fromhex(str(topic).removeprefix("0x"))
                    values[event.inputs.index(param)] = decode([param.canonical], raw)[0]
            data = bytes.fromhex(str(log.get("data", "0x")).removeprefix("0x"))
            decoded = decode([p.canonical for p in plain], data)
            for param, value in zip(plain, decoded, strict=True):
                values[event.inputs.index(param)] = value
            if not tier_param.indexed and values[roles["tier"]] != tier_value:
                continue
            version_string = None
            if "version" in roles and isinstance(values.get(roles["version"]), str):
                version_string = values[roles["version"]]
            found.append(
                PublishedVersion(
                    version_id=int(values[roles["to_version_id"]]),
                    version_string=version_string,
                    block=int(str(log["blockNumber"]), 16),
                    log_index=int(str(log["logIndex"]), 16),
                )
            )
        except Exception:
            # A log that does not decode as the ABI says (another event sharing the topic,
            # a lying node): skip it rather than trust it.
            continue
    return sorted(found, key=lambda v: (v.block, v.log_index))


def previous_version_id(
    client: RpcClient,
    address: str,
    event: Event,
    *,
    request: RollbackRequest,
    current: VersionInfo | None,
    block: int,
) -> int:
    """The version a rollback goes back to: the latest one published for the tier before
    its current one, with another version string than the current one (a rollback that
    re-published the same version does not count as "previous")."""
    if current is None:
        raise UsageError(
            f"tier {request.tier!r} (beacon tier {request.beacon_tier}) has no version on the"
            " beacon: nothing to roll back"
        )
    history = published_versions(
        client,
        address,
        event,
        tier_name=request.tier,
        beacon_tier=request.beacon_tier,
        block=block,
    )
    earlier = [v for v in history if v.version_id < current.version_id]
    for version in reversed(earlier):
        if version.version_string is None or version.version_string != current.version_string:
            return version.version_id
    raise UsageError(
        f"tier {request.tier!r} has no version published before its current one"
        f" ({current.version_id}, {printable(current.version_string)}): pass --to-version-id"
    )
