"""The VersionBeacon's write ABI as data: its functions and events, read and checked.

The deployed contract's write functions are not public, and the network's own clients
disagree on them, so the ABI is an input: the shipped ``abi/VersionBeaconWrite.json`` (the
test contract's) unless ``beacon.abi`` in tiers.yaml or ``--abi FILE`` names another.
Each parameter is bound by its name, compared case-insensitively with leading underscores
ignored (:data:`ALIASES`), by :mod:`noderr_deploy.chain.binding`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from noderr_deploy.errors import InputError, UsageError
from noderr_deploy.keccak import keccak256

DEFAULT_ABI = "abi/VersionBeaconWrite.json"

ALIASES: dict[str, str] = {
    "tier": "tier",
    "versionstring": "version",
    "semver": "version",
    "version": "version",
    "dockerimagetag": "image",
    "imagetag": "image",
    "image": "image",
    "confighash": "config_hash",
    "reason": "reason",
    "toversionid": "to_version_id",
    "targetversionid": "to_version_id",
    "versionid": "to_version_id",
    "isemergencyrollback": "emergency",
    "canarypercentage": "canary_percentage",
    "cohortpercentage": "cohort_percentage",
    "cohortdelayhours": "cohort_delay",
    "delaybetweencohorts": "cohort_delay",
}
"""Normalised parameter name -> the value it binds (see :class:`Values`)."""

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_TYPE = re.compile(r"^[a-z][a-z0-9]*(\[\d*\])*$")


def normalise(name: str) -> str:
    """How parameter names are compared: case-insensitive, leading underscores ignored."""
    return name.lstrip("_").lower()


@dataclass(frozen=True)
class Param:
    """One ABI parameter (a tuple's ``components`` nested)."""

    name: str
    type: str
    internal_type: str
    components: tuple[Param, ...] = ()
    indexed: bool = False

    @property
    def canonical(self) -> str:
        """The type as it enters a signature: tuples spelled out."""
        if self.type.startswith("tuple"):
            inner = ",".join(c.canonical for c in self.components)
            return f"({inner}){self.type[len('tuple') :]}"
        return self.type


@dataclass(frozen=True)
class Function:
    """One function of the write ABI."""

    name: str
    inputs: tuple[Param, ...]
    payable: bool = False

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(p.canonical for p in self.inputs)})"

    @property
    def selector(self) -> bytes:
        return keccak256(self.signature.encode())[:4]


@dataclass(frozen=True)
class Event:
    name: str
    inputs: tuple[Param, ...]
    anonymous: bool = False

    @property
    def topic(self) -> bytes:
        return keccak256(f"{self.name}({','.join(p.canonical for p in self.inputs)})".encode())


@dataclass(frozen=True)
class WriteAbi:
    """The functions and events of a write ABI, and where it came from (for messages)."""

    source: str
    functions: tuple[Function, ...]
    events: tuple[Event, ...]

    def function(self, name: str) -> Function:
        """The one function named ``name``; none or an overload is a :class:`UsageError`."""
        found = [f for f in self.functions if f.name == name]
        if not found:
            known = ", ".join(f.signature for f in self.functions) or "none"
            raise UsageError(f"the ABI {self.source} has no function {name} (it has: {known})")
        if len(found) > 1:
            raise UsageError(
                f"the ABI {self.source} has {len(found)} functions named {name}"
                f" ({', '.join(f.signature for f in found)}): keep only the deployed one"
            )
        return found[0]

    def event(self, name: str) -> Event | None:
        found = [e for e in self.events if e.name == name and not e.anonymous]
        return found[0] if len(found) == 1 else None


def _param(entry: Any, where: str) -> Param:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise ValueError(f"{where}: a parameter without a type")
    kind = entry["type"]
    components: tuple[Param, ...] = ()
    if kind.startswith("tuple"):
        raw = entry.get("components")
        if not isinstance(raw, list):
            raise ValueError(f"{where}: tuple parameter without components")
        components = tuple(_param(c, where) for c in raw)
    name = entry.get("name") or ""
    internal = entry.get("internalType") or kind
    if not isinstance(name, str) or not isinstance(internal, str):
        raise ValueError(f"{where}: a parameter name or internalType that is not text")
    # Names and types end up in messages and in a Safe batch: only what Solidity allows.
    if name and not _IDENTIFIER.match(name):
        raise ValueError(f"{where}: parameter name {name!r} is not an identifier")
    if not _TYPE.match(kind) or not internal.isprintable():
        raise ValueError(f"{where}: parameter type {kind!r} is not an ABI type")
    return Param(name, kind, internal, components, bool(entry.get("indexed", False)))


def parse_abi(document: Any, source: str) -> WriteAbi:
    """A :class:`WriteAbi` from a JSON ABI: a list of entries, or an artifact with ``abi``."""
    entries = document.get("abi") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise InputError(
            f"{source}: not an ABI (expected a JSON list of entries, or an object with 'abi')"
        )
    functions: list[Function] = []
    events: list[Event] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputError(f"{source}: entry {i} is not an object")
        kind, name = entry.get("type", "function"), entry.get("name")
        if kind not in ("function", "event"):
            continue
        if not isinstance(name, str) or not name:
            raise InputError(f"{source}: entry {i} ({kind}) has no name")
        if not _IDENTIFIER.match(name):
            raise InputError(f"{source}: entry {i}: {kind} name {name!r} is not an identifier")
        try:
            inputs = tuple(_param(p, f"{name} input") for p in entry.get("inputs") or [])
        except ValueError as exc:
            raise InputError(f"{source}: entry {i}: {exc}") from None
        if kind == "function":
            mutability = entry.get("stateMutability")
            if mutability in ("view", "pure"):
                continue  # reads are not what a proposal calls
            payable = mutability == "payable" or bool(entry.get("payable", False))
            functions.append(Function(name, inputs, payable))
        else:
            events.append(Event(name, inputs, bool(entry.get("anonymous", False))))
    return WriteAbi(source, tuple(functions), tuple(events))


MAX_ABI_BYTES = 4 << 20


def load_abi(path: Path | None) -> WriteAbi:
    """The ABI in ``path``, or the shipped default; an unreadable file is exit 2 naming it."""
    if path is None:
        text = resources.files("noderr_deploy").joinpath(DEFAULT_ABI).read_text()
        return parse_abi(json.loads(text), "(shipped VersionBeaconWrite.json)")
    try:
        # A real ABI is tens of kB: never read a device or a huge file whole.
        if not path.is_file():
            raise InputError(f"ABI file {path}: not a regular file")
        if path.stat().st_size > MAX_ABI_BYTES:
            raise InputError(f"ABI file {path}: larger than {MAX_ABI_BYTES // (1 << 20)} MB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"ABI file {path}: cannot read: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(f"ABI file {path}: not JSON: {exc}") from None
    return parse_abi(document, str(path))
