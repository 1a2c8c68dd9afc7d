"""A streaming reader for health exports as flat CSV.

The header names the columns (any order, any case): ``nodeId,version,cpu,memory,errors,
timestamp``, optionally ``uptime`` and ``healthStatus``, or their ``node_telemetry`` names
(``node_id``, ``cpu_usage``, ``memory_usage``...) as ``psql \\copy ... csv header`` writes
them, or the names ``--columns`` maps (:mod:`noderr_deploy.health.columns`); other columns
(``id``, ``requests``, ``metrics``...) are ignored. An empty metric field is NULL: the report
is then incomplete, not malformed. Line numbers are physical lines, so a quoted field
spanning lines does not shift them.
"""

from __future__ import annotations

import csv
import re
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO

import msgspec

from noderr_deploy.errors import InputError
from noderr_deploy.health.columns import ColumnError, header_index
from noderr_deploy.health.decode import BATCH, lose_rest, plain_reason
from noderr_deploy.health.model import HealthReport, Latest, Problems
from noderr_deploy.health.stamps import TimestampUnit, moment
from noderr_deploy.units import parse_time

_METRICS = ("uptime", "cpu", "memory", "errors")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def read_csv(stream: IO[bytes], name: str, latest: Latest, problems: Problems) -> None:
    """Flat CSV with a header naming the columns (see the module's doc)."""
    batch: list[HealthReport] = []
    counter = [0]
    reader = csv.reader(_text_lines(stream, name, problems, counter))
    header: list[str] | None = None
    for row in reader:
        line = counter[0]
        if header is None:
            header = [cell.strip() for cell in row]
            try:
                index = header_index(header, latest.rules.columns)
            except ColumnError as exc:
                raise InputError(f"{name}:{line}: {exc}") from None
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.add(name, line, f"expected {len(header)} fields, got {len(row)}")
            continue
        report, reason = _csv_record(row, index, latest.rules.unit, problems)
        if report is None:
            problems.add(name, line, reason)
        else:
            batch.append(report)
            if len(batch) >= BATCH:
                latest.add_many(batch)
                batch.clear()
    latest.add_many(batch)


def _csv_record(
    row: list[str], index: dict[str, int], unit: TimestampUnit, problems: Problems
) -> tuple[HealthReport | None, str]:
    cells = {column: row[i].strip() for column, i in index.items()}
    metrics: dict[str, float] = {}
    bad: list[str] = []
    for column in _METRICS:
        text = cells.get(column, "")
        if not text:
            continue  # NULL: missing, never 0
        if not _NUMBER.fullmatch(text):
            bad.append(f"metrics.{column}: not a number: {text!r}")
        else:
            metrics[column] = float(text)
    missing = [f"'{c}'" for c in ("nodeId", "version", "timestamp") if not cells[c]]
    if len(missing) > 1:
        bad.insert(0, f"missing fields {', '.join(missing)}")
    if bad:
        return None, "; ".join(bad)
    stamp: datetime | float
    text = cells["timestamp"]
    used = None
    if _NUMBER.fullmatch(text):
        try:
            stamp, used = moment(float(text), unit)
        except ValueError as exc:
            return None, f"timestamp: {exc}"
    else:
        try:
            stamp = parse_time(text)
        except ValueError as exc:
            return None, f"timestamp: {exc}"
    document = {
        "nodeId": cells["nodeId"],
        "version": cells["version"],
        "metrics": metrics,
        "timestamp": stamp,
        "healthStatus": cells.get("healthStatus") or None,
    }
    try:
        report = msgspec.convert(document, HealthReport)
    except msgspec.ValidationError as exc:
        return None, plain_reason(str(exc))
    if used == "ms":
        problems.milliseconds += 1
    elif used == "s":
        problems.seconds += 1
    if report.incomplete:
        problems.incomplete += 1
    return report, ""


def _text_lines(
    stream: IO[bytes], name: str, problems: Problems, counter: list[int]
) -> Iterator[str]:
    """Decoded lines for the csv module; ``counter[0]`` is the physical line just read."""
    while True:
        try:
            raw = stream.readline()
        except (EOFError, OSError, zlib.error) as exc:
            lose_rest(problems, name, counter[0] + 1, exc, stream)
            return
        if not raw:
            return
        counter[0] += 1
        if not raw.endswith(b"\n") and (failure := _eof_error(stream)) is not None:
            lose_rest(problems, name, counter[0], failure, stream, read=len(raw))
            return
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            problems.add(name, counter[0], f"invalid UTF-8 (byte {bad.start + 1} of the line)")


def _eof_error(stream: IO[bytes]) -> BaseException | None:
    try:
        stream.read(1)
    except (EOFError, OSError, zlib.error) as exc:
        return exc
    return None
