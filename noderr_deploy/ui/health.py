"""What the health read tells people on stderr, for every command that reads health
inputs (``rollback check``, ``rollout status --health``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from noderr_deploy.ui.output import Output


def announce_read(out: Output, sources: Sequence[str | Path]) -> None:
    """On a terminal, say what is read (a line, not a spinner: the reader forks its
    workers only when no other thread runs). A DSN is shown without its password."""
    if not out.stderr_is_tty or not sources:
        return
    from noderr_deploy.health.postgres import is_dsn, redact_dsn

    first = str(sources[0])
    where = redact_dsn(first) if is_dsn(first) else f"{len(sources)} path(s)"
    out.info(f"reading health reports from {where}...")


def tell_read(
    out: Output,
    *,
    notes: Sequence[str],
    warnings: Sequence[str],
    skipped: str,
    problems: Sequence[str],
) -> None:
    """The read's notes, warnings and (with ``--skip-invalid``) what it left out."""
    for note in notes:
        out.info(note)
    for warning in warnings:
        out.warn(warning)
    if skipped:
        out.warn(f"skipped {skipped}:")
        for line in problems:
            out.warn(f"  {line}")


def losses(future: int, lost_bytes: int, lost_records: int) -> str:
    """What a read left out beside the invalid records, as both summaries say it
    (``, 2 future left out, 40 bytes lost (1 records or more)``; empty when nothing)."""
    text = f", {future} future left out" if future else ""
    if lost_bytes or lost_records:
        text += f", {lost_bytes} bytes lost"
        if lost_records:
            text += f" ({lost_records} records or more)"
    return text
