"""The counts a chunk of JSON Lines is judged by, before anything is decoded.

:func:`noderr_deploy.health.decode.decode_chunk` picks its path from a few facts about a
chunk's bytes: how many lines it has, how many quotes (the proof that the complete shape
holds no key twice), how many ``}\\n{`` joins (one record per line), how many
``"healthStatus"`` keys, whether a string starts with a date of year 0001 or 9999 (an
offset may push it out of range), whether it is all ASCII (else its UTF-8 is checked), and
whether a ``\\u`` escape stands anywhere.
:func:`survey` gets them in one pass with the optional C extension
(``noderr_deploy/_survey.c``), else with one ``bytes`` method each (:func:`survey_bytes`,
the reference: ``tests/health/test_survey.py`` checks both agree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Survey(NamedTuple):
    newlines: int
    quotes: int
    joins: int
    """Occurrences of ``}\\n{``: a record closed at a line's end, the next one opened."""
    statuses: int
    """Occurrences of ``"healthStatus"`` (as ``bytes.count`` counts: none overlapping)."""
    edge_year: bool
    """A quote followed by ``0001-`` or ``9999-``."""
    ascii: bool
    escapes: bool
    """A ``\\u`` escape stands somewhere: it can spell a key (``"error\\u0073"``) or a
    date (``"\\u0030001-..."``) that no count of the raw text sees, so such a chunk is
    decoded line by line and its keys checked exactly."""


STATUS_KEY = b'"healthStatus"'


def survey_bytes(chunk: bytes) -> Survey:
    """:func:`survey`, written with ``bytes`` methods (seven passes over the chunk)."""
    return Survey(
        chunk.count(b"\n"),
        chunk.count(b'"'),
        chunk.count(b"}\n{"),
        chunk.count(STATUS_KEY),
        b'"0001-' in chunk or b'"9999-' in chunk,
        chunk.isascii(),
        b"\\u" in chunk,
    )


def _fastest() -> Callable[[bytes], Survey]:
    try:
        from noderr_deploy._survey import survey as counts
    except ImportError:  # built without a C compiler: the same counts, six passes
        return survey_bytes
    return lambda chunk: Survey(*counts(chunk))


survey = _fastest()
