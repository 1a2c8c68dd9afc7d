"""The one escaper (noderr_deploy.text): its properties over any text."""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy import text
from noderr_deploy.text import clipped, one_line, printable
from noderr_deploy.ui import text as ui_text

PRINTABLE_ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))
# Everything a terminal acts on or cannot show: C0/C1 controls, DEL, format characters
# (bidi overrides and isolates, zero-width marks, the BOM), separators, surrogates.
UNPRINTABLE = st.characters(
    categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn")
) | st.sampled_from(
    ["\x00", "\n", "\r", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066", "\u200b", "\ufeff", "\xa0"]
)
BIDI_AND_CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} | set(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069\ufeff"
)


def test_one_implementation() -> None:
    # ui.text re-exports the base module's functions; nothing else defines its own.
    assert ui_text.printable is text.printable
    assert ui_text.one_line is text.one_line


@given(st.text())
def test_output_has_no_control_bidi_or_unprintable_character(raw: str) -> None:
    shown = printable(raw)
    assert shown.isprintable()
    assert not BIDI_AND_CONTROLS & set(shown)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in shown)


@given(st.text(), st.sampled_from(["ascii", "latin-1", "utf-8", "cp1252"]))
def test_output_can_always_be_written_in_the_encoding(raw: str, encoding: str) -> None:
    shown = printable(raw, encoding)
    shown.encode(encoding)  # never raises
    assert shown.isprintable()


@given(PRINTABLE_ASCII)
def test_printable_ascii_is_unchanged(raw: str) -> None:
    assert printable(raw) == raw
    assert printable(raw, "ascii") == raw
    assert one_line(raw, limit=10_000) == raw


# Text without backslashes, so that the escapes are the only backslashes of the output.
PLAIN = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\\\x7f")
PLAIN = PLAIN.filter(str.isprintable)


@given(
    st.lists(st.tuples(st.text(alphabet=PLAIN, max_size=3), st.lists(UNPRINTABLE, max_size=2))),
    st.data(),
)
def test_inputs_that_differ_only_in_control_characters_stay_distinct(
    pieces: list[tuple[str, list[str]]], data: st.DataObject
) -> None:
    # Two texts with the same printable characters in the same order and other
    # unprintable ones between them: when they differ, so do their escaped forms.
    first = "".join(plain + "".join(controls) for plain, controls in pieces)
    other = "".join(
        plain + "".join(data.draw(st.lists(UNPRINTABLE, max_size=2))) for plain, _ in pieces
    )
    if first != other:
        assert printable(first) != printable(other)
        assert printable(first, "ascii") != printable(other, "ascii")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x00b", "a\\x00b"),
        ("\u202e", "\\u202e"),
        ("\U000e0001", "\\U000e0001"),  # a tag character (Cf) outside the BMP
        ("no\xa0break", "no\\xa0break"),  # a space that is not U+0020
        ("\ue000", "\\ue000"),  # private use
        (os.fsdecode(b"\xff\xfe"), "\\xff\\xfe"),  # bytes the locale could not decode
    ],
)
def test_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_clipped_reads_only_the_start() -> None:
    assert clipped("x" * 200_000, 40) == "x" * 40 + "... (199960 more characters)"
    assert clipped("x" * 41, 40) == "x" * 40 + "... (1 more character)"
    assert clipped("\x1b" * 30, 20) == "\\x1b" * 5 + "... (25 more characters)"
    assert clipped("a\nb", 40) == "a\\nb"
