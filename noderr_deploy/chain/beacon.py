"""Reading the VersionBeacon: its ABI, the values it holds, and the calls that read them.

Reads use exactly the ABI shipped in ``abi/VersionBeacon.json`` (the deployed proxy's read
surface). A tier is read with ``currentVersionId`` then ``versions(id)`` rather than
``getCurrentVersion``, which reverts for a tier without a version. All values of one read
come from one block, in three HTTP requests whatever the number of tiers:

1. ``eth_chainId`` + the block (number and timestamp);
2. ``eth_getCode`` + ``rolloutConfig()`` + ``nextVersionId()`` + ``currentVersionId(t)`` for
   every tier;
3. ``versions(id)`` for every tier that has one.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from noderr_deploy.chain.rpc import BlockInfo, Reply, RpcClient, connect, resolve_block, timestamp
from noderr_deploy.chain.settings import BlockRef, ChainSettings, checksum_address
from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.errors import ChainError
from noderr_deploy.keccak import keccak256
from noderr_deploy.results import Document

TIER_NAMES = {0: "VALIDATOR", 1: "GUARDIAN", 2: "ORACLE"}
"""The beacon's tier enum (tiers.yaml ``beacon_tier``)."""


class RolloutConfig(Document, frozen=True):
    """``rolloutConfig()`` as stored on the beacon (its own JSON document)."""

    canary_percentage: int
    cohort_percentage: int
    cohort_delay_hours: int
    is_active: bool
    """False: the rollout is paused."""

    def plan(self) -> RolloutPlan:
        """The cohort plan; a config the engine could not use is a :class:`ChainError`."""
        try:
            return RolloutPlan(
                self.canary_percentage, self.cohort_percentage, self.cohort_delay_hours
            )
        except ValueError as exc:
            raise ChainError(f"the beacon's rollout config is invalid: {exc}") from None


@dataclass(frozen=True)
class VersionInfo:
    """One ``versions(id)`` entry."""

    version_id: int
    version_string: str
    docker_image_tag: str
    config_hash: str
    """0x-prefixed hex."""
    published_at: datetime
    publisher: str
    is_active: bool
    is_emergency_rollback: bool


@dataclass(frozen=True)
class BeaconSnapshot:
    """Everything one command read, all at ``block``."""

    chain_id: int
    address: str
    block: BlockInfo
    rollout: RolloutConfig
    versions: dict[int, VersionInfo | None]
    """Per beacon tier: its current version, or None when none was published."""


# ---- the ABI ----


@functools.cache
def beacon_abi() -> tuple[dict[str, Any], ...]:
    """The shipped read ABI of the VersionBeacon."""
    text = resources.files("noderr_deploy").joinpath("abi/VersionBeacon.json").read_text()
    return tuple(json.loads(text))


def _type_of(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type_of(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@dataclass(frozen=True)
class AbiFunction:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        return keccak256(self.signature.encode())[:4]

    def encode(self, *args: Any) -> str:
        from eth_abi.abi import encode

        return "0x" + (self.selector + encode(list(self.inputs), list(args))).hex()

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The outputs of ``data``. A ``string`` is read as the ``bytes`` it is encoded as
        (the same words), then as UTF-8 with every byte that is not kept as a lone
        surrogate: a versionString of bytes that are not UTF-8 is shown (``1.6\\xff``),
        where eth_abi would refuse the whole answer, every tier's read with it."""
        from eth_abi.abi import decode

        as_bytes = [_STRING.sub("bytes", kind) for kind in self.outputs]
        values = decode(as_bytes, data, strict=True)
        if as_bytes == list(self.outputs):
            return tuple(values)
        from eth_abi.grammar import parse

        return tuple(_texts(parse(kind), v) for kind, v in zip(self.outputs, values, strict=True))


_STRING = re.compile(r"\bstring\b")


def _texts(kind: Any, value: Any) -> Any:
    """``value`` decoded as ``kind`` with its strings read from bytes (see ``decode``)."""
    if kind.is_array:
        return tuple(_texts(kind.item_type, item) for item in value)
    components = getattr(kind, "components", None)
    if components is not None:
        return tuple(_texts(c, item) for c, item in zip(components, value, strict=True))
    if kind.base == "string":
        return bytes(value).decode("utf-8", "surrogateescape")
    return value


def abi_function(name: str) -> AbiFunction:
    for entry in beacon_abi():
        if entry.get("type") == "function" and entry["name"] == name:
            return AbiFunction(
                name=name,
                inputs=tuple(_type_of(p) for p in entry["inputs"]),
                outputs=tuple(_type_of(p) for p in entry["outputs"]),
            )
    raise KeyError(name)


# ---- reading ----


@dataclass(frozen=True)
class _Call:
    function: AbiFunction
    args: tuple[Any, ...]

    @property
    def label(self) -> str:
        return f"{self.function.name}({', '.join(str(a) for a in self.args)})"


def _call_request(address: str, call: _Call, block: int) -> tuple[str, list[Any]]:
    return ("eth_call", [{"to": address, "data": call.function.encode(*call.args)}, hex(block)])


def _result(client: RpcClient, address: str, call: _Call, reply: Reply) -> tuple[Any, ...]:
    """Decode one ``eth_call`` answer, or raise a one-line error naming the function."""
    if not reply.ok:
        message = reply.error or ""
        if "revert" in message.lower():
            raise ChainError(
                f"{call.label} on {address} reverted ({message}): is this a VersionBeacon?"
            )
        raise ChainError(f"{call.label} on {address} failed on {client.redacted_url}: {message}")
    data = client.data(reply.result, f"{call.label} on {address}")
    try:
        return call.function.decode(data)
    except Exception:
        # eth_abi raises a family of decoding errors; any of them means the same thing here.
        raise ChainError(
            f"{call.label} on {address} returned {len(data)} bytes that do not decode as"
            f" ({', '.join(call.function.outputs)}): is this a VersionBeacon?"
        ) from None


def _slot_result(
    client: RpcClient, address: str, call: _Call, reply: Reply, tier: int
) -> tuple[Any, ...]:
    """``currentVersionId(tier)``: a revert for a slot the beacon's enum lacks says so."""
    if not reply.ok and tier not in TIER_NAMES and "revert" in (reply.error or "").lower():
        known = ", ".join(f"{k} {v}" for k, v in TIER_NAMES.items())
        raise ChainError(
            f"beacon tier {tier} is not a tier slot of the VersionBeacon at {address}:"
            f" {call.label} reverted ({reply.error}); its slots are {known}"
            " (check beacon_tier in tiers.yaml)"
        )
    return _result(client, address, call, reply)


def check_slot(tier: int) -> int:
    """``tier`` if it fits the beacon's ``uint8`` tier argument."""
    if not 0 <= tier <= 255:
        raise ChainError(f"beacon tier {tier} is not a tier slot (the beacon's slots are uint8)")
    return tier


def read_beacon(
    client: RpcClient,
    address: str,
    beacon_tiers: Iterable[int],
    block: BlockRef = "latest",
    chain_id: int | None = None,
) -> BeaconSnapshot:
    """Read the rollout config and each tier's current version, all at one block.

    A current version id that was never published (at or past ``nextVersionId``, or a
    ``versions`` entry without a publish time) is a :class:`ChainError`, never a version
    to update to.
    """
    tiers = sorted({check_slot(t) for t in beacon_tiers})
    chain, pinned = resolve_block(client, block, chain_id)
    n = pinned.number

    config_call = _Call(abi_function("rolloutConfig"), ())
    next_call = _Call(abi_function("nextVersionId"), ())
    id_calls = [_Call(abi_function("currentVersionId"), (t,)) for t in tiers]
    # nextVersionId only when there are version ids to check against it.
    next_calls = [next_call] if tiers else []
    replies = client.batch(
        [
            ("eth_getCode", [address, hex(n)]),
            _call_request(address, config_call, n),
            *(_call_request(address, c, n) for c in (*next_calls, *id_calls)),
        ],
        f"the VersionBeacon at {address}",
    )
    code_reply, config_reply, *rest = replies
    next_replies, id_replies = rest[: len(next_calls)], rest[len(next_calls) :]
    if not code_reply.ok:
        raise ChainError(
            f"eth_getCode({address}) failed on {client.redacted_url}: {code_reply.error}"
        )
    if not client.data(code_reply.result, f"the code at {address}"):
        raise ChainError(f"no contract at {address} on chain {chain} (block {n})")
    canary, cohort, delay, active = _result(client, address, config_call, config_reply)
    rollout = RolloutConfig(int(canary), int(cohort), int(delay), bool(active))
    next_id = _result(client, address, next_call, next_replies[0])[0] if tiers else 0
    ids = {
        t: int(_slot_result(client, address, call, reply, t)[0])
        for t, call, reply in zip(tiers, id_calls, id_replies, strict=True)
    }
    for t, i in ids.items():
        if i >= int(next_id):
            raise ChainError(
                f"beacon tier {t}'s currentVersionId is {i}, but version {i} was never"
                f" published on {address} (nextVersionId is {next_id}, block {n})"
            )

    versions: dict[int, VersionInfo | None] = {t: None for t in tiers}
    wanted = sorted({i for i in ids.values() if i != 0})
    if wanted:
        version_calls = [_Call(abi_function("versions"), (i,)) for i in wanted]
        answers = client.batch(
            [_call_request(address, c, n) for c in version_calls],
            f"versions on the VersionBeacon at {address}",
        )
        by_id = {
            i: _version(i, _result(client, address, call, reply), address)
            for i, call, reply in zip(wanted, version_calls, answers, strict=True)
        }
        versions = {t: (by_id[i] if i else None) for t, i in ids.items()}
    return BeaconSnapshot(
        chain_id=chain, address=address, block=pinned, rollout=rollout, versions=versions
    )


def _version(version_id: int, values: Sequence[Any], address: str) -> VersionInfo:
    version_string, image_tag, config_hash, published, publisher, active, emergency = values
    if int(published) == 0:
        raise ChainError(
            f"version {version_id} on {address} has no publish time: it was never published"
        )
    return VersionInfo(
        version_id=version_id,
        version_string=str(version_string),
        docker_image_tag=str(image_tag),
        config_hash="0x" + bytes(config_hash).hex(),
        published_at=timestamp(int(published), f"version {version_id}'s publish time"),
        publisher=checksum_address(str(publisher), "publisher"),
        is_active=bool(active),
        is_emergency_rollback=bool(emergency),
    )


def read_from_settings(
    settings: ChainSettings, beacon_tiers: Iterable[int]
) -> tuple[BeaconSnapshot, int]:
    """Connect with ``settings`` and read; also returns the HTTP request count."""
    client = connect(settings)
    try:
        snapshot = read_beacon(
            client, settings.beacon_address, beacon_tiers, settings.block, settings.chain_id
        )
    finally:
        client.close()
    return snapshot, client.requests_sent


def plan_and_version_from_chain(
    settings: ChainSettings, beacon_tier: int
) -> tuple[RolloutPlan, VersionInfo | None, BlockInfo]:
    """The rollout plan and ``beacon_tier``'s current version, read at one block.

    For commands that take their cohort plan (and a publish time) from the chain.
    """
    snapshot, _ = read_from_settings(settings, [beacon_tier])
    return snapshot.rollout.plan(), snapshot.versions[beacon_tier], snapshot.block
