"""Numbers of a verdict written for people (JSON keeps full precision)."""

from __future__ import annotations


def number(value: float) -> str:
    """A number for people: up to four decimals, trailing zeros dropped (``0``, ``0.05``,
    ``1.5``); a small non-zero value keeps two significant digits (``3e-07``), a huge one
    six (``1e+308``, not 309 digits)."""
    if abs(value) >= 1e15:
        return f"{value:.6g}"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):
        return "0" if value == 0 else f"{value:.2g}"
    return text


def percent(value: float) -> str:
    """A ratio as a percentage for people, one decimal: ``10.0%``."""
    return f"{value * 100:.1f}%"


def exceeds(value: float, limit: float, show: str = "number") -> str:
    """``value > limit`` written with enough digits that the text is true as well:
    ``10.0001% > 10.0%``, never ``10.0% > 10.0%``."""
    scale = 100 if show == "percent" else 1
    unit = "%" if show == "percent" else ""
    left, right = (percent(value), percent(limit)) if unit else (number(value), number(limit))
    digits = 1
    kind = "e" if max(abs(value), abs(limit)) * scale >= 1e15 else "f"  # no 309-digit lines
    while left == right and digits < 17:
        digits += 1
        left = f"{value * scale:.{digits}{kind}}{unit}"
        right = f"{limit * scale:.{digits}{kind}}{unit}"
    if left == right:  # closer than printing shows: say so
        left = repr(value * scale) + unit
        right = repr(limit * scale) + unit
    return f"{left} > {right}"
