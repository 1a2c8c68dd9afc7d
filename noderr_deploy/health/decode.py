"""Decoding health records in bulk: msgspec's typed decoder over a whole chunk where the
text proves it safe (:mod:`~noderr_deploy.health.survey`,
:mod:`~noderr_deploy.health.jsontext`), line by line where it does not, each line then
decoded exactly (:mod:`~noderr_deploy.health.record`); what a failed read loses is
:mod:`~noderr_deploy.health.losses`'."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import attrgetter
from typing import Annotated

import msgspec

from noderr_deploy.health.jsontext import duplicate_key, maybe_duplicated, valid_utf8
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.record import DECODER, decode_record, finish
from noderr_deploy.health.report import MAX_FLOAT, HealthReport, Metrics
from noderr_deploy.health.stamps import TimestampUnit, utc
from noderr_deploy.health.survey import Survey, survey

BATCH = 4096
"""Records handed to :class:`Latest` at a time by the record-by-record parsers."""


BOM = b"\xef\xbb\xbf"


_DECODE = DECODER.decode


_DECODE_LINES = DECODER.decode_lines


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
