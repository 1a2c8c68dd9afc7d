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
import os
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from noderr_deploy.chain.writeabi import BoundCall, show_value
from noderr_deploy.errors import NoderrError, UsageError
from noderr_deploy.keccak import keccak256

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
    metadata: dict[str, Any]
    tier: str
    beacon_tier: int

    @property
    def data(self) -> str:
        return self.call.data

    def decoded(self) -> str:
        """The call as one line: ``emergencyRollback(tier=2, toVersionId=1)`` (text exact)."""
        args = ", ".join(f"{n or '?'}={show_value(v)}" for n, _, v in self.call.named_args())
        return f"{self.call.function.name}({args})"


def document(action: Action, fmt: Format, *, safe: str | None, created_at_ms: int) -> Any:
    """The JSON document of ``action`` in format ``fmt``."""
    if fmt is Format.tx:
        return {"chainId": action.chain_id, "to": action.target, "value": "0", "data": action.data}
    if fmt is Format.proposal:
        return {
            "type": action.kind,
            "description": action.description,
            "target": action.target,
            "data": action.data,
            "value": "0",
            "metadata": {
                "chainId": action.chain_id,
                "function": action.call.function.signature,
                "args": {n: _plain(v) for n, _, v in action.call.named_args()},
                **action.metadata,
            },
        }
    if safe is None:
        raise UsageError("--format safe needs --safe ADDRESS (the Safe that will execute it)")
    return safe_batch(action, safe=safe, created_at_ms=created_at_ms)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def safe_batch(action: Action, *, safe: str, created_at_ms: int) -> dict[str, Any]:
    """A Safe Transaction Builder batch of the one call, checksum included."""
    function = action.call.function
    batch: dict[str, Any] = {
        "version": "1.0",
        "chainId": str(action.chain_id),
        "createdAt": created_at_ms,
        "meta": {
            "name": action.title,
            "description": action.description,
            "txBuilderVersion": TX_BUILDER_VERSION,
            "createdFromSafeAddress": safe,
            "createdFromOwnerAddress": "",
        },
        "transactions": [
            {
                "to": action.target,
                "value": "0",
                "data": action.data,
                "contractMethod": {
                    "inputs": [p.as_json() for p in function.inputs],
                    "name": function.name,
                    "payable": function.payable,
                },
                "contractInputsValues": {
                    n: show_value(v) for n, _, v in action.call.named_args() if n
                },
            }
        ],
    }
    batch["meta"]["checksum"] = safe_checksum(batch)
    return batch


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


def render(action: Action, fmt: Format, *, safe: str | None, created_at_ms: int) -> str:
    """The document as the text written to stdout or ``--out``."""
    doc = document(action, fmt, safe=safe, created_at_ms=created_at_ms)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_atomically(path: Path, text: str, flag: str = "--out") -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    directory = path.parent if str(path.parent) else Path()
    temporary: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        temporary = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mask = os.umask(0)
        os.umask(mask)
        temporary.chmod(0o666 & ~mask)  # mkstemp's 0600 would hide it from the CI job
        temporary.replace(path)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise NoderrError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
