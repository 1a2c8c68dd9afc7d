"""Reading the VersionBeacon: its ABI, the values it holds, and the calls that read them.

Reads use exactly the ABI shipped in ``abi/VersionBeacon.json`` (the deployed proxy's read
surface). A tier is read with ``currentVersionId`` then ``versions(id)`` rather than
``getCurrentVersion``, which reverts for a tier without a version. All values of one read
come from one block, in three HTTP requests whatever the number of tiers:

1. ``eth_chainId`` + the block (number and timestamp);
2. ``eth_getCode`` + ``rolloutConfig()`` + ``currentVersionId(t)`` for every tier;
3. ``versions(id)`` for every tier that has one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from noderr_deploy.chain.rpc import (
    BlockInfo,
    BlockRef,
    ChainSettings,
    RpcClient,
    checksum_address,
    connect,
    resolve_block,
)
from noderr_deploy.cohorts import RolloutPlan
from noderr_deploy.errors import ChainError
from noderr_deploy.keccak import keccak256

TIER_NAMES = {0: "VALIDATOR", 1: "GUARDIAN", 2: "ORACLE"}
"""The beacon's tier enum (tiers.yaml ``beacon_tier``)."""


@dataclass(frozen=True)
class RolloutConfig:
    """``rolloutConfig()`` as stored on the beacon."""

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

    def to_json(self) -> dict[str, Any]:
        return {
            "canaryPercentage": self.canary_percentage,
            "cohortPercentage": self.cohort_percentage,
            "cohortDelayHours": self.cohort_delay_hours,
            "isActive": self.is_active,
        }


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
        from eth_abi.abi import decode

        return tuple(decode(list(self.outputs), data, strict=True))


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


def _result(client: RpcClient, address: str, call: _Call, entry: dict[str, Any]) -> tuple[Any, ...]:
    """Decode one ``eth_call`` answer, or raise a one-line error naming the function."""
    if "error" in entry:
        message = client.message_of(entry)
        if "revert" in message.lower():
            raise ChainError(
                f"{call.label} on {address} reverted ({message}): is this a VersionBeacon?"
            )
        raise ChainError(f"{call.label} on {address} failed on {client.redacted_url}: {message}")
    raw = entry.get("result")
    try:
        data = bytes.fromhex(str(raw).removeprefix("0x"))
        return call.function.decode(data)
    except Exception:
        # eth_abi raises a family of decoding errors; any of them means the same thing here.
        size = len(str(raw).removeprefix("0x")) // 2 if isinstance(raw, str) else 0
        raise ChainError(
            f"{call.label} on {address} returned {size} bytes that do not decode as"
            f" ({', '.join(call.function.outputs)}): is this a VersionBeacon?"
        ) from None


def read_beacon(
    client: RpcClient,
    address: str,
    beacon_tiers: Iterable[int],
    block: BlockRef = "latest",
    chain_id: int | None = None,
) -> BeaconSnapshot:
    """Read the rollout config and each tier's current version, all at one block."""
    tiers = sorted(set(beacon_tiers))
    chain, pinned = resolve_block(client, block, chain_id)
    n = pinned.number

    config_call = _Call(abi_function("rolloutConfig"), ())
    id_calls = [_Call(abi_function("currentVersionId"), (t,)) for t in tiers]
    entries = client.batch(
        [
            ("eth_getCode", [address, hex(n)]),
            _call_request(address, config_call, n),
            *(_call_request(address, c, n) for c in id_calls),
        ],
        f"the VersionBeacon at {address}",
    )
    code_entry, config_entry, *id_entries = entries
    if "error" in code_entry:
        raise ChainError(
            f"eth_getCode({address}) failed on {client.redacted_url}:"
            f" {client.message_of(code_entry)}"
        )
    if str(code_entry.get("result", "0x")) in ("0x", "0x0", ""):
        raise ChainError(f"no contract at {address} on chain {chain} (block {n})")
    canary, cohort, delay, active = _result(client, address, config_call, config_entry)
    rollout = RolloutConfig(int(canary), int(cohort), int(delay), bool(active))
    ids = {
        t: int(_result(client, address, call, entry)[0])
        for t, call, entry in zip(tiers, id_calls, id_entries, strict=True)
    }

    versions: dict[int, VersionInfo | None] = {t: None for t in tiers}
    wanted = sorted({i for i in ids.values() if i != 0})
    if wanted:
        version_calls = [_Call(abi_function("versions"), (i,)) for i in wanted]
        answers = client.batch(
            [_call_request(address, c, n) for c in version_calls],
            f"versions on the VersionBeacon at {address}",
        )
        by_id = {
            i: _version(i, _result(client, address, call, entry))
            for i, call, entry in zip(wanted, version_calls, answers, strict=True)
        }
        versions = {t: (by_id[i] if i else None) for t, i in ids.items()}
    return BeaconSnapshot(
        chain_id=chain, address=address, block=pinned, rollout=rollout, versions=versions
    )


def _version(version_id: int, values: Sequence[Any]) -> VersionInfo:
    version_string, image_tag, config_hash, timestamp, publisher, active, emergency = values
    return VersionInfo(
        version_id=version_id,
        version_string=str(version_string),
        docker_image_tag=str(image_tag),
        config_hash="0x" + bytes(config_hash).hex(),
        published_at=datetime.fromtimestamp(int(timestamp), tz=UTC),
        publisher=checksum_address(str(publisher), "publisher"),
        is_active=bool(active),
        is_emergency_rollback=bool(emergency),
    )


def read_from_settings(
    settings: ChainSettings, beacon_tiers: Iterable[int]
) -> tuple[BeaconSnapshot, int]:
    """Connect with ``settings`` and read; also returns the HTTP request count."""
    client = connect(settings)
    snapshot = read_beacon(
        client, settings.beacon_address, beacon_tiers, settings.block, settings.chain_id
    )
    return snapshot, client.requests_sent


def plan_and_version_from_chain(
    settings: ChainSettings, beacon_tier: int
) -> tuple[RolloutPlan, VersionInfo | None, BlockInfo]:
    """The rollout plan and ``beacon_tier``'s current version, read at one block.

    For commands that take their cohort plan (and a publish time) from the chain.
    """
    snapshot, _ = read_from_settings(settings, [beacon_tier])
    return snapshot.rollout.plan(), snapshot.versions[beacon_tier], snapshot.block
