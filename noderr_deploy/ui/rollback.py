"""Rendering of a rollback verdict: a table for people, Markdown for CI job summaries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from noderr_deploy.errors import ExitCode
from noderr_deploy.rollback import CohortResult, RollbackResult
from noderr_deploy.rollback.numbers import number, percent
from noderr_deploy.text import printable
from noderr_deploy.ui.health import losses, tell_read
from noderr_deploy.ui.output import Output

if TYPE_CHECKING:
    from noderr_deploy.rollback.check import CheckOutcome

COLUMNS = (
    "cohort",
    "nodes",
    "healthy",
    "degraded",
    "unhealthy",
    "unhealthy %",
    "error rate",
    "status",
    "reasons",
)


def _rate(value: float) -> str:
    """Three decimals; a huge rate (errors up to the largest float) in six digits."""
    return f"{value:.3f}" if value < 1e15 else f"{value:.6g}"


def _row(c: CohortResult) -> list[str | int]:
    return [
        c.cohort,
        c.nodes,
        c.healthy,
        c.degraded,
        c.unhealthy,
        "-" if c.unhealthy_ratio is None else percent(c.unhealthy_ratio),
        "-" if c.error_rate is None else _rate(c.error_rate),
        c.status,
        "; ".join(c.reasons) or "-",
    ]


def title(result: RollbackResult, shown: Callable[[str], str] = str) -> str:
    """The verdict's heading; ``shown`` renders the text from outside in it (the version
    and the tier)."""
    tier = f" of tier {shown(result.tier)}" if result.tier else ""
    return f"Rollback check of version {shown(result.version)}{tier} at {result.at}"


def summary(result: RollbackResult) -> str:
    r = result.reports
    extra = losses(r.future, r.lost_bytes, r.lost_records)
    # Every node is in exactly one of these: left out (stale, another version, its kept
    # report incomplete) or judged, in a cohort. The JSON's counts add up the same way.
    left_out = f"{r.stale} stale, {r.other_version} on another version"
    if r.incomplete:
        left_out += f", {r.incomplete} incomplete"
    judged = r.nodes - r.stale - r.other_version - r.incomplete
    return (
        f"reports: {r.records} records, {r.invalid} invalid skipped{extra}; {r.nodes} nodes:"
        f" {left_out}, {judged} judged"
    )


def plan_line(result: RollbackResult) -> str:
    p, t = result.plan, result.thresholds
    return (
        f"plan: canary {p.canary_percentage}%, cohorts {p.cohort_percentage}%;"
        f" rollback when unhealthy > {percent(t.unhealthy_ratio)} or error rate >"
        f" {number(t.error_rate)}; cohorts with fewer than {t.min_nodes} nodes are not judged"
    )


def verdict_line(result: RollbackResult) -> str:
    if result.verdict == "rollback":
        why = "; ".join(f"{c.cohort}: {', '.join(c.reasons)}" for c in result.triggered)
        return f"verdict: rollback ({why})"
    if result.verdict == "inconclusive":
        return "verdict: inconclusive (no cohort had enough nodes on this version to judge)"
    return "verdict: ok"


# Every ASCII punctuation mark that means something in GitHub's Markdown, each backslash-
# escaped: & starts an entity (&rlm; is invisible), : an emoji, @ a mention.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&:@])")


def _markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable(text))


def table(out: Output, result: RollbackResult) -> None:
    """The human view: a table per cohort, then the counts and the verdict."""
    styles = [
        "red" if c.status == "rollback" else ("dim" if c.status == "insufficient" else None)
        for c in result.cohorts
    ]
    out.table(COLUMNS, [_row(c) for c in result.cohorts], title=title(result), styles=styles)
    out.text(summary(result))
    out.text(plan_line(result))
    colour = {"rollback": "red", "ok": "green", "inconclusive": "yellow"}[result.verdict]
    out.text(verdict_line(result), style=f"bold {colour}")


def markdown(result: RollbackResult) -> str:
    """A GitHub-flavoured Markdown report (for ``$GITHUB_STEP_SUMMARY``). The version is
    text from outside: control characters escaped, and Markdown's own characters too, so
    that it is shown, never rendered (nor a terminal's escape sequence when printed)."""
    lines = [
        f"### {title(result, _markdown_text)}: **{result.verdict}**",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| --- | " + " | ".join("---:" for _ in COLUMNS[1:7]) + " | --- | --- |",
    ]
    for c in result.cohorts:
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in _row(c)) + " |")
    lines += ["", f"**{verdict_line(result)}**", "", summary(result), "", plan_line(result), ""]
    return "\n".join(lines)


def show_outcome(out: Output, outcome: CheckOutcome, fmt: str, *, require_data: bool) -> int:
    """Tell what the read noticed, render the verdict (``table``, ``json`` or
    ``markdown``), and return the exit code it means: 3 rollback, 4 inconclusive with
    ``require_data``, else 0."""
    tell_read(
        out,
        notes=outcome.notes,
        warnings=outcome.warnings,
        skipped=outcome.skipped,
        problems=outcome.problems,
    )
    result = outcome.result
    if fmt == "json":
        out.json(result)
    elif fmt == "markdown":
        out.machine(markdown(result))  # for a job summary file: UTF-8, as JSON
    else:
        table(out, result)
    if result.verdict == "rollback":
        return ExitCode.NEGATIVE
    if result.verdict == "inconclusive" and require_data:
        return ExitCode.INCONCLUSIVE
    return 0
