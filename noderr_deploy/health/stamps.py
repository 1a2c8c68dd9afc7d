"""Report timestamps: numbers in unix seconds or milliseconds, and any of them as UTC.

Our exports carry ISO 8601 text or unix seconds; the node-side updater's telemetry carries
epoch **milliseconds**. ``--timestamp-unit`` (or tiers.yaml ``health.timestamp_unit``) says
which a number is:

- ``s``: seconds; ``ms``: milliseconds;
- ``auto`` (the default): seconds when the number means a date before the year 3000
  (below :data:`AUTO_MS_FROM`), else milliseconds. Milliseconds of any date after
  1971-01-14 are above that line, seconds of any plausible date below it.

A number that means no date a report can carry (after 9999-12-31, or negative) is refused
with both readings named. The read counts which unit it used (:class:`UnitTally`), for the
JSON verdict. :func:`utc` makes any report timestamp an aware UTC ``datetime``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

TimestampUnit = Literal["auto", "s", "ms"]

UNITS: tuple[TimestampUnit, ...] = ("auto", "s", "ms")

AUTO_MS_FROM = 32503680000.0
"""2999-12-31T23:59:59Z + 1 s in unix seconds: ``auto`` reads a number at least this large
as milliseconds."""

MAX_SECONDS = 253402300799.0
"""The latest unix time a ``datetime`` holds (9999-12-31T23:59:59Z)."""

MAX_MILLISECONDS = MAX_SECONDS * 1000 + 999


def parse_unit(text: str) -> TimestampUnit:
    """``s``, ``ms`` or ``auto`` (as typed: any case, ``sec``/``seconds``/``milliseconds``
    too). Raises :class:`ValueError` otherwise."""
    word = text.strip().lower()
    aliases: dict[str, TimestampUnit] = {
        "auto": "auto",
        "s": "s",
        "sec": "s",
        "secs": "s",
        "second": "s",
        "seconds": "s",
        "ms": "ms",
        "millis": "ms",
        "millisecond": "ms",
        "milliseconds": "ms",
    }
    unit = aliases.get(word)
    if unit is None:
        raise ValueError(f"unknown timestamp unit {text!r} (use s, ms or auto)")
    return unit


def unit_of(value: float, unit: TimestampUnit) -> Literal["s", "ms"]:
    """The unit ``value`` is read in."""
    if unit == "auto":
        return "ms" if value >= AUTO_MS_FROM else "s"
    return unit


def moment(value: float, unit: TimestampUnit) -> tuple[datetime, Literal["s", "ms"]]:
    """The aware UTC moment a numeric timestamp means, and the unit it was read in.

    Raises :class:`ValueError` naming both readings when the number means no date in
    either unit that applies (``auto`` tries the one its rule picks).
    """
    used = unit_of(value, unit)
    seconds = value / 1000 if used == "ms" else value
    if math.isnan(value) or not 0 <= seconds <= MAX_SECONDS:  # NaN, negative, past 9999
        raise ValueError(_neither(value, unit))
    return datetime.fromtimestamp(seconds, tz=UTC), used


def utc(value: datetime | float) -> datetime:
    """A report timestamp as an aware UTC datetime (naive means UTC; numbers are unix seconds)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        if value.tzinfo is UTC:
            return value
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value, tz=UTC)


def _neither(value: float, unit: TimestampUnit) -> str:
    readings = f"as seconds {_reading(value)}, as milliseconds {_reading(value / 1000)}"
    if unit == "auto":
        return f"{_number(value)} is no date in unix seconds or milliseconds ({readings})"
    name = "seconds" if unit == "s" else "milliseconds"
    return f"{_number(value)} is no date in unix {name} (--timestamp-unit {unit}; {readings})"


def _reading(seconds: float) -> str:
    if math.isnan(seconds):
        return "not a number"
    if seconds < 0:
        return "before 1970"
    if seconds > MAX_SECONDS:
        return "after the year 9999"
    return (
        datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _number(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    return repr(value)


@dataclass
class UnitTally:
    """How many numeric timestamps a read took as seconds, and as milliseconds."""

    seconds: int = 0
    milliseconds: int = 0

    def count(self, used: Literal["s", "ms"]) -> None:
        if used == "ms":
            self.milliseconds += 1
        else:
            self.seconds += 1

    def combine(self, other: UnitTally) -> None:
        self.seconds += other.seconds
        self.milliseconds += other.milliseconds

    @property
    def used(self) -> Literal["s", "ms", "mixed"] | None:
        """``s`` or ``ms`` when every number was read in that unit, ``mixed`` when both
        occurred, ``None`` when no timestamp was a number."""
        if self.seconds and self.milliseconds:
            return "mixed"
        if self.milliseconds:
            return "ms"
        if self.seconds:
            return "s"
        return None
