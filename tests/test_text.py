"""The one escaper (noderr_deploy.text): its properties over any text."""

from __future__ import annotations

import io
import os
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.text import clipped, one_line, printable, sanitized
from noderr_deploy.ui.output import Output

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
def test_printable_ascii_is_unchanged_but_for_backslashes(raw: str) -> None:
    assert printable(raw) == raw.replace("\\", "\\\\")
    assert printable(raw, "ascii") == raw.replace("\\", "\\\\")
    assert sanitized(raw) == raw
    assert one_line(raw, limit=10_000) == raw  # a message: its values are escaped already


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[ntr])")
_NAMED = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unescape(shown: str) -> str:
    """The text that ``printable`` showed as ``shown``: what a person reads back."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return _NAMED[code] if code in _NAMED else chr(int(code[1:], 16))

    rest = _ESCAPE.sub("", shown)
    assert "\\" not in rest, f"a backslash that starts no escape in {shown!r}"
    return _ESCAPE.sub(one, shown)


# Surrogates stand for the bytes a locale could not decode, shown as those bytes (\xff):
# left out here, as they read back as the byte's character.
NO_SURROGATE = st.text(st.characters(exclude_categories=("Cs",)))


@given(NO_SURROGATE, st.sampled_from([None, "ascii", "latin-1", "utf-8"]))
def test_what_is_shown_reads_back_as_the_text(raw: str, encoding: str | None) -> None:
    # No two values are shown alike: the typed "a\\x1b" and ESC-a, "\\n" and a newline.
    assert unescape(printable(raw, encoding)) == raw


@pytest.mark.parametrize(
    ("first", "other"),
    [("a\\x1b", "a\x1b"), ("\\n", "\n"), ("\\u202e", "\u202e"), ("\\\\", "\\")],
)
def test_typed_escapes_and_the_characters_they_name_look_different(first: str, other: str) -> None:
    assert printable(first) != printable(other)
    piped = io.StringIO()
    Output(stdout=piped, stderr=io.StringIO()).table(("node id",), [(first,), (other,)])
    rows = piped.getvalue().splitlines()[1:]
    assert rows[0].strip() != rows[1].strip()


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


@given(st.text(alphabet=st.sampled_from(["a", "\x1b", "\u202e", "\n", "é"]), max_size=60))
def test_a_cut_message_never_ends_in_half_an_escape(raw: str) -> None:
    # A hostile review: the cut fell inside "\x1b" and the note counted escape characters.
    for limit in (1, 5, 9, 20):
        shown = one_line(raw, limit)
        if shown == sanitized(raw):
            continue
        kept, _, note = shown.rpartition("... (")
        assert kept == sanitized(raw[: len(raw) - int(note.split()[0])])
