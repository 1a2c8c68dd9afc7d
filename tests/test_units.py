from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.redact import redact_text, redact_url
from noderr_deploy.units import format_size, iso, parse_duration, parse_size, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15m", timedelta(minutes=15)), ("2h", timedelta(hours=2)), ("1h30m", timedelta(minutes=90)),
     ("90s", timedelta(seconds=90)), ("1d", timedelta(days=1)), ("250ms", timedelta(seconds=0.25))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "15", "m", "15x", "1h-3m", "two hours", "1h1h", "30m1h", "1ms1s", "1 5m", "\uff15m",
     "1_0s", "1e3s", "-1h", ".5h", "1.h", "1H", "NaNs", "infh"],
)  # fmt: skip
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "1000000000d",
        "142857143w",
        "1" + "0" * 400 + "s",
        "0.0000001s",
        "0.0004ms",
    ],
)
def test_durations_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match="duration out of range"):
        parse_duration(text)


def test_durations_at_their_bounds() -> None:
    assert parse_duration("999999999d") == timedelta(days=999999999)
    assert parse_duration("0.001ms") == timedelta(microseconds=1)
    assert parse_duration("0.000") == parse_duration("0") == timedelta(0)


_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": Decimal("0.001")}
_SPACE = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def durations(draw: st.DrawFn) -> tuple[str, Decimal]:
    """A text of the grammar (units once each, largest first) and its exact seconds."""
    units = draw(st.lists(st.sampled_from(list(_UNITS)), min_size=1, unique=True))
    units.sort(key=list(_UNITS).index)
    text, seconds = draw(_SPACE), Decimal(0)
    for unit in units:
        whole = draw(st.integers(0, 10_000))
        fraction = draw(st.none() | st.text("0123456789", min_size=1, max_size=6))
        number = f"{whole}.{fraction}" if fraction else str(whole)
        text += number + draw(_SPACE) + unit + draw(_SPACE)
        seconds += Decimal(number) * _UNITS[unit]
    return text, seconds


@given(durations())
def test_every_duration_of_the_grammar_is_read_exactly(case: tuple[str, Decimal]) -> None:
    text, seconds = case
    micro = (seconds * 1_000_000).to_integral_value()
    if seconds and not micro:
        with pytest.raises(ValueError, match="shorter than a microsecond"):
            parse_duration(text)
        return
    assert parse_duration(text) == timedelta(microseconds=int(micro))


@given(durations(), st.data())
def test_a_unit_repeated_or_out_of_order_is_refused(
    case: tuple[str, Decimal], data: st.DataObject
) -> None:
    text, _ = case
    extra = data.draw(st.sampled_from(list(_UNITS)))
    last = re.findall(r"(ms|w|d|h|m|s)", text)[-1]
    if list(_UNITS).index(extra) > list(_UNITS).index(last):
        return  # still largest first: the grammar allows it
    with pytest.raises(ValueError, match="give each unit once, the largest first"):
        parse_duration(f"{text}1{extra}")


_GRAMMAR = re.compile(
    r"\s*(?:[0-9]+(?:\.[0-9]+)?[ \t]*(?:ms|w|d|h|m|s)[ \t]*)+\s*|\s*0+(?:\.0*)?\s*"
)


@given(st.text(alphabet=st.sampled_from("0123456789.5 \t\uff15hmsdw-e_x"), max_size=12) | st.text())
def test_any_text_is_a_duration_of_the_grammar_or_a_message(text: str) -> None:
    try:
        result = parse_duration(text)
    except ValueError as exc:
        assert str(exc).startswith(("not a duration: ", "duration out of range: "))
        return
    assert isinstance(result, timedelta)
    assert _GRAMMAR.fullmatch(text), text
    units = re.findall(r"(ms|w|d|h|m|s)", text)
    ranks = [list(_UNITS).index(u) for u in units]
    assert ranks == sorted(set(ranks))  # each once, the largest first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T14:00:00+02:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("1769860800", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("1769860800.5", datetime(2026, 1, 31, 12, 0, 0, 500000, tzinfo=UTC)),
        # Compact numbers: fewer than 10 digits are ISO 8601 basic dates, not seconds.
        ("20260301", datetime(2026, 3, 1, tzinfo=UTC)),
        ("20260301T120000Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("0000000001", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("100.", datetime(1970, 1, 1, 0, 1, 40, tzinfo=UTC)),
        (".5", datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        (" 1769860800 ", datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_times(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "0x10",
        "",
        "1_772_366_400",
        "nan",
        "inf",
        "\uff11\uff17\uff17\uff12\uff13\uff16\uff16\uff14\uff10\uff10",
    ],
)
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a time: "):
        parse_time(text)


@pytest.mark.parametrize("text", ["2026", "0", "123456789", "20261301", "2026030"])
def test_short_numbers_are_not_seconds(text: str) -> None:
    with pytest.raises(ValueError, match=r"fewer than 10 digits is neither an ISO 8601 date"):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    # A sign or an exponent makes it a number too: -5 and 1e12 are seconds, out of range.
    ["99999999999999999999", "-99999999999", "9" * 400 + ".5", "253402300800", "-5", "1e400"],
)
def test_huge_numbers_are_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match=r"^unix time out of range: .*years 1\.\.9999"):
        parse_time(text)


def test_iso_is_utc_with_z() -> None:
    assert iso(parse_time("2026-01-31T14:00:00+02:00")) == "2026-01-31T12:00:00Z"


def test_sizes_round_trip_for_display() -> None:
    assert format_size(parse_size("1.5GB")) == "1.50 GB"
    assert format_size(999) == "999 B"
    with pytest.raises(ValueError, match="unknown size unit"):
        parse_size("3 PB")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://base-sepolia.g.alchemy.com/v2/AbCdEf0123456789xYz",
         "https://base-sepolia.g.alchemy.com/v2/***"),
        ("https://user:s3cret@rpc.example:8545/", "https://***@rpc.example:8545/"),
        ("https://rpc.example/?apikey=s3cret&chain=1", "https://rpc.example/?apikey=***&chain=1"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
         "https://mainnet.infura.io/v3/***"),
    ],
)  # fmt: skip
def test_urls_are_redacted(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_replaces_every_occurrence() -> None:
    url = "https://rpc.example/v2/AbCdEf0123456789xYz"
    text = f"cannot reach {url}: refused ({url})"
    assert redact_text(text, url) == (
        "cannot reach https://rpc.example/v2/***: refused (https://rpc.example/v2/***)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.01GB", 2_010_000_000), ("1.1MB", 1_100_000), ("0.5kB", 500), ("1.5KiB", 1536),
     ("2.3GB", 2_300_000_000), ("7", 7), (" 12 MB ", 12_000_000), ("0.001kB", 1)],
)  # fmt: skip
def test_sizes_are_exact(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["0.4B", "1.5", "0.0001kB", "1.0000000001GB"])
def test_sizes_that_are_not_whole_bytes(text: str) -> None:
    with pytest.raises(ValueError, match="not a whole number of bytes"):
        parse_size(text)


@pytest.mark.parametrize("text", ["\uff15\uff10\uff10MB", "5\u0660MB", "1e3MB", "-5MB", "5\nMB"])
def test_sizes_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_size(value: bool) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(value)


@given(
    st.sampled_from(["2026-11-26T12:00:00", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00+05:00"]),
    st.integers(min_value=1, max_value=18),  # inside: blanks around a time are trimmed
    st.characters(codec="utf-8").filter(lambda c: not re.fullmatch(r"[0-9A-Za-z:.,+\- ]", c)),
)
def test_a_character_no_time_is_written_with_is_refused_anywhere(
    good: str, at: int, odd: str
) -> None:
    # A hostile review: fromisoformat read "12:00:00\x01Z" and "...Z\x00" as valid times.
    text = good[:at] + odd + good[at:]
    with pytest.raises(ValueError, match="not a time"):
        parse_time(text)


def test_a_time_rounded_past_9999_says_so() -> None:
    with pytest.raises(ValueError, match=r"rounded past the year 9999"):
        parse_time("9999-12-31T23:59:59.9999995Z")
    assert parse_time("9999-12-31T23:59:59.9999994Z").microsecond == 999999


def test_rounding_near_9999_is_judged_in_utc() -> None:
    # Review round 3: .9999995+01:00 is 23:00 UTC, within range, but was refused.
    assert parse_time("9999-12-31T23:59:59.9999995+01:00") == datetime(
        9999, 12, 31, 23, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="out of range"):
        parse_time("9999-12-31T23:59:59.9999995")  # no offset: UTC, past the range


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (" postgresql:/u:pgpass9@127.0.0.1:1/db", " postgresql:/***@127.0.0.1:1/db"),
        ("host=127.0.0.1 password=pgpass9 dbname=x", "host=127.0.0.1 password=*** dbname=x"),
        ("u:sekret@ghcr.io/x", "***@ghcr.io/x"),
        ("exports/node@x.csv", "exports/node@x.csv"),  # no password: a file name
    ],
)
def test_credentials_in_a_name_that_is_no_url_are_masked(text: str, shown: str) -> None:
    # Review round 4: a DSN with a leading blank was read as a file name, and its password
    # printed; a registry without a scheme kept its user:password.
    from noderr_deploy.redact import mask_credentials

    assert mask_credentials(text) == shown
    assert redact_url("u:sekret@ghcr.io/x") == "***@ghcr.io/x"
