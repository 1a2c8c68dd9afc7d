"""The rollback thresholds' defaults and allowed ranges, written down once.

Shared by tiers.yaml's ``rollback`` section (:class:`noderr_deploy.config.models.RollbackSettings`),
its pydantic-free reader (:func:`noderr_deploy.config.sections.read_settings`) and the verdict's
:class:`noderr_deploy.rollback.Thresholds`, so that the three accept the same values. This
module imports nothing: ``noderr cohort`` and ``noderr rollback check`` start without pydantic.

The messages are worded as pydantic's own range errors were when the model checked the
ranges itself, so a bad tiers.yaml reads the same whichever path reports it.
"""

from __future__ import annotations

import re

DEFAULT_UNHEALTHY = 0.10
"""A cohort triggers when its unhealthy share is above this."""
DEFAULT_ERROR_RATE = 0.05
"""A cohort triggers when its mean errors per node is above this."""
DEFAULT_MIN_NODES = 1
"""A cohort with fewer nodes is ``insufficient`` and cannot trigger."""
MAX_ERROR_RATE = 1.7976931348623157e308
"""The largest finite float: an error-rate threshold above it is no number (``inf``)."""
MAX_MIN_NODES = 1_000_000_000
"""More nodes per cohort than any fleet has: a larger minimum is a typo (``1e30``), and
JSON readers lose integers past 2**53."""

ROLLBACK_KEYS = ("unhealthy_threshold", "error_rate_threshold", "min_nodes")
"""The thresholds' keys as tiers.yaml spells them."""


_NAN = "not a number (NaN compares with no value: give a number)"


# Each test is written `not (value within range)` so that NaN, which compares false with
# everything, is rejected too (and it is named first).
def unhealthy_problem(value: float) -> str | None:
    """Why ``value`` cannot be the unhealthy-share threshold (None when it can)."""
    if value != value:  # noqa: PLR0124 (NaN, the one value unequal to itself)
        return _NAN
    if not value <= 1:
        return "Input should be less than or equal to 1"
    if not value >= 0:
        return "Input should be greater than or equal to 0"
    return None


def error_rate_problem(value: float) -> str | None:
    """Why ``value`` cannot be the error-rate threshold (None when it can): a number from
    0 to the largest finite float, as the flag takes it (``.inf`` would never trigger)."""
    if value != value:  # noqa: PLR0124 (NaN)
        return _NAN
    if not value >= 0:
        return "Input should be greater than or equal to 0"
    if not value <= MAX_ERROR_RATE:
        return f"not a finite number (a number from 0 to {MAX_ERROR_RATE!r}, the largest finite)"
    return None


def min_nodes_problem(value: int) -> str | None:
    """Why ``value`` cannot be the minimum number of nodes per cohort (None when it can)."""
    if not value >= 1:
        return "Input should be greater than or equal to 1"
    if not value <= MAX_MIN_NODES:
        return f"Input should be less than or equal to {MAX_MIN_NODES}"
    return None


def threshold_problems(
    unhealthy: float, error_rate: float, min_nodes: int
) -> list[tuple[str, str]]:
    """Every problem of a set of thresholds as ``(tiers.yaml key, message)``."""
    found = (
        unhealthy_problem(unhealthy),
        error_rate_problem(error_rate),
        min_nodes_problem(min_nodes),
    )
    return [(key, problem) for key, problem in zip(ROLLBACK_KEYS, found, strict=True) if problem]


# -- thresholds typed by an operator (flags, environment variables) ---------------------------

# ASCII digits only: float() and int() also take full-width digits (U+FF15) and underscores.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_WHOLE = re.compile(r"\+?[0-9]+", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def read_unhealthy(text: str) -> float:
    """``--unhealthy-threshold`` as typed: a number from 0 to 1 (:class:`ValueError`)."""
    return _read_number(text, 1.0, "1")


def read_error_rate(text: str) -> float:
    """``--error-rate-threshold`` as typed: a finite number from 0 (:class:`ValueError`)."""
    return _read_number(text, MAX_ERROR_RATE, f"{MAX_ERROR_RATE!r}, the largest finite number")


def read_min_nodes(text: str) -> int:
    """``--min-nodes`` as typed: a whole number from 1 to :data:`MAX_MIN_NODES`."""
    value = text.strip()
    allowed = f"a whole number from 1 to {MAX_MIN_NODES}"
    if not _WHOLE.fullmatch(value):
        raise ValueError(f"not a whole number: {text!r} ({allowed}, in ASCII digits)")
    number = int(value[:40])  # more digits are out of range whatever they are
    if len(value) > 40 or not 1 <= number <= MAX_MIN_NODES:
        raise ValueError(f"{value[:40]!r} is out of range ({allowed})")
    return number


def _read_number(text: str, high: float, shown: str) -> float:
    """A threshold from 0 to ``high``: an ASCII decimal number (an exponent allowed), never
    NaN or infinity; a finite number past the range, or so close to 0 that it reads as 0
    (``1e-400``), is out of range; ``-0`` is 0."""
    value = text.strip()
    allowed = f"a number from 0 to {shown}"
    if _NOT_FINITE.fullmatch(value):
        raise ValueError(f"not a finite number: {text!r} ({allowed})")
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"not a number: {text!r} ({allowed}, in ASCII digits, e.g. 0.05)")
    number = float(value)
    shown_text = value if len(value) <= 40 else value[:37] + "..."
    if number == 0 and re.search(r"[1-9]", value.split("e")[0].split("E")[0]):
        raise ValueError(f"{shown_text!r} is out of range (too close to 0 to tell from it: use 0)")
    if not 0 <= number <= high:  # past the range, or past the largest float (infinite)
        raise ValueError(f"{shown_text!r} is out of range ({allowed})")
    return number + 0.0  # -0 is 0
