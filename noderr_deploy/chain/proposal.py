"""A bound beacon call as something humans act on: a Safe batch, a governance proposal, a tx.

- ``safe``: a Safe Transaction Builder batch file (drag and drop into the Safe app), with
  ``meta.checksum`` computed as the Safe app computes it (:func:`safe_checksum`), so the
  app shows the file as unmodified;
- ``proposal``: the network's governance client shape ``{type, description, target, data,
  value, metadata}``;
- ``tx``: ``{chainId, to, value, data}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from noderr_deploy.chain.binding import BoundCall, show_value
from noderr_deploy.chain.writeabi import Param
from noderr_deploy.errors import UsageError
from noderr_deploy.keccak import keccak256
from noderr_deploy.results import UNSET, Document, UnsetType

TX_BUILDER_VERSION = "1.18.0"
"""The Transaction Builder version our batch files claim (the format has not changed since
1.13)."""


class Format(StrEnum):
    safe = "safe"
    proposal = "proposal"
    tx = "tx"


@dataclass(frozen=True)
class Action:
    """One beacon call to propose or send, with what humans need to judge it."""

    kind: str
    """``version_update`` or ``emergency_rollback`` (the governance client's types)."""
    title: str
    """One line, e.g. "Emergency rollback of tier oracle"."""
    description: str
    chain_id: int
    target: str
    """The beacon's checksummed address."""
    call: BoundCall
    metadata: ProposalMetadata
    tier: str
    beacon_tier: int

    @property
    def data(self) -> str:
        return self.call.data

    def decoded(self) -> str:
        """The call as one line: ``emergencyRollback(tier=2, toVersionId=1)`` (text exact)."""
        args = ", ".join(f"{n or '?'}={show_value(v)}" for n, _, v in self.call.named_args())
        return f"{self.call.function.name}({args})"


class ProposalMetadata(Document, frozen=True, kw_only=True):
    """A proposal's ``metadata``: the chain, the function and its arguments (a map keyed
    by the ABI's parameter names), the tier, then what each kind of action adds."""

    chain_id: int
    function: str
    args: dict[str, Any]
    tier: str
    beacon_tier: int


class PublishMetadata(ProposalMetadata, frozen=True, kw_only=True):
    version: str
    image_tag: str
    config_hash: str | None
    current_version_id: int | None
    block: int


class RollbackMetadata(ProposalMetadata, frozen=True, kw_only=True):
    reason: str
    to_version_id: int | None
    current_version_id: int | None
    block: int


def call_args(call: BoundCall) -> dict[str, Any]:
    """The call's arguments by parameter name, as JSON holds them (bytes as 0x hex)."""
    return {n: _plain(v) for n, _, v in call.named_args()}


class TxDocument(Document, frozen=True):
    """``--format tx``: the bare transaction."""

    chain_id: int
    to: str
    value: str
    data: str


class ProposalDocument(Document, frozen=True):
    """``--format proposal``: the governance client's shape."""

    type: str
    description: str
    target: str
    data: str
    value: str
    metadata: ProposalMetadata


class SafeMeta(Document, frozen=True):
    name: str
    description: str
    tx_builder_version: str
    created_from_safe_address: str
    created_from_owner_address: str
    checksum: str | UnsetType = UNSET


class SafeInput(Document, frozen=True):
    """An ABI parameter as a Safe batch's ``contractMethod.inputs`` carries it."""

    internal_type: str
    name: str
    type: str
    components: list[SafeInput] | UnsetType = UNSET

    @classmethod
    def of(cls, param: Param) -> SafeInput:
        components = [cls.of(c) for c in param.components]
        return cls(param.internal_type, param.name, param.type, components or UNSET)


class SafeMethod(Document, frozen=True):
    inputs: list[SafeInput]
    name: str
    payable: bool


class SafeTransaction(Document, frozen=True):
    to: str
    value: str
    data: str
    contract_method: SafeMethod
    contract_inputs_values: dict[str, str]
    """Keyed by the ABI's parameter names."""


class SafeBatch(Document, frozen=True):
    """``--format safe``: a Safe Transaction Builder batch file."""

    version: str
    chain_id: str
    created_at: int
    meta: SafeMeta
    transactions: list[SafeTransaction]


def document(
    action: Action, fmt: Format, *, safe: str | None, created_at_ms: int
) -> TxDocument | ProposalDocument | SafeBatch:
    """The JSON document of ``action`` in format ``fmt``."""
    if fmt is Format.tx:
        return TxDocument(action.chain_id, action.target, "0", action.data)
    if fmt is Format.proposal:
        return ProposalDocument(
            type=action.kind,
            description=action.description,
            target=action.target,
            data=action.data,
            value="0",
            metadata=action.metadata,
        )
    if safe is None:
        raise UsageError("--format safe needs --safe ADDRESS (the Safe that will execute it)")
    return safe_batch(action, safe=safe, created_at_ms=created_at_ms)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def safe_batch(action: Action, *, safe: str, created_at_ms: int) -> SafeBatch:
    """A Safe Transaction Builder batch of the one call, checksum included."""
    function = action.call.function
    batch = SafeBatch(
        version="1.0",
        chain_id=str(action.chain_id),
        created_at=created_at_ms,
        meta=SafeMeta(
            name=action.title,
            description=action.description,
            tx_builder_version=TX_BUILDER_VERSION,
            created_from_safe_address=safe,
            created_from_owner_address="",
        ),
        transactions=[
            SafeTransaction(
                to=action.target,
                value="0",
                data=action.data,
                contract_method=SafeMethod(
                    inputs=[SafeInput.of(p) for p in function.inputs],
                    name=function.name,
                    payable=function.payable,
                ),
                contract_inputs_values={
                    n: show_value(v) for n, _, v in action.call.named_args() if n
                },
            )
        ],
    )
    checksum = safe_checksum(msgspec.to_builtins(batch))
    return msgspec.structs.replace(
        batch, meta=msgspec.structs.replace(batch.meta, checksum=checksum)
    )


def safe_checksum(batch: dict[str, Any]) -> str:
    """``meta.checksum`` as the Safe Transaction Builder computes and checks it.

    keccak256 of the UTF-8 of the app's own serialisation: objects as the JSON array of
    their sorted keys followed by each value and a comma, arrays element by element,
    scalars as ``JSON.stringify`` writes them; with ``meta.name`` set to null (renaming a
    batch keeps it valid) and without ``meta.checksum``.
    """
    meta = {k: v for k, v in batch["meta"].items() if k != "checksum"}
    meta["name"] = None
    text = _serialise({**batch, "meta": meta})
    return "0x" + keccak256(text.encode("utf-8")).hex()


def _serialise(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_serialise(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_js_order)
        return "{" + _stringify(keys) + "".join(_serialise(value[k]) + "," for k in keys) + "}"
    return _stringify(value)


def _js_order(key: str) -> list[int]:
    # Array.prototype.sort compares UTF-16 code units, not code points.
    units = key.encode("utf-16-be")
    return [int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2)]


def _stringify(value: Any) -> str:
    # JSON.stringify: no spaces, non-ASCII as is; Python escapes the same control characters
    # the same way (\b \f \n \r \t, else \u00XX in lowercase hex).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
