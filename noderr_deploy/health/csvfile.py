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

import contextlib
import csv
import io
import re
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO

import msgspec

from noderr_deploy.errors import InputError
from noderr_deploy.health.columns import ColumnError, ColumnMap, header_index
from noderr_deploy.health.decode import BATCH, lose_rest, plain_reason
from noderr_deploy.health.model import HealthReport, Latest, Problems
from noderr_deploy.health.stamps import TimestampUnit, moment
from noderr_deploy.units import parse_time

_METRICS = ("uptime", "cpu", "memory", "errors")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def read_csv(stream: IO[bytes], name: str, latest: Latest, problems: Problems) -> None:
    """Flat CSV with a header naming the columns (see the module's doc).

    Values are byte-exact: ``" c1 "`` and ``c1`` are two nodes, as in JSON Lines (only
    numbers and timestamps may have blanks around them). Lines end with ``\n``, ``\r\n``
    or a lone ``\r``. A quoted field that runs over several lines and leaves its row
    malformed (a stray quote swallowing the rows after it) is lost data, counted in bytes
    and lines; a field over the csv module's limit is a malformed row; neither stops the
    read.
    """
    batch: list[HealthReport] = []
    lines = _Lines(stream, name, problems)
    reader = csv.reader(lines)
    header: list[str] | None = None
    index: dict[str, int] = {}
    while True:
        first = lines.number + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise InputError(f"{name}:{first}: CSV header: {exc}") from None
            problems.add(name, first, f"CSV: {exc}")
            continue
        line = lines.number
        if lines.bad_utf8 is not None:
            where, byte = lines.bad_utf8
            lines.bad_utf8 = None
            if header is None:
                raise InputError(f"{name}:{where}: CSV header: invalid UTF-8 (byte {byte})")
            problems.add(name, where, f"invalid UTF-8 (byte {byte} of the line)")
            continue
        if header is None:
            header, index = _header(row, name, line, latest.rules.columns)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if line > first and _swallowed(row, index, len(header)):
            text = ",".join(row)
            problems.lose(
                name,
                first,
                f"a quoted field opened here runs on to line {line}: a stray quote?"
                " (the rows it swallowed are lost)",
                size=len(text.encode("utf-8", "surrogateescape")),
                records=line - first,
            )
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


def _header(
    row: list[str], name: str, line: int, columns: ColumnMap
) -> tuple[list[str], dict[str, int]]:
    """The header's columns, and the place of each one the reader uses
    (:func:`noderr_deploy.health.columns.header_index`)."""
    header = [cell.strip() for cell in row]
    try:
        return header, header_index(header, columns)
    except ColumnError as exc:
        raise InputError(f"{name}:{line}: {exc}") from None


def _swallowed(row: list[str], index: dict[str, int], fields: int) -> bool:
    """Whether a row that spans lines is a stray quote's doing: its field count is wrong,
    or a field holds what looks like further rows (a line break, then a comma)."""
    if len(row) != fields:
        return True
    return any(_ROWS_INSIDE.search(cell) for cell in row)


_ROWS_INSIDE = re.compile(r"[\r\n][^\r\n]*,")


def _csv_record(
    row: list[str], index: dict[str, int], unit: TimestampUnit, problems: Problems
) -> tuple[HealthReport | None, str]:
    cells = {column: row[i] for column, i in index.items()}
    metrics: dict[str, float] = {}
    bad: list[str] = []
    for column in _METRICS:
        text = cells.get(column, "").strip()
        if not text:
            continue  # NULL: missing, never 0
        if not _NUMBER.fullmatch(text):
            bad.append(f"metrics.{column}: not a number: {text!r}")
        else:
            metrics[column] = float(text)  # 1e999 is infinity: the struct's range refuses it
    missing = [f"'{c}'" for c in ("nodeId", "version", "timestamp") if not cells[c]]
    if len(missing) > 1:
        bad.insert(0, f"missing fields {', '.join(missing)}")
    if bad:
        return None, "; ".join(bad)
    stamp: datetime | float
    text = cells["timestamp"].strip()
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


class _Lines:
    """The lines of a byte stream for the csv module: decoded as UTF-8, ending with
    ``\n``, ``\r\n`` or ``\r``, and counted (``number`` is the last line read).

    Invalid UTF-8 is kept (as surrogates) and noted in ``bad_utf8`` as ``(line, byte)``,
    for the reader to report against its row. A failed read (a cut-off or corrupt gzip
    stream) is lost data, and the end of the lines.
    """

    def __init__(self, stream: IO[bytes], name: str, problems: Problems) -> None:
        self.raw = stream
        self.text = io.TextIOWrapper(
            stream,
            encoding="utf-8",
            errors="surrogateescape",
            newline="",
        )
        self.name = name
        self.problems = problems
        self.number = 0
        self.done = False
        self.bad_utf8: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.done:
            raise StopIteration
        try:
            line = self.text.readline()
        except (EOFError, OSError, zlib.error) as exc:
            lose_rest(self.problems, self.name, self.number + 1, exc, self.raw)
            self._detach()
            raise StopIteration from None
        if not line:
            self._detach()
            raise StopIteration
        self.number += 1
        if self.bad_utf8 is None:
            bad = _SURROGATE.search(line)
            if bad is not None:
                byte = len(line[: bad.start()].encode("utf-8", "surrogateescape")) + 1
                self.bad_utf8 = (self.number, byte)
        return line

    def _detach(self) -> None:
        # The byte stream belongs to the caller: do not close it with the text wrapper.
        self.done = True
        with contextlib.suppress(ValueError):
            self.text.detach()


_SURROGATE = re.compile("[\udc80-\udcff]")
