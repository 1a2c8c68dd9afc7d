"""Binding a write ABI function's arguments by parameter name, and encoding the call.

Each parameter is bound by its name, compared case-insensitively with leading underscores
ignored (:data:`~noderr_deploy.chain.writeabi.ALIASES`), to what the command knows
(:class:`Values`); ``--arg NAME=VALUE`` supplies or overrides any of them. A parameter
nothing binds is a :class:`~noderr_deploy.errors.UsageError` naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from noderr_deploy.chain.writeabi import ALIASES, Function, Param, normalise
from noderr_deploy.errors import UsageError
from noderr_deploy.units import check_ascii_number

_INT = re.compile(r"^(u?)int(\d*)$")
_BYTES = re.compile(r"^bytes(\d+)$")
_UNITS = (("hours", 3600), ("hour", 3600), ("days", 86400), ("minutes", 60), ("ms", 0.001))


@dataclass(frozen=True)
class Values:
    """What a command knows, for the parameters that name it (None: unknown).

    ``hints`` says, per value, which flag gives it (for the message when it is missing).
    """

    tier_name: str | None = None
    beacon_tier: int | None = None
    version: str | None = None
    image: str | None = None
    config_hash: bytes | None = None
    reason: str | None = None
    to_version_id: int | None = None
    emergency: bool | None = None
    canary_percentage: int | None = None
    cohort_percentage: int | None = None
    cohort_delay_hours: float | None = None
    hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BoundCall:
    """A function with every argument bound, and its calldata."""

    function: Function
    args: tuple[Any, ...]
    origins: tuple[str, ...]
    """Per argument: ``--arg`` or the value it was bound from (for the summary)."""

    @property
    def data(self) -> str:
        from eth_abi.abi import encode

        types = [p.canonical for p in self.function.inputs]
        return "0x" + (self.function.selector + encode(types, list(self.args))).hex()

    def named_args(self) -> list[tuple[str, str, Any]]:
        """``(name, type, value)`` per parameter, in order."""
        return [
            (p.name, p.canonical, a) for p, a in zip(self.function.inputs, self.args, strict=True)
        ]


def parse_args(values: Sequence[str]) -> dict[str, str]:
    """``--arg NAME=VALUE`` pairs, keyed by the normalised name."""
    result: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not normalise(name.strip()):
            raise UsageError(f"--arg {value!r}: expected NAME=VALUE")
        result[normalise(name.strip())] = text
    return result


def bind(function: Function, values: Values, args: Mapping[str, str] = {}) -> BoundCall:
    """Bind every parameter of ``function``: ``--arg`` first, then by name from ``values``.

    Every parameter that cannot be bound is reported in one :class:`UsageError` (exit 2),
    each by name and type with the flag that would give it. An ``--arg`` naming no parameter
    is an error too (a typo must not pass silently).
    """
    names = {normalise(p.name) for p in function.inputs}
    unknown = [n for n in args if n not in names]
    if unknown:
        raise UsageError(
            f"--arg {', '.join(unknown)}: {function.signature} has no such parameter"
            f" (its parameters: {', '.join(p.name or '(unnamed)' for p in function.inputs)})"
        )
    problems: list[str] = []
    bound: list[Any] = []
    origins: list[str] = []
    for i, param in enumerate(function.inputs):
        key = normalise(param.name)
        try:
            if key in args:
                bound.append(coerce(param, args[key]))
                origins.append("--arg")
            else:
                value, origin = _bind_one(param, values)
                bound.append(value)
                origins.append(origin)
        except _Unbound as exc:
            label = param.name or f"#{i}"
            problems.append(f"{label} ({param.canonical}): {exc}; or --arg {label or i}=VALUE")
        except ValueError as exc:
            label = param.name or f"#{i}"
            problems.append(f"{label} ({param.canonical}): {exc}")
    if problems:
        first, *rest = problems
        raise UsageError(
            f"cannot bind {function.name} parameter {first}"
            + (f" (and {len(rest)} more)" if rest else ""),
            details=rest,
        )
    return BoundCall(function, tuple(bound), tuple(origins))


class _Unbound(Exception):
    """Nothing binds this parameter."""


def _bind_one(param: Param, values: Values) -> tuple[Any, str]:
    key = ALIASES.get(normalise(param.name))
    if param.type == "tuple":
        return _bind_tuple(param, values)
    if key is None:
        raise _Unbound("no value is known by that name")
    hint = values.hints.get(key)
    missing = f"no value{f': pass {hint}' if hint else ''}"
    kind = param.type
    if key == "tier":
        if _INT.match(kind):
            if values.beacon_tier is None:
                raise _Unbound(missing)
            return _checked_int(kind, values.beacon_tier), "beacon_tier"
        if kind == "string":
            if values.tier_name is None:
                raise _Unbound(missing)
            return values.tier_name, "the tier's name"
        raise _Unbound(f"a tier is bound to an integer type or string, not {kind}")
    if key == "cohort_delay":
        if values.cohort_delay_hours is None:
            raise _Unbound(missing)
        return _delay(param, values.cohort_delay_hours)
    value = getattr(values, key)
    if value is None:
        raise _Unbound(missing)
    origin = hint or key
    if key == "config_hash":
        if kind in {"bytes32", "bytes"}:
            return bytes(value), origin
        if kind == "string":
            return "0x" + bytes(value).hex(), origin
        raise _Unbound(f"a config hash is bound to bytes32, bytes or string, not {kind}")
    if isinstance(value, bool):
        if kind != "bool":
            raise _Unbound(f"{key} is a bool, the parameter a {kind}")
        return value, origin
    if isinstance(value, int):
        if not _INT.match(kind):
            raise _Unbound(f"{key} is an integer, the parameter a {kind}")
        return _checked_int(kind, value), origin
    if kind != "string":
        raise _Unbound(f"{key} is text, the parameter a {kind}")
    return value, origin


def _bind_tuple(param: Param, values: Values) -> tuple[Any, str]:
    parts = []
    for component in param.components:
        try:
            value, _ = _bind_one(component, values)
        except _Unbound as exc:
            raise _Unbound(f"component {component.name or '?'}: {exc}") from None
        parts.append(value)
    return tuple(parts), "the rollout plan"


def _delay(param: Param, hours: float) -> tuple[int, str]:
    """The plan's cohort delay in the unit the parameter's name implies (default seconds)."""
    name = normalise(param.name)
    seconds = hours * 3600
    unit, factor = "seconds", 1.0
    for suffix, size in _UNITS:
        if name.endswith(suffix):
            unit, factor = suffix, float(size)
            break
    value = seconds / factor
    if value != int(value):
        raise ValueError(f"the plan's cohort delay of {hours:g} h is not a whole number of {unit}")
    if not _INT.match(param.type):
        raise _Unbound(f"a delay is bound to an integer type, not {param.type}")
    return _checked_int(param.type, int(value)), f"cohort delay in {unit}"


def _checked_int(kind: str, value: int) -> int:
    match = _INT.match(kind)
    assert match is not None
    bits = int(match.group(2) or 256)
    if match.group(1):
        low, high = 0, 2**bits - 1
    else:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if not low <= value <= high:
        raise ValueError(f"{value} does not fit a {kind}")
    return value


def coerce(param: Param, text: str) -> Any:
    """``--arg`` text as a value of the parameter's type; a misfit is a :class:`ValueError`."""
    kind = param.type
    if kind.startswith("tuple") or kind.endswith("]"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is not JSON (tuples and arrays are given as JSON)"
            ) from None
        return _from_json(param, document)
    return _scalar(kind, text.strip() if kind != "string" else text)


def _scalar(kind: str, text: Any) -> Any:
    if kind == "string":
        if not isinstance(text, str):
            raise ValueError(f"{text!r} is not text")
        return text
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        if kind == "bool" and isinstance(text, bool):
            return text
        raise ValueError(f"{text!r} is not a {kind}")
    raw = str(text)
    if _INT.match(kind):
        try:
            check_ascii_number(raw)  # int() would read a full-width 5 (U+FF15) as 5
            number = int(raw, 16) if raw.lower().startswith(("0x", "-0x")) else int(raw, 10)
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
        return _checked_int(kind, number)
    if kind == "bool":
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{raw!r} is not true or false")
    if kind == "address":
        from noderr_deploy.chain.settings import checksum_address

        try:
            return checksum_address(raw, "address")
        except UsageError as exc:
            raise ValueError(exc.message) from None
    match = _BYTES.match(kind)
    if match or kind == "bytes":
        try:
            data = bytes.fromhex(raw.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"{raw!r} is not 0x-prefixed hex") from None
        if match and len(data) != int(match.group(1)):
            raise ValueError(f"{raw!r} is {len(data)} bytes, a {kind} is {match.group(1)}")
        return data
    raise ValueError(f"type {kind} is not supported by --arg")


def _from_json(param: Param, document: Any) -> Any:
    kind = param.type
    if kind.endswith("]"):
        inner = Param(param.name, kind[: kind.rindex("[")], param.internal_type, param.components)
        size = kind[kind.rindex("[") + 1 : -1]
        if not isinstance(document, list) or (size and len(document) != int(size)):
            raise ValueError(f"{document!r} is not a {kind}")
        return [_from_json(inner, item) for item in document]
    if kind == "tuple":
        if isinstance(document, dict):
            by_name = {normalise(k): v for k, v in document.items()}
            try:
                document = [by_name[normalise(c.name)] for c in param.components]
            except KeyError as exc:
                raise ValueError(f"no value for component {exc.args[0]}") from None
        if not isinstance(document, list) or len(document) != len(param.components):
            raise ValueError(f"expected {len(param.components)} values for {param.canonical}")
        return tuple(_from_json(c, v) for c, v in zip(param.components, document, strict=True))
    return _scalar(kind, document)


def show_value(value: Any) -> str:
    """One argument for a human summary and a Safe batch's ``contractInputsValues``.

    Text stays exact here; escaping for a terminal is the renderer's job.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (tuple, list)):
        return json.dumps(
            [_json_value(v) for v in value], ensure_ascii=False, separators=(",", ":")
        )
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # the Safe app reads big integers from strings
    return value
