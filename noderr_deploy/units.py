"""Parsing of the human units operators type: sizes, durations and points in time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

# ASCII digits only: str.isdigit and \d (without re.ASCII) accept full-width and other
# Unicode digits, which no operator means in a size.
_SIZE = re.compile(r"^[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*([A-Za-z]*)[ \t]*$", re.ASCII)
# Decimal units as docker reports them, binary ones as operators sometimes mean.
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``500MB``, ``1.5GB`` or ``512MiB`` (a bare number is bytes).

    Computed exactly (``2.01GB`` is 2,010,000,000 bytes, not float's 2,009,999,999); a size
    that is not a whole number of bytes (``0.4B``) and a boolean are errors.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r} (use e.g. 500MB, 1.5GB, 512MiB)")
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a size cannot be negative")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 500MB, 1.5GB, 512MiB)")
    number, unit = match.groups()
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r} (B, kB, MB, GB, KiB, MiB, GiB)")
    exact = Decimal(number) * factor
    if exact != exact.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return int(exact)


def format_size(n: int) -> str:
    """``1500000000`` -> ``1.50 GB`` (decimal, as docker reports sizes)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """A duration such as ``15m``, ``2h``, ``1h30m`` or ``90s``."""
    compact = text.strip().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 1d, 1h30m)")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION.findall(compact))
    return timedelta(seconds=seconds)


def parse_time(text: str) -> datetime:
    """A point in time: ISO 8601 (no offset means UTC) or unix seconds. Returns aware UTC."""
    value = text.strip()
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        pass
    except (OverflowError, OSError) as exc:
        raise ValueError(f"unix time out of range: {text!r}") from exc
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(
            f"not a time: {text!r} (use ISO 8601 like 2026-01-31T12:00:00Z, or unix seconds)"
        ) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, to the second: the format of every JSON field."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
