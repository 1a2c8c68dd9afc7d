"""Text from outside in ``rollback check --format markdown``: never Markdown, never HTML."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.ui.rollback import _markdown_text

# What GitHub's Markdown acts on: emphasis, code, links, HTML, entities, emoji, mentions,
# tables, headings, lists, strikethrough, escapes.
SPECIAL = set("\\`*_{}[]<>()#+!|~&:@")


@given(st.text())
def test_every_special_character_is_escaped(raw: str) -> None:
    shown = _markdown_text(raw)
    # Read left to right: a backslash escapes the next character; no special one is bare.
    bare = re.sub(r"\\.", "", shown)
    assert not SPECIAL & set(bare), shown
    assert "\n" not in shown


def test_entities_emoji_and_mentions_are_text() -> None:
    # &amp; would render as "&", &rlm; as an invisible mark, :rocket: as an emoji.
    assert _markdown_text("1.4.2&amp;") == "1.4.2\\&amp;"
    assert _markdown_text("&rlm;") == "\\&rlm;"
    assert _markdown_text(":rocket: @team") == "\\:rocket\\: \\@team"
    assert _markdown_text("1.4.2&amp;") != _markdown_text("1.4.2&")
