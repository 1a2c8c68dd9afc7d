"""DSN handling without a server: recognising DSNs, keeping passwords out of messages, and
what happens without psycopg."""

from __future__ import annotations

import sys
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.errors import ExitCode, UsageError
from noderr_deploy.health.postgres import TableQuery, is_dsn, read_table, redact_dsn, scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u@h/db", True),
        ("POSTGRES://u@h/db", True),
        ("postgres:/u@h/db", False),
        ("exports/postgresql://x.csv", False),
        ("-", False),
    ],
)
def test_dsns_are_told_from_files(text: str, expected: bool) -> None:
    assert is_dsn(text) is expected


def test_redacted_dsns() -> None:
    assert redact_dsn("postgresql://u:pw@h:5432/db") == "postgresql://***@h:5432/db"
    assert redact_dsn("postgresql://h/db?password=pw&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require"
    )
    assert redact_dsn("host=h password='a b' dbname=x") == "host=h password=*** dbname=x"


# A password holds "§", which nothing else in the message does: any trace of it shows.
passwords = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=24,
).map(lambda text: f"§{text}")


@given(passwords, st.sampled_from(["{}", "x {} y", "'{}'", "\n\t{}\n", "{}{}"]))
def test_a_password_never_survives_scrubbing(password: str, template: str) -> None:
    dsn = f"postgresql://noderr:{quote(password, safe='')}@127.0.0.1:5432/db"
    for shown in (password, quote(password, safe=""), dsn):
        message = scrub(template.format(shown, shown), dsn)
        assert "§" not in message
        assert "%C2%A7" not in message


def test_scrub_escapes_control_characters_and_joins_lines() -> None:
    assert scrub("FATAL:  bad\n\tthing\x1b[2J", "postgresql://h/db") == "FATAL: bad thing\\x1b[2J"


def test_without_psycopg_a_dsn_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(UsageError) as caught:
        read_table("postgresql://u:secret@127.0.0.1/db", TableQuery())
    assert caught.value.exit_code == ExitCode.USAGE
    assert "pip install 'noderr-deploy[postgres]'" in caught.value.message
    assert "secret" not in caught.value.message
