"""Parsing of the human units operators type: sizes, durations and points in time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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


def check_ascii_number(text: str) -> str:
    """``text`` when it is ASCII, else ValueError naming its first other character.

    Python's ``int()`` and ``float()``, click's INT and FLOAT and ``\\d`` in a regex take
    any Unicode decimal digit (``int("\\uff15")`` is 5, ``int("\\u0661\\u0665")`` is
    15): no operator means those in a percentage, a timeout or a block number, and a
    look-alike digit is how a pasted value goes wrong unseen. Every number a user types
    (flags, environment variables, ``--arg`` values) is checked here before conversion.
    """
    for char in text:
        if not char.isascii():
            import unicodedata

            name = unicodedata.name(char, "")
            code = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            raise ValueError(
                f"{text!r} is not a number: {code} is not an ASCII character (type digits 0-9)"
            )
    return text


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``500MB``, ``1.5GB`` or ``512MiB`` (a bare number is bytes).

    Computed exactly (``2.01GB`` is 2,010,000,000 bytes, not float's 2,009,999,999); a size
    that is not a whole number of bytes (``0.4B``) and a boolean are errors.
    """
    from decimal import Decimal  # sizes only: most commands never parse one

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


MAX_UNIX_SECONDS = 253402300799.0
"""The latest unix time a ``datetime`` holds (9999-12-31T23:59:59Z)."""

# One part of a duration: a number (ASCII digits) and its unit, spaces allowed between.
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)[ \t]*(ms|w|d|h|m|s)[ \t]*", re.ASCII)
_ZERO = re.compile(r"0+(?:\.0*)?")
_DURATION_UNITS = {
    "w": 604_800_000_000,
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
}
"""The units of a duration in microseconds, largest first: the order they must come in."""
_DURATION_ORDER = list(_DURATION_UNITS)
_DURATION_HINT = "use e.g. 90s, 15m, 2h, 1d, 1h30m"
MAX_DURATION_DAYS = 999999999
"""The longest duration a ``timedelta`` holds, in whole days."""


def parse_duration(text: str) -> timedelta:
    """A duration such as ``15m``, ``2h``, ``1.5h``, ``1h30m`` or ``90s``; ``0`` needs no unit.

    The grammar: one or more parts, each a number of ASCII digits (with an optional
    fraction) followed by a unit (``w``, ``d``, ``h``, ``m``, ``s``, ``ms``), each unit at
    most once and the largest first (``1h30m``, not ``30m1h`` or ``1h1h``); spaces may stand
    between a number and its unit and between parts, never inside a number. Computed
    exactly, to the microsecond; a duration that is not zero but shorter than that, or
    longer than :data:`MAX_DURATION_DAYS` days, is out of range.
    """
    from decimal import Decimal  # exact: 0.1h is 6 minutes, not 5m59.999999s

    value = text.strip()
    if not value.isascii():
        raise ValueError(
            f"not a duration: {text!r} (ASCII digits and units only: use e.g. 90s, 15m, 2h)"
        )
    if _ZERO.fullmatch(value):
        return timedelta(0)  # no unit needed: zero is zero in every unit
    total = Decimal(0)  # microseconds
    pos, last = 0, -1
    while pos < len(value) or pos == 0:
        part = _DURATION_PART.match(value, pos)
        if part is None:
            raise ValueError(f"not a duration: {text!r} ({_DURATION_HINT})")
        number, unit = part.groups()
        rank = _DURATION_ORDER.index(unit)
        if rank <= last:
            why = "twice" if rank == last else "after a smaller one"
            raise ValueError(
                f"not a duration: {text!r} (unit {unit!r} {why}: give each unit once,"
                f" the largest first, e.g. 1h30m)"
            )
        total += Decimal(number) * _DURATION_UNITS[unit]
        pos, last = part.end(), rank
    microseconds = total.to_integral_value()
    if microseconds == 0 and total:
        raise ValueError(f"duration out of range: {text!r} (shorter than a microsecond; or 0)")
    if microseconds > MAX_DURATION_DAYS * 86_400_000_000:
        raise ValueError(f"duration out of range: {text!r} (at most {MAX_DURATION_DAYS} days)")
    return timedelta(microseconds=int(microseconds))


# ASCII digits only: float() would also take full-width ones (U+FF11 ...).
_LONG_FRACTION = re.compile(r"(?<=[0-9][.,][0-9]{6})[0-9]+", re.ASCII)


# A literal first character lets the engine skip ahead: 4x a class ([.,]) on a column.
_SEVEN_AFTER_DOT = re.compile(r"\.[0-9]{7}", re.ASCII)
_SEVEN_AFTER_COMMA = re.compile(r",[0-9]{7}", re.ASCII)


def has_long_fraction(text: str) -> bool:
    """Whether ``text`` holds a time with over six digits of fraction (:func:`from_iso`)."""
    return _SEVEN_AFTER_DOT.search(text) is not None or (
        "," in text and _SEVEN_AFTER_COMMA.search(text) is not None
    )


class OutOfRange(ValueError):
    """A time written well that no datetime holds: its own message, not a format hint."""


_NOT_ISO = str.maketrans(
    "", "", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:.,+- \n"
)
"""Deletes what an ISO 8601 time is written with (and the newlines joining a column).
``fromisoformat`` skips a control character between the seconds and the offset
(``12:00:00\x01Z``), so it must not be asked about text that holds another."""


def iso_characters(text: str) -> bool:
    """Whether ``text`` (one time, or many joined by newlines) holds only characters an
    ISO 8601 time is written with (nothing is left once they are deleted: one pass in C
    over a whole column)."""
    return not text.translate(_NOT_ISO)


def from_iso(text: str) -> datetime:
    """``datetime.fromisoformat``, with a fraction of more than six digits rounded to the
    microsecond (half up) as msgspec reads it in a JSON export, so that one report has one
    time whichever format carried it (``fromisoformat`` cuts the digits off: .9999995
    was 12:00:00.999999 from a CSV and 12:00:01 from JSON Lines)."""
    if not iso_characters(text) or "\n" in text:
        raise ValueError(f"Invalid isoformat string: {text!r}")
    extra = _LONG_FRACTION.search(text)
    if extra is None:
        return datetime.fromisoformat(text)
    parsed = datetime.fromisoformat(text[: extra.start()] + text[extra.end() :])
    if extra[0][0] < "5":
        return parsed
    try:
        return parsed + timedelta(microseconds=1)
    except OverflowError:
        pass
    try:  # past 9999 in its own offset, perhaps not in UTC (…59.9999995+01:00)
        aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        return aware.astimezone(UTC) + timedelta(microseconds=1)
    except (OverflowError, ValueError):
        raise OutOfRange(f"time out of range: {text!r} (rounded past the year 9999)") from None


_DIGITS = re.compile(r"[+-]?([0-9]+)")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+)")
# A number in any other spelling (a sign, an exponent): seconds, checked for range.
_NUMBER = re.compile(r"-[0-9]+|[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_TIME_HINT = "use ISO 8601 like 2026-01-31T12:00:00Z or 20260131, or unix seconds like 1769860800"


def parse_time(text: str) -> datetime:
    """A point in time, as aware UTC: ISO 8601 (no offset means UTC), or unix seconds.

    The rule for numbers: one of at least 10 digits, or with a decimal point, is unix
    seconds (``1769860800``, ``1769860800.5``), and so is a negative number or one with an
    exponent (``-1``, ``1e12``: out of range); fewer unsigned digits are read as an ISO 8601
    date (``20260301``, the basic format) or refused (``2026``), never as seconds after 1970.
    """
    value = text.strip()
    digits = _DIGITS.fullmatch(value)
    if (digits and len(digits[1]) >= 10) or _DECIMAL.fullmatch(value) or _NUMBER.fullmatch(value):
        seconds = float(value)
        # The range a report's numeric timestamp has: from the epoch to the end of 9999.
        if not 0 <= seconds <= MAX_UNIX_SECONDS:
            raise ValueError(
                f"unix time out of range: {text!r} (it must fall within the years 1..9999,"
                f" from 0 to {MAX_UNIX_SECONDS:.0f} seconds)"
            )
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = from_iso(value.replace("z", "Z"))
    except OutOfRange:
        raise
    except ValueError as exc:
        if digits:
            raise ValueError(
                f"not a time: {text!r} (a number of fewer than 10 digits is neither an ISO"
                f" 8601 date nor unix seconds; {_TIME_HINT})"
            ) from exc
        raise ValueError(
            f"not a time: {text!r} (use ISO 8601 like 2026-01-31T12:00:00Z, or unix seconds)"
        ) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 pushed past the range by its offset
        raise ValueError(
            f"time out of range: {text!r} is not between years 1 and 9999 in UTC"
        ) from exc


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 node id``, ``2 node ids``, ``0 tiers``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, to the second: the format of every JSON field."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
