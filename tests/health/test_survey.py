"""The one-pass survey of a chunk (the C extension) counts as the bytes methods do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy.health import survey as module
from noderr_deploy.health.survey import survey, survey_bytes

# Pieces that make the counts interesting: overlapping keys, joins at the edges, dates.
pieces = st.sampled_from(
    [
        b'"healthStatus"',
        b'"healthStatus"healthStatus"',
        b"healthStatus",
        b"}\n{",
        b"}\n",
        b"\n{",
        b'"0001-',
        b'"9999-',
        b'"0001',
        b"9999-",
        b'"',
        b"\n",
        b"{",
        b"}",
        b"\xc3\xa9",
        b"\xff",
        b"\\u0073",
        b"\\",
        b"u",
        b"a",
        b"",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(pieces, st.binary(max_size=8)), max_size=30).map(b"".join))
def test_the_extension_counts_as_bytes_methods_do(chunk: bytes) -> None:
    assert survey(chunk) == survey_bytes(chunk)


def test_the_extension_is_used() -> None:
    # Built by `pip install` (setup.py); without it the reader is correct but slower.
    assert module.survey is not survey_bytes
