"""Numbers are ASCII: a numeric flag or variable holding any other Unicode decimal digit
(full-width, Arabic-Indic, Devanagari, mathematical ...) is refused with exit 2 naming it,
although Python's int() and float() would read it (ui.params.ascii_numbers, units)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from noderr_deploy.cli import app
from noderr_deploy.units import check_ascii_number, parse_duration

# Every decimal digit Python's int() takes that is not 0-9, by its value.
DIGITS: dict[int, list[str]] = {}
for code in range(0x80, 0x110000):
    char = chr(code)
    value = unicodedata.decimal(char, None)
    if value is not None:
        DIGITS.setdefault(value, []).append(char)

BEACON = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN = ["--rpc-url", "http://127.0.0.1:9", "--beacon", BEACON]

# (command words, flag, its environment variable or None, a valid value's template)
FLAGS = [
    (["cohort", "node-1"], "--canary", "NODERR_CANARY_PERCENTAGE", "{}"),
    (["cohort", "node-1"], "--cohort-size", "NODERR_COHORT_PERCENTAGE", "{}"),
    (["cohort", "node-1"], "--delay-hours", "NODERR_COHORT_DELAY_HOURS", "{}"),
    (["cohort", "node-1", "--tier", "oracle", *CHAIN], "--chain-id", "NODERR_CHAIN_ID", "{}"),
    (["cohort", "node-1", "--tier", "oracle", *CHAIN], "--timeout", "NODERR_RPC_TIMEOUT", "{}"),
    (["rollout", "status", "--tier", "oracle", *CHAIN], "--block", None, "{}"),
    (["rollout", "status", "--tier", "oracle", *CHAIN], "--timeout", "NODERR_RPC_TIMEOUT", "{}"),
    (
        ["rollout", "status", "--tier", "oracle", "--health", "x.jsonl", *CHAIN],
        "--max-age",
        "NODERR_MAX_AGE",
        "{}h",
    ),
    (["rollback", "check", "--tier", "oracle", "--health", "x.jsonl"], "--canary", None, "{}"),
    (["rollback", "check", "--tier", "oracle", "--health", "x.jsonl"], "--min-nodes", None, "{}"),
    (
        ["rollback", "check", "--tier", "oracle", "--health", "x.jsonl"],
        "--unhealthy-threshold",
        "NODERR_UNHEALTHY_THRESHOLD",
        "0.{}",
    ),
    (
        ["rollback", "check", "--tier", "oracle", "--health", "x.jsonl"],
        "--max-skew",
        "NODERR_MAX_SKEW",
        "{}m",
    ),
    (["rollback", "propose", "--tier", "oracle", "-r", "x"], "--to-version-id", None, "{}"),
    (["build", "--all", "--dry-run"], "--push-timeout", None, "{}"),
    (["publish", "--tier", "oracle", "--version", "1.4.0"], "--timeout", None, "{}"),
    (["publish", "--tier", "oracle", "--version", "1.4.0", *CHAIN], "--chain-id", None, "{}"),
]


@st.composite
def look_alike(draw: st.DrawFn) -> tuple[str, str]:
    """A number from 1 to 999 in ASCII, and the same with one digit or more replaced by
    other Unicode digits of the same value."""
    ascii_text = str(draw(st.integers(1, 999)))
    chars = list(ascii_text)
    positions = draw(
        st.lists(st.integers(0, len(chars) - 1), min_size=1, max_size=len(chars), unique=True)
    )
    for i in positions:
        chars[i] = draw(st.sampled_from(DIGITS[int(chars[i])]))
    return ascii_text, "".join(chars)


def run(argv: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    clean: dict[str, str | None] = {
        "NODERR_RPC_URL": None,
        "NODERR_BEACON_ADDRESS": None,
        "NODERR_CONFIG": None,
    }
    result = CliRunner().invoke(app, argv, env=clean | env)
    return result.exit_code, result.stderr


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


@pytest.mark.parametrize(
    ("words", "flag", "variable", "template"), FLAGS, ids=[f"{w[0]} {f}" for w, f, _, _ in FLAGS]
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=look_alike())
def test_a_unicode_digit_in_a_numeric_flag_is_refused(
    words: list[str], flag: str, variable: str | None, template: str, number: tuple[str, str]
) -> None:
    ascii_text, text = number
    assert int(text) == int(ascii_text)  # what int() and float() would have accepted
    value = template.format(text)
    code, stderr = run([*words, flag, value], {})
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert flag in stderr
    assert "ASCII" in stderr or f"{flag} {value!r}" in stderr
    if variable is not None:
        code, stderr = run(words, {variable: value})
        assert code == 2, stderr
        assert stderr.count("\n") == 1, stderr
        # Durations are parsed after click (rollout, rollback): they name the flag only.
        assert variable in stderr or (template != "{}" and flag in stderr), stderr
        assert "ASCII" in stderr


@pytest.mark.parametrize("flag", ["--canary", "--cohort-size", "--delay-hours"])
def test_the_same_number_in_ascii_is_accepted(flag: str) -> None:
    # The control of the test above: only the digits' script makes the difference.
    assert run(["cohort", "node-1", "--canary", "5", "--cohort-size", "20", flag, "7"], {})[0] == 0


@given(number=look_alike())
def test_the_helpers_refuse_every_unicode_digit(number: tuple[str, str]) -> None:
    ascii_text, text = number
    assert check_ascii_number(ascii_text) == ascii_text
    with pytest.raises(ValueError, match="is not an ASCII character"):
        check_ascii_number(text)
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_duration(f"{text}m")
    assert parse_duration(f"{ascii_text}m").total_seconds() == 60 * int(ascii_text)


def test_the_message_names_the_character() -> None:
    with pytest.raises(ValueError) as caught:
        check_ascii_number("1\uff15")
    assert str(caught.value) == (
        "'1５' is not a number: U+FF15 FULLWIDTH DIGIT FIVE is not an ASCII character"
        " (type digits 0-9)"
    )


def test_help_still_shows_a_range() -> None:
    # The ASCII check wraps click's range types without hiding them from --help.
    result = CliRunner().invoke(app, ["rollback", "propose", "--help"], env={"COLUMNS": "200"})
    assert "INTEGER RANGE" in result.output
    assert "x>=1" in result.output or "1<=x" in result.output
    # --min-nodes is read by its own rule (one message for flag and variable): it says it.
    check = CliRunner().invoke(app, ["rollback", "check", "--help"], env={"COLUMNS": "200"})
    assert "a whole number, 1 or more" in " ".join(check.output.split())


# tiers.yaml: YAML reads a look-alike number as a string, and the validators refuse it at
# its line and column (the fast section readers defer to the full one: the same error).
YAML_NUMBERS = [
    ("rollout", "canary_percentage", "{}", "rollout.canary_percentage"),
    ("rollout", "cohort_delay_hours", "{}", "rollout.cohort_delay_hours"),
    ("rollback", "min_nodes", "{}", "rollback.min_nodes"),
    ("rollback", "unhealthy_threshold", "0.{}", "rollback.unhealthy_threshold"),
    ("beacon", "chain_id", "{}", "beacon.chain_id"),
]


@pytest.mark.parametrize(
    ("section", "key", "template", "where"), YAML_NUMBERS, ids=[k for _, k, _, _ in YAML_NUMBERS]
)
@settings(max_examples=10, deadline=None)
@given(number=look_alike())
def test_a_unicode_digit_in_tiers_yaml_is_refused_at_its_position(
    section: str, key: str, template: str, where: str, number: tuple[str, str]
) -> None:
    import tempfile

    from noderr_deploy.config.schema import load_config
    from noderr_deploy.config.sections import read_settings
    from noderr_deploy.errors import ConfigError

    value = template.format(number[1])
    text = f"{section}: {{{key}: {value}}}\ntiers:\n  all: {{beacon_tier: 0, size_budget: 1MB}}\n"
    column = len(f"{section}: {{{key}: ") + 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tiers.yaml"
        path.write_text(text)
        # read_settings is the fast path of the rollout and rollback sections only.
        readers = (load_config, read_settings) if section != "beacon" else (load_config,)
        for read in readers:
            with pytest.raises(ConfigError) as caught:
                read(path)
            (detail,) = caught.value.details
            assert detail.startswith(f"{path}:1:{column}: {where}: "), detail
            assert "is not an ASCII character (type digits 0-9)" in detail, detail


@given(number=look_alike())
@settings(max_examples=20, deadline=None)
def test_a_unicode_digit_in_a_size_budget_is_refused(number: tuple[str, str]) -> None:
    from noderr_deploy.units import parse_size

    assert parse_size(f"{number[0]}MB") == int(number[0]) * 1000**2
    with pytest.raises(ValueError, match="not a size"):
        parse_size(f"{number[1]}MB")
