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

import codecs
import csv
import re
import zlib
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import IO

import msgspec

from noderr_deploy.errors import InputError
from noderr_deploy.health.columns import ColumnError, ColumnMap, header_index
from noderr_deploy.health.csvbulk import convert_batch
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.losses import lose_rest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.reasons import plain_reason
from noderr_deploy.health.report import HealthReport
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

    Rows are parsed by the csv module's C reader over whole chunks of lines and converted
    a batch at a time, column by column
    (:func:`noderr_deploy.health.csvbulk.convert_batch`); a batch holding anything the
    bulk checks do not vouch for is converted row by row (:func:`_csv_record`), which is
    what names each malformed row's line and reason. Either way the reports, counts and
    messages are the same.
    """
    lines = _Lines(stream)
    reader = csv.reader(lines)
    next_row = reader.__next__
    read = _Rows(name, latest, problems)
    bad = lines.bad_utf8
    prev = 0
    while True:
        try:
            row = next_row()
        except StopIteration:
            break
        except csv.Error as exc:
            if read.header is None:
                raise InputError(f"{name}:{prev + 1}: CSV header: {exc}") from None
            read.flush()
            problems.add(name, prev + 1, f"CSV: {exc}")
            prev = reader.line_num
            continue
        line = reader.line_num
        first = prev + 1
        prev = line
        if bad and bad[0][0] <= line:
            read.bad_utf8(bad, line)
        elif read.header is None:
            read.set_header(row, line)
        elif line == first and len(row) == read.width:
            read.rows.append(row)
            read.ends.append(line)
            if len(read.rows) >= _ROWS:
                read.flush()
        else:
            read.odd_row(row, first, line)
    read.flush()
    if lines.failure is not None:
        where, error = lines.failure
        lose_rest(problems, name, where, error, stream)


class _Rows:
    """The rows of one CSV read: the header's map, and the rows waiting to be converted."""

    def __init__(self, name: str, latest: Latest, problems: Problems) -> None:
        self.name, self.latest, self.problems = name, latest, problems
        self.header: list[str] | None = None
        self.index: dict[str, int] = {}
        self.width = 0
        self.rows: list[list[str]] = []
        self.ends: list[int] = []

    def set_header(self, row: list[str], line: int) -> None:
        self.header, self.index = _header(row, self.name, line, self.latest.rules.columns)
        self.width = len(self.header)

    def bad_utf8(self, bad: deque[tuple[int, int]], line: int) -> None:
        """The first line of the row ending on ``line`` with invalid UTF-8 (its bytes kept
        as surrogates) makes the row malformed; a header, the file."""
        where, byte = bad[0]
        while bad and bad[0][0] <= line:
            bad.popleft()
        if self.header is None:
            raise InputError(f"{self.name}:{where}: CSV header: invalid UTF-8 (byte {byte})")
        self.flush()
        self.problems.add(self.name, where, f"invalid UTF-8 (byte {byte} of the line)")

    def odd_row(self, row: list[str], first: int, line: int) -> None:
        """A row that is blank, spans lines or has the wrong number of fields."""
        if not any(cell.strip() for cell in row):
            return
        self.flush()
        name, problems = self.name, self.problems
        if line > first and _swallowed(row, self.index, self.width):
            text = ",".join(row)
            problems.lose(
                name,
                first,
                f"a quoted field opened here runs on to line {line}: a stray quote?"
                " (the rows it swallowed are lost)",
                size=len(text.encode("utf-8", "surrogateescape")),
                records=line - first,
            )
        elif len(row) != self.width:
            problems.add(name, line, f"expected {self.width} fields, got {len(row)}")
        else:
            self.rows.append(row)
            self.ends.append(line)
            self.flush()

    def flush(self) -> None:
        """Convert the waiting rows and feed their reports, in order."""
        if not self.rows:
            return
        unit = self.latest.rules.unit
        reports = convert_batch(self.rows, self.index, unit, self.problems)
        if reports is None:
            reports = []
            for row, line in zip(self.rows, self.ends, strict=True):
                if not any(cell.strip() for cell in row):
                    continue
                report, reason = _csv_record(row, self.index, unit, self.problems)
                if report is None:
                    self.problems.add(self.name, line, reason)
                else:
                    reports.append(report)
        self.latest.add_many(reports)
        self.rows.clear()
        self.ends.clear()


_ROWS = 2048
"""Rows converted together: a batch the bulk checks refuse is converted row by row."""


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
    ``\n``, ``\r\n`` or ``\r`` (as ``TextIOWrapper(newline="")`` splits them), read in
    chunks and split in C.

    Invalid UTF-8 is kept (as surrogates) and noted in ``bad_utf8`` as ``(line, byte)``,
    in line order, for the reader to report against its row. A failed read (a cut-off or
    corrupt gzip stream) ends the lines: ``failure`` is then the line it would have been
    and the error; the partial line before it is lost with the rest.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.read = getattr(stream, "read1", stream.read)
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.number = 0
        """Lines handed out so far."""
        self.bad_utf8: deque[tuple[int, int]] = deque()
        self.failure: tuple[int, BaseException] | None = None
        self.lines = self._lines()

    def __iter__(self) -> Iterator[str]:
        return self.lines

    def _lines(self) -> Iterator[str]:
        carry = ""
        while True:
            try:
                data = self.read(_CHUNK)
            except (EOFError, OSError, zlib.error) as exc:
                self.failure = (self.number + 1, exc)
                return
            final = not data
            text = carry + self.decoder.decode(data, final)
            if not text:
                return
            if any(c in text for c in _OTHER_BREAKS):
                pieces = _LINE.findall(text)
            else:
                pieces = text.splitlines(keepends=True)
            # The last piece may be a line still being read (or a CR before its LF).
            carry = "" if final or not pieces or pieces[-1].endswith("\n") else pieces.pop()
            if pieces:
                if not text.isascii() and _SURROGATE.search(text, 0, len(text) - len(carry)):
                    self._note_bad(pieces)
                self.number += len(pieces)
                yield from pieces
            if final:
                return

    def _note_bad(self, pieces: list[str]) -> None:
        for k, line in enumerate(pieces, self.number + 1):
            bad = _SURROGATE.search(line)
            if bad is not None:
                byte = len(line[: bad.start()].encode("utf-8", "surrogateescape")) + 1
                self.bad_utf8.append((k, byte))


_CHUNK = 1 << 16
_SURROGATE = re.compile("[\udc80-\udcff]")
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
"""What ``str.splitlines`` also breaks at, and a CSV line does not (each looked for with
``in``, far faster than a regular expression's scan)."""
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
