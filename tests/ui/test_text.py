"""Foreign text shown to a person: escaped, never interpreted, one line."""

from __future__ import annotations

import io
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.text import one_line, printable, sanitized
from noderr_deploy.ui.output import Output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("node-1", "node-1"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]8;;http://x\x07link", "\\x1b]8;;http://x\\x07link"),  # OSC 8 hyperlink
        ("tab\there", "tab\\there"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # right-to-left override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("c1\x9bcsi", "c1\\x9bcsi"),
        ("del\x7f", "del\\x7f"),
        ("ünïcödé ✓ 節點", "ünïcödé ✓ 節點"),
        ("a\\x1b", "a\\\\x1b"),  # typed backslash, x, 1, b: not the escape of ESC
        ("c:\\dir\\", "c:\\\\dir\\\\"),
        (os.fsdecode(b"bad\xffbyte"), "bad\\xffbyte"),  # surrogateescape
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(
    ("encoding", "raw", "shown"),
    [
        ("ascii", "ü✓", "\\u00fc\\u2713"),
        ("latin-1", "ü✓", "ü\\u2713"),
        ("latin-1", "\U0001f600", "\\U0001f600"),
        ("utf-8", "ü✓", "ü✓"),
    ],
)
def test_characters_the_encoding_lacks_are_escaped(encoding: str, raw: str, shown: str) -> None:
    assert printable(raw, encoding) == shown


@given(st.text())
def test_printable_output_is_one_line_without_controls(raw: str) -> None:
    shown = printable(raw, "ascii")
    assert shown.isascii()
    assert all(c >= " " and c != "\x7f" for c in shown)
    assert sanitized(shown) == shown  # a line of escaped values is left as it is
    assert printable(shown) == shown.replace("\\", "\\\\")  # a value: backslashes doubled


# Letters, marks, numbers, punctuation, symbols and the plain space: what is not a
# control, a format character, a separator, private use or unassigned.
ORDINARY = st.characters(
    blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs", "Co", "Cn"),
    blacklist_characters="\\",  # doubled, so that a shown escape is never a typed one
) | st.just(" ")


@given(st.text(alphabet=ORDINARY))
def test_ordinary_text_is_shown_as_it_is(raw: str) -> None:
    assert printable(raw) == raw


@given(st.text())
def test_no_data_forges_a_row_or_a_colour(raw: str) -> None:
    piped = io.StringIO()
    Output(stdout=piped, stderr=io.StringIO()).table(("node", "bucket"), [(raw, 1), ("n", 2)])
    assert len(piped.getvalue().splitlines()) == 3  # header and two rows, whatever the data
    terminal = Terminal()
    out = Output(stdout=terminal, stderr=io.StringIO(), colour=False)
    out.table(("node", "bucket"), [(raw, 1)])
    out.text(raw)
    # rich's own styling (bold headers) is the only escape sequence that may appear.
    assert "\x1b" not in re.sub(r"\x1b\[[0-9;]*m", "", terminal.getvalue())


def test_one_line_cuts_long_foreign_text_and_says_how_much() -> None:
    message = "x" * 200_000
    cut = one_line(message)
    assert len(cut) < 600
    assert cut.endswith("... (199500 more characters)")
    assert one_line("short\nmessage") == "short\\nmessage"
