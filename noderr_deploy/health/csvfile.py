"""A streaming reader for health exports as flat CSV.

The header names the columns (any order): ``nodeId,version,uptime,cpu,memory,errors,
timestamp``, optionally ``healthStatus``; other columns are ignored. Line numbers are
physical lines, so a quoted field spanning lines does not shift them.
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
from noderr_deploy.health.decode import BATCH, lose_rest, plain_reason
from noderr_deploy.health.model import HealthReport, Latest, Problems
from noderr_deploy.units import parse_time

CSV_COLUMNS = ("nodeId", "version", "uptime", "cpu", "memory", "errors", "timestamp")
_METRICS = ("uptime", "cpu", "memory", "errors")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def read_csv(stream: IO[bytes], name: str, latest: Latest, problems: Problems) -> None:
    """Flat CSV with a header naming at least :data:`CSV_COLUMNS` (``healthStatus`` optional)."""
    batch: list[HealthReport] = []
    counter = [0]
    reader = csv.reader(_text_lines(stream, name, problems, counter))
    header: list[str] | None = None
    for row in reader:
        line = counter[0]
        if header is None:
            header = [cell.strip() for cell in row]
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                raise InputError(
                    f"{name}:{line}: CSV header lacks column(s) {', '.join(missing)}"
                    f" (needs {','.join(CSV_COLUMNS)}; healthStatus optional)"
                )
            index = {
                column: header.index(column)
                for column in (*CSV_COLUMNS, "healthStatus")
                if column in header
            }
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.add(name, line, f"expected {len(header)} fields, got {len(row)}")
            continue
        report, reason = _csv_record(row, index)
        if report is None:
            problems.add(name, line, reason)
        else:
            batch.append(report)
            if len(batch) >= BATCH:
                latest.add_many(batch)
                batch.clear()
    latest.add_many(batch)


def _csv_record(row: list[str], index: dict[str, int]) -> tuple[HealthReport | None, str]:
    cells = {column: row[i].strip() for column, i in index.items()}
    metrics: dict[str, float] = {}
    for column in _METRICS:
        text = cells[column]
        if not _NUMBER.fullmatch(text):
            return None, f"metrics.{column}: not a number: {text!r}"
        metrics[column] = float(text)
    stamp: datetime | float
    text = cells["timestamp"]
    if _NUMBER.fullmatch(text):
        stamp = float(text)
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
        return msgspec.convert(document, HealthReport), ""
    except msgspec.ValidationError as exc:
        return None, plain_reason(str(exc))


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
