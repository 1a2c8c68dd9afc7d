"""Decoding one health record exactly: msgspec's typed decoder, then the lenient path for
timestamps it refuses (``2026-01-31 12:00:00``, unix seconds as a string), and the unit
rule for numeric timestamps (:func:`finish`); why a record is refused, in the words of
:mod:`~noderr_deploy.health.reasons`. The bulk paths over many records are
:mod:`~noderr_deploy.health.decode`'s."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from noderr_deploy.health.jsontext import (
    TOO_DEEP,
    duplicate_key,
    maybe_duplicated,
    room_to_nest,
    too_deep,
    valid_utf8,
)
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.reasons import decode_failure, error_path, missing_fields, plain_reason
from noderr_deploy.health.report import HealthReport, HealthStatus, Metrics
from noderr_deploy.health.stamps import TimestampUnit, moment
from noderr_deploy.units import parse_time

DECODER = msgspec.json.Decoder(HealthReport)
"""The typed decoder of a report (the bulk paths decode many lines with it too)."""


_DECODE = DECODER.decode


class _TextTimestampReport(msgspec.Struct, rename="camel", kw_only=True, gc=False):
    """The record with its timestamp as any text, for what RFC 3339 decoding refused
    (``2026-01-31 12:00:00``, unix seconds as a string): ``parse_time`` reads it."""

    node_id: Annotated[str, msgspec.Meta(min_length=1)]
    version: Annotated[str, msgspec.Meta(min_length=1)]
    metrics: Metrics = msgspec.field(default_factory=Metrics)
    timestamp: str
    health_status: HealthStatus | None = None


_DECODE_LENIENT = msgspec.json.Decoder(_TextTimestampReport).decode


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
