"""Numeric timestamps: seconds, milliseconds, and the auto rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.health.stamps import (
    AUTO_MS_FROM,
    MAX_SECONDS,
    UnitTally,
    moment,
    parse_unit,
    unit_of,
)

MARCH = datetime(2026, 3, 1, 5, 49, 36, 123000, tzinfo=UTC)


def test_epoch_milliseconds_of_the_updater() -> None:
    value = MARCH.timestamp() * 1000
    assert moment(value, "ms") == (MARCH, "ms")
    assert moment(value, "auto") == (MARCH, "ms")


def test_seconds_stay_seconds() -> None:
    value = MARCH.timestamp()
    assert moment(value, "s") == (MARCH, "s")
    assert moment(value, "auto") == (MARCH, "s")


def test_auto_line_is_the_year_3000() -> None:
    assert datetime.fromtimestamp(AUTO_MS_FROM, tz=UTC) == datetime(3000, 1, 1, tzinfo=UTC)
    assert unit_of(AUTO_MS_FROM - 1, "auto") == "s"
    assert unit_of(AUTO_MS_FROM, "auto") == "ms"
    # Milliseconds of early 1971 are already above it.
    assert datetime(1971, 1, 14, 21, tzinfo=UTC).timestamp() * 1000 > AUTO_MS_FROM


@given(st.datetimes(min_value=datetime(1971, 2, 1), max_value=datetime(2999, 12, 31)))
def test_auto_reads_both_units_of_any_plausible_date(when: datetime) -> None:
    aware = when.replace(tzinfo=UTC, microsecond=0)
    seconds = aware.timestamp()
    assert moment(seconds, "auto") == (aware, "s")
    assert moment(seconds * 1000, "auto") == (aware, "ms")


@pytest.mark.parametrize(
    ("value", "unit", "words"),
    [
        (1e16, "auto", ["no date in unix seconds or milliseconds", "after the year 9999"]),
        (-5.0, "auto", ["before 1970"]),
        (1.77e12, "s", ["--timestamp-unit s", "as seconds after the year 9999", "2026-"]),
        (MAX_SECONDS * 1000 + 10_000, "ms", ["--timestamp-unit ms"]),
        (float("nan"), "auto", ["not a number"]),
    ],
)
def test_a_number_that_fits_neither_names_both_readings(
    value: float, unit: str, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        moment(value, unit)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "as seconds" in message
    assert "as milliseconds" in message
    for word in words:
        assert word in message


def test_milliseconds_mode_reads_small_numbers_as_milliseconds() -> None:
    assert moment(1500, "ms") == (datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC), "ms")


@pytest.mark.parametrize(
    ("text", "unit"),
    [("s", "s"), ("MS", "ms"), (" auto ", "auto"), ("seconds", "s"), ("milliseconds", "ms")],
)
def test_units_as_typed(text: str, unit: str) -> None:
    assert parse_unit(text) == unit


def test_unknown_unit() -> None:
    with pytest.raises(ValueError, match="use s, ms or auto"):
        parse_unit("us")


def test_tally_says_which_unit_was_used() -> None:
    tally = UnitTally()
    assert tally.used is None
    tally.count("ms")
    assert tally.used == "ms"
    other = UnitTally()
    other.count("s")
    assert other.used == "s"
    tally.combine(other)
    assert (tally.seconds, tally.milliseconds, tally.used) == (1, 1, "mixed")
