"""Converting CSV rows to health reports a batch at a time, column by column.

:func:`convert_batch` checks and converts whole columns with C-level work (a JSON decode of
a column of numbers, one regular expression over a column of times, ``fromisoformat``),
and builds the structs without a dict per row. It vouches only for what it can prove is
read exactly as the row-by-row path (:func:`noderr_deploy.health.csvfile._csv_record`)
reads it: anything else (a blank around a number, a stray character, a value out of range,
a missing field) returns None, and the caller converts that batch row by row, which is
what names each malformed row's line and reason. ``tests/health/test_csv_reference.py``
holds both to a straightforward reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import msgspec

from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import MAX_FLOAT, HealthReport, HealthStatus, Metrics
from noderr_deploy.health.stamps import TimestampUnit, moment
from noderr_deploy.units import from_iso, has_long_fraction, iso_characters

_METRICS = ("uptime", "cpu", "memory", "errors")

_STAMPS_ISO = re.compile(r"\d{4}-[^\n]*\S(?:\n\d{4}-[^\n]*\S)*")
"""A column of ISO-looking times (none a number, none with blanks around it)."""
_STATUS_CELLS = frozenset(("", "healthy", "degraded", "unhealthy"))
_LIMITS = {"uptime": MAX_FLOAT, "cpu": 100.0, "memory": 100.0, "errors": MAX_FLOAT}


def convert_batch(
    rows: list[list[str]], index: dict[str, int], unit: TimestampUnit, problems: Problems
) -> list[HealthReport] | None:
    """The reports of ``rows``, converted column by column, or None when a bulk check does
    not vouch for every row: the row-by-row path (:func:`_csv_record`) then decides, with
    the same result for every row this accepts (the same numbers, times and ranges)."""
    node_ids = [row[index["nodeId"]] for row in rows]
    versions = [row[index["version"]] for row in rows]
    if "" in node_ids or "" in versions:
        return None
    columns: dict[str, list[float | None]] = {}
    for metric in _METRICS:
        i = index.get(metric)
        if i is None:
            continue
        values = _fast_numbers([row[i] for row in rows])
        if values is None:
            return None
        present = [v for v in values if v is not None]
        # -0.0 passes as 0, as for the row-by-row path; 1e999 is infinity, out of range.
        if present and (min(present) < 0 or max(present) > _LIMITS[metric]):
            return None
        columns[metric] = values
    nones = [None] * len(rows)
    statuses: Sequence[HealthStatus | None] = nones
    i = index.get("healthStatus")
    if i is not None:
        cells = [row[i] for row in rows]
        if not _STATUS_CELLS.issuperset(cells):
            return None
        statuses = [cast("HealthStatus", cell) if cell else None for cell in cells]
    stamps = _fast_stamps([row[index["timestamp"]] for row in rows], unit, problems)
    if stamps is None:
        return None
    uptime = columns.get("uptime", nones)
    cpu = columns.get("cpu", nones)
    memory = columns.get("memory", nones)
    errors = columns.get("errors", nones)
    reports = [
        HealthReport(
            node_id=node,
            version=version,
            metrics=Metrics(uptime=u, cpu=c, memory=m, errors=e),
            timestamp=stamp,
            health_status=status,
        )
        for node, version, u, c, m, e, stamp, status in zip(
            node_ids, versions, uptime, cpu, memory, errors, stamps, statuses, strict=True
        )
    ]
    problems.incomplete += sum(
        c is None or m is None or e is None for c, m, e in zip(cpu, memory, errors, strict=True)
    )
    return reports


def _fast_numbers(cells: list[str]) -> list[float | None] | None:
    """A column of numbers or empty fields (NULL), or None if a cell may be anything else
    (the row-by-row path then decides).

    The cells are decoded as one JSON array: JSON's number grammar is the row-by-row rule's
    (:data:`_NUMBER`, in ASCII digits), blanks around a number are skipped as
    ``str.strip`` would, and an empty cell is ``null``. Anything that would change the
    array's shape (a quoted cell holding a comma, a cell ``null``) shows in its length or
    its count of nulls.
    """
    empty = cells.count("")
    text = ",".join([cell or "null" for cell in cells]) if empty else ",".join(cells)
    try:
        values = _DECODE_NUMBERS(f"[{text}]")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(values) != len(cells) or values.count(None) != empty:
        return None
    return values


_DECODE_NUMBERS = msgspec.json.Decoder(list[float | None]).decode


def _fast_stamps(
    cells: list[str], unit: TimestampUnit, problems: Problems
) -> list[datetime] | None:
    """A column of timestamps as aware UTC datetimes (counting the numeric ones' units),
    or None for the row-by-row path to decide."""
    joined = "\n".join(cells)
    out: list[datetime] = []
    if _STAMPS_ISO.fullmatch(joined) and iso_characters(joined):
        fix = "z" in joined
        read = from_iso if has_long_fraction(joined) else datetime.fromisoformat
        try:
            for cell in cells:
                parsed = read(cell.replace("z", "Z") if fix else cell)
                if parsed.tzinfo is None:
                    out.append(parsed.replace(tzinfo=UTC))
                elif parsed.tzinfo is UTC:
                    out.append(parsed)
                else:
                    out.append(parsed.astimezone(UTC))
        except (ValueError, OverflowError):
            return None
        return out
    numbers = _fast_numbers(cells) if "" not in cells else None
    if numbers is not None:
        seconds = milliseconds = 0
        try:
            for number in numbers:
                assert number is not None
                stamp, used = moment(number, unit)
                out.append(stamp)
                if used == "ms":
                    milliseconds += 1
                else:
                    seconds += 1
        except (ValueError, OverflowError):
            return None
        problems.seconds += seconds
        problems.milliseconds += milliseconds
        return out
    return None
