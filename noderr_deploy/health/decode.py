"""Decoding health records: msgspec's typed decoder in bulk where the text proves it safe
(:mod:`~noderr_deploy.health.survey`, :mod:`~noderr_deploy.health.jsontext`), line by
line where it does not, and the lenient path for timestamps it refuses (reasons:
:mod:`~noderr_deploy.health.reasons`)."""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from operator import attrgetter
from typing import IO, Annotated

import msgspec

from noderr_deploy.health.jsontext import (
    TOO_DEEP,
    duplicate_key,
    maybe_duplicated,
    room_to_nest,
    too_deep,
    valid_utf8,
)
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.reasons import decode_failure, error_path, missing_fields, plain_reason
from noderr_deploy.health.report import MAX_FLOAT, HealthReport, HealthStatus, Metrics
from noderr_deploy.health.stamps import TimestampUnit, moment, utc
from noderr_deploy.health.survey import Survey, survey
from noderr_deploy.units import parse_time

BATCH = 4096
"""Records handed to :class:`Latest` at a time by the record-by-record parsers."""


BOM = b"\xef\xbb\xbf"


_DECODER = msgspec.json.Decoder(HealthReport)


_DECODE = _DECODER.decode


_DECODE_LINES = _DECODER.decode_lines


class _CompleteMetrics(Metrics, kw_only=True, gc=False):
    """Every metric present and a number: the shape nodes send."""

    uptime: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)]
    cpu: Annotated[float, msgspec.Meta(ge=0, le=100)]
    memory: Annotated[float, msgspec.Meta(ge=0, le=100)]
    errors: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)]


class _CompleteReport(HealthReport, rename="camel", kw_only=True, gc=False):
    """A :class:`HealthReport` (a subclass: everything downstream takes it as one) whose
    metrics are all there and whose timestamp is text: nothing is left to settle."""

    metrics: _CompleteMetrics
    timestamp: datetime

    incomplete = False  # a plain attribute: latest-wins asks it of every record


_DECODE_COMPLETE_LINES = msgspec.json.Decoder(_CompleteReport).decode_lines

_QUOTES = 22
"""Quote characters in a complete record with no other field: eight keys (``nodeId``,
``version``, ``metrics``, its four metrics, ``timestamp``) and three string values."""

_STATUS = attrgetter("health_status")


class _TextTimestampReport(msgspec.Struct, rename="camel", kw_only=True, gc=False):
    """The record with its timestamp as any text, for what RFC 3339 decoding refused
    (``2026-01-31 12:00:00``, unix seconds as a string): ``parse_time`` reads it."""

    node_id: Annotated[str, msgspec.Meta(min_length=1)]
    version: Annotated[str, msgspec.Meta(min_length=1)]
    metrics: Metrics = msgspec.field(default_factory=Metrics)
    timestamp: str
    health_status: HealthStatus | None = None


_DECODE_LENIENT = msgspec.json.Decoder(_TextTimestampReport).decode


def gzip_reason(exc: BaseException) -> str:
    """Why reading stopped: a cut-off or corrupt gzip stream, or an I/O error."""
    if isinstance(exc, EOFError):
        return "truncated gzip data: the compressed file ended early"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip data: {exc}"
    return f"read error: {exc}"


def _checksum_failed(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "crc" in text or "length" in text


def lose_rest(
    problems: Problems,
    name: str,
    line: int,
    exc: BaseException,
    stream: IO[bytes],
    *,
    read: int = 0,
) -> None:
    """Count what a failed read loses from ``line`` on: ``read`` bytes of a cut-off record
    already in hand, and what is left of the file after the point of failure (compressed
    bytes, for a gzip stream)."""
    if isinstance(exc, zlib.error) or (isinstance(exc, gzip.BadGzipFile) and _checksum_failed(exc)):
        # Corrupt compressed data (unlike a cut-off file) may have decoded into records
        # that look valid and are wrong before the damage was noticed.
        problems.damaged += 1
    problems.lose(
        name, line, gzip_reason(exc), size=read + unread_bytes(stream), records=1 if read else 0
    )


def unread_bytes(stream: IO[bytes]) -> int:
    """Bytes of the file under ``stream`` (the compressed file, for a gzip stream) after its
    current position; 0 when that cannot be known (a pipe)."""
    raw = getattr(stream, "fileobj", None) or stream
    try:
        left = os.fstat(raw.fileno()).st_size - raw.tell()
    except (OSError, ValueError, AttributeError):
        return 0
    # The gzip reader holds compressed bytes it has read but not yet used: they are lost
    # too. (CPython's GzipFile keeps them in a padded buffer; without one, this is 0.)
    padded = getattr(getattr(getattr(stream, "_buffer", None), "raw", None), "_fp", None)
    length, used = getattr(padded, "_length", None), getattr(padded, "_read", None)
    held = length - used if isinstance(length, int) and isinstance(used, int) else 0
    return max(0, left + held)


def decode_chunk(
    chunk: bytes, name: str, first_line: int, problems: Problems, unit: TimestampUnit = "auto"
) -> tuple[list[HealthReport], int]:
    """The valid records of whole lines, and the number of newlines in ``chunk``; malformed
    lines go to ``problems`` (``first_line`` is the number of the chunk's first line).

    The fast path decodes the whole chunk in one call; it is taken only when that call
    provably saw one record per line (see :func:`one_record_per_line`). Anything else is
    decoded line by line, which is what finds the line number of each malformed record.
    """
    if not chunk:
        return [], 0
    counts = survey(chunk)
    newlines = counts.newlines
    # A date that an offset may push out of range, invalid UTF-8 anywhere (msgspec skips
    # unknown keys without checking it), or a \u escape (it can spell a key or a date that
    # the counts do not see): the chunk is decoded line by line, each record exactly.
    if counts.edge_year or counts.escapes or not (counts.ascii or valid_utf8(chunk)):
        lines = chunk.split(b"\n")
        if not lines[-1]:
            lines.pop()
        return _decode_each(lines, name, first_line, problems, unit), newlines
    complete = _complete_lines(chunk, counts)
    if complete is not None:
        return complete, newlines
    try:
        reports = _DECODE_LINES(chunk)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        reports = None
    if reports is None or not one_record_per_line(chunk, newlines, len(reports), counts.joins):
        lines = chunk.split(b"\n")
        if not lines[-1]:
            lines.pop()
        try:
            reports = list(map(_DECODE, lines))
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return _decode_each(lines, name, first_line, problems, unit), newlines
    # One record per line here: record i is on line first_line + i.
    return settle(reports, name, first_line, problems, unit, chunk=chunk), newlines


def _complete_lines(chunk: bytes, counts: Survey) -> list[HealthReport] | None:
    """The records of ``chunk`` when it holds one complete record per line, each with the
    fields of a report and no other (None: take the general path).

    Then nothing is left to settle, and no key can stand twice: every key and every string
    value is a pair of quotes, and the decoder proved that each record has the eight keys
    and three string values that make :data:`_QUOTES` (and a status, for each
    ``"healthStatus"`` in the text, four more). As many quotes as that in all leaves no
    room for another key anywhere. An escaped quote in a string only adds quotes, and so
    sends the chunk down the general path, as does any other field.
    """
    lines = counts.newlines + (not chunk.endswith(b"\n"))
    named = counts.statuses
    if counts.quotes != _QUOTES * lines + 4 * named:
        return None
    try:
        # A list of the subclass, typed as reports: it is never appended to.
        reports: list[HealthReport] = _DECODE_COMPLETE_LINES(chunk)  # type: ignore[assignment]
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not one_record_per_line(chunk, counts.newlines, len(reports), counts.joins):
        return None
    if named and list(map(_STATUS, reports)).count(None) != len(reports) - named:
        return None  # a status that is null, or its key inside a string: count exactly
    return reports


def _refuse_duplicates(
    lines: list[bytes], name: str, first_line: int, problems: Problems
) -> set[int]:
    """The indexes of the lines holding a record with a key twice (each counted)."""
    refused = set()
    for i, line in enumerate(lines):
        key = duplicate_key(line)
        if key is not None:
            problems.add(name, first_line + i, f"duplicate key {key!r} in one record")
            refused.add(i)
    return refused


def settle(
    reports: list[HealthReport],
    name: str,
    first_line: int,
    problems: Problems,
    unit: TimestampUnit,
    *,
    chunk: bytes = b"",
) -> list[HealthReport]:
    """After a bulk decode (record ``i`` on line ``first_line + i``): records with a key
    twice refused, numeric timestamps read by the unit rule (a number that is no date is a
    malformed record), incomplete records counted. Returns the records kept."""
    refused: set[int] = set()
    if chunk and maybe_duplicated(chunk, reports):
        lines = chunk.split(b"\n")
        if not lines[-1]:
            lines.pop()
        if len(lines) == len(reports):
            refused = _refuse_duplicates(lines, name, first_line, problems)
    numbered: Iterable[tuple[int, HealthReport]] = enumerate(reports)
    if refused:  # the others keep their line numbers
        numbered = [(i, r) for i, r in enumerate(reports) if i not in refused]
    for i, report in numbered:
        m = report.metrics
        if (
            report.timestamp.__class__ is float
            or m.cpu is None
            or m.memory is None
            or m.errors is None
        ):
            why = finish(report, unit, problems)
            if why:
                problems.add(name, first_line + i, why)
                refused.add(i)
    if refused:
        return [r for i, r in enumerate(reports) if i not in refused]
    return reports


def name_future(
    chunk: bytes, name: str, first_line: int, latest: Latest, problems: Problems, *, count: int
) -> None:
    """Say where the first future records of ``chunk`` are (``count`` were fed from it).

    Only the first few of a read are named, so this rare case reads the chunk again, line
    by line, and stops once they are found."""
    unit = latest.rules.unit
    horizon = latest.horizon
    scratch = Problems()
    for offset, line in enumerate(chunk.split(b"\n")):
        if not count or problems.sighted:
            return
        if not line.strip():
            continue
        report, _ = decode_record(line, unit)
        if report is None or finish(report, unit, scratch):
            continue
        if utc(report.timestamp) > horizon:
            problems.sight(name, first_line + offset, report)
            count -= 1


def finish(report: HealthReport, unit: TimestampUnit, problems: Problems) -> str:
    """Read a numeric timestamp of ``report`` by the unit rule, in place, and count it and
    an incomplete report in ``problems``; return why the record is refused ("" if it is
    not)."""
    stamp = report.timestamp
    if isinstance(stamp, float | int):
        try:
            report.timestamp, used = moment(float(stamp), unit)
        except ValueError as exc:
            return f"timestamp: {exc}"
        if used == "ms":
            problems.milliseconds += 1
        else:
            problems.seconds += 1
    if report.incomplete:
        problems.incomplete += 1
    return ""


def one_record_per_line(chunk: bytes, newlines: int, values: int, joins: int | None = None) -> bool:
    """Whether ``chunk`` (holding ``newlines`` newlines and ``joins`` times ``}\\n{``,
    counted here when not given), from which ``msgspec``'s ``decode_lines`` read
    ``values`` records, holds exactly one record on each line, as reading it line by line
    requires.

    ``decode_lines`` reads whitespace-separated JSON values: it accepts two records on one
    line, and a record spread over several lines. Neither can happen when every line starts
    with ``{`` and ends with ``}`` and the counts agree: inside a record a ``}`` (an object
    just closed) is never followed by ``{`` without a comma in between, so no record runs
    on past the end of a line, and with as many records as lines, none shares its line.
    Blank lines, ``\\r\\n`` endings or indentation fail this test and take the exact path.
    """
    lines = newlines + (not chunk.endswith(b"\n"))
    return (
        values == lines
        and chunk.startswith(b"{")
        and chunk.endswith((b"}\n", b"}"))
        and (chunk.count(b"}\n{") if joins is None else joins) == lines - 1
    )


def _decode_each(
    lines: list[bytes], name: str, first_line: int, problems: Problems, unit: TimestampUnit
) -> list[HealthReport]:
    reports = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue  # a blank line is not a record
        report, reason = decode_record(line, unit)
        if report is not None:
            reason = finish(report, unit, problems)
        if report is not None and not reason:
            reports.append(report)
        elif report is None and _cr_lines(line, name, first_line + offset, problems):
            pass  # several records on one line (counted as lost)
        else:
            problems.add(name, first_line + offset, reason)
    return reports


def _cr_lines(line: bytes, name: str, line_no: int, problems: Problems) -> bool:
    """Whether a line that is no record holds several, ended by CR only (old Mac line
    endings, mixed with LF ones): then it is counted as lost, with its records."""
    pieces = [p for p in line.split(b"\r") if p.strip()]
    if len(pieces) < 2 or not all(p.lstrip().startswith(b"{") for p in pieces):
        return False
    problems.lose(
        name,
        line_no,
        f"lines end with CR only here: {len(pieces)} records on one line (convert the line"
        " endings to LF, e.g. with tr '\\r' '\\n')",
        size=len(line),
        records=len(pieces),
    )
    return True


def out_of_range(stamp: object) -> str:
    """Why a decoded timestamp cannot be used ("" if it can): a datetime whose offset puts it
    before year 1 or after year 9999 in UTC."""
    if isinstance(stamp, datetime) and stamp.tzinfo is not None:
        try:
            stamp.astimezone(UTC)
        except OverflowError:
            return (
                f"timestamp: out of range: {stamp.isoformat()} is not between"
                " years 1 and 9999 in UTC"
            )
    return ""


def decode_record(
    raw: bytes, unit: TimestampUnit = "auto", *, room: bool = False
) -> tuple[HealthReport | None, str]:
    """One JSON record: the report, or ``None`` and why it was refused. A numeric timestamp
    is left as a number (:func:`finish` reads it); one given as text is read here.

    Invalid UTF-8 anywhere refuses the record, in a key or value no rule reads too."""
    if not valid_utf8(raw):
        return decode_failure(raw, ValueError("invalid UTF-8"))
    try:
        report = _DECODE(raw)
        why = out_of_range(report.timestamp)
        if not why and maybe_duplicated(raw, [report]):
            key = duplicate_key(raw)
            if key is not None:
                why = f"duplicate key {key!r} in one record"
        return (None, why) if why else (report, "")
    except msgspec.ValidationError as exc:
        if "missing required field" in str(exc):
            return None, missing_fields(raw, str(exc))
        if error_path(str(exc)) == "timestamp":
            return _lenient_timestamp(raw, exc, unit)
        return None, plain_reason(str(exc))
    except RecursionError:
        if room or too_deep(raw):
            return None, TOO_DEEP
        with room_to_nest():
            return decode_record(raw, unit, room=True)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return decode_failure(raw, exc)


_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _lenient_timestamp(
    raw: bytes, exc: Exception, unit: TimestampUnit
) -> tuple[HealthReport | None, str]:
    try:
        report = _DECODE_LENIENT(raw)
    except msgspec.ValidationError as other:
        if error_path(str(other)) == "timestamp":  # not text either
            return None, _number_reason(raw, unit) or plain_reason(str(exc))
        return None, plain_reason(str(other))  # another field is wrong too
    except RecursionError:
        return None, TOO_DEEP
    except (msgspec.DecodeError, UnicodeDecodeError) as other:
        # The strict decoder stopped at the timestamp; the rest of the record is broken.
        return decode_failure(raw, other)
    text = report.timestamp.strip()
    try:
        if _NUMBER_TEXT.fullmatch(text):  # a number as a string: the unit rule reads it
            when, _ = moment(float(text), unit)
        else:
            when = parse_time(text)
    except ValueError as bad:
        return None, f"timestamp: {bad}"
    return (
        HealthReport(
            node_id=report.node_id,
            version=report.version,
            metrics=report.metrics,
            timestamp=when,
            health_status=report.health_status,
        ),
        "",
    )


def _number_reason(raw: bytes, unit: TimestampUnit) -> str:
    """Why a numeric timestamp the decoder refused is no date, naming both readings."""
    try:
        stamp = msgspec.json.decode(raw).get("timestamp")
    except (msgspec.DecodeError, UnicodeDecodeError, AttributeError, RecursionError):
        return ""
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return ""
    try:
        moment(float(stamp), unit)
    except (ValueError, OverflowError) as exc:
        return f"timestamp: {exc}"
    return ""
