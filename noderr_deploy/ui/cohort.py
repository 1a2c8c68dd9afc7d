"""Rendering of ``noderr cohort`` results: rows and summaries in every output format.

Row formats stream, so a million ids never sit in memory as JSON or CSV text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from noderr_deploy.cohorts import COHORTS, Assignment, RolloutPlan, phase, schedule
from noderr_deploy.ui.output import Output
from noderr_deploy.units import iso

ROW_KEYS = ("nodeId", "bucket", "cohort", "activatesAt", "active")


def write_rows(
    out: Output, fmt: str, rows: Iterable[Assignment], *, single: bool, with_times: bool
) -> None:
    """Rows in ``fmt``; ``single`` makes JSON one object instead of a list of one."""
    if fmt == "json":
        if single:
            out.json(row_json(next(iter(rows))))
        else:
            write_json_list(out.stdout, rows)
    elif fmt == "jsonl":
        write_jsonl(out.stdout, rows)
    elif fmt == "csv":
        write_csv(out.stdout, rows)
    else:
        write_table(out, rows, with_times=with_times)


def write_summary(out: Output, fmt: str, document: dict[str, Any], plan: RolloutPlan) -> None:
    """The summary document in ``fmt`` (jsonl: the same document on one line)."""
    if fmt == "json":
        out.json(document)
    elif fmt == "jsonl":
        out.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        write_summary_csv(out.stdout, document)
    else:
        write_summary_table(out, document, plan)


def row_json(row: Assignment) -> dict[str, Any]:
    """One node's JSON object: a stable contract."""
    return {
        "nodeId": row.node_id,
        "bucket": row.bucket,
        "cohort": row.cohort,
        "activatesAt": iso(row.activates_at) if row.activates_at is not None else None,
        "active": row.active,
    }


def write_json_list(stream: IO[str], rows: Iterable[Assignment]) -> None:
    """A JSON list, one object per line, written as it goes."""
    stream.write("[")
    separator = "\n  "
    for row in rows:
        stream.write(separator + json.dumps(row_json(row), ensure_ascii=False))
        separator = ",\n  "
    stream.write("\n]\n" if separator != "\n  " else "]\n")


def write_jsonl(stream: IO[str], rows: Iterable[Assignment]) -> None:
    for row in rows:
        stream.write(json.dumps(row_json(row), ensure_ascii=False) + "\n")


def write_csv(stream: IO[str], rows: Iterable[Assignment]) -> None:
    """CSV with a header; ids holding commas, quotes or spaces are quoted by the csv module."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(ROW_KEYS)
    for row in rows:
        writer.writerow(
            (
                row.node_id,
                row.bucket,
                row.cohort,
                iso(row.activates_at) if row.activates_at is not None else "",
                "" if row.active is None else ("true" if row.active else "false"),
            )
        )


def write_table(out: Output, rows: Iterable[Assignment], with_times: bool) -> None:
    columns = ["node id", "bucket", "cohort"]
    if with_times:
        columns += ["activates at", "active"]
    cells: list[tuple[str | int | bool | None, ...]] = []
    for r in rows:
        if with_times:
            start = iso(r.activates_at) if r.activates_at is not None else None
            cells.append((r.node_id, r.bucket, r.cohort, start, r.active))
        else:
            cells.append((r.node_id, r.bucket, r.cohort))
    out.table(columns, cells)


# -- summaries ------------------------------------------------------------------------------


def summary_json(
    counts: dict[str, int],
    plan: RolloutPlan,
    warnings: list[str],
    published_at: datetime | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """``{"total", "cohorts", "percentages", "plan", "warnings"}``, and the schedule when known."""
    total = sum(counts.values())
    document: dict[str, Any] = {
        "total": total,
        "cohorts": dict(counts),
        "percentages": {name: _percent(n, total) for name, n in counts.items()},
        "plan": {
            "canaryPercentage": plan.canary_percentage,
            "cohortPercentage": plan.cohort_percentage,
            "cohortDelayHours": plan.cohort_delay_hours,
        },
        "warnings": list(warnings),
    }
    if published_at is not None and at is not None:
        document["publishedAt"] = iso(published_at)
        document["at"] = iso(at)
        document["phase"] = phase(plan, published_at, at)
        document["schedule"] = [
            {
                "cohort": e.cohort,
                "activatesAt": iso(e.activates_at) if e.activates_at is not None else None,
                "active": e.active,
            }
            for e in schedule(plan, published_at, at)
        ]
    return document


def _percent(n: int, total: int) -> float:
    return round(100 * n / total, 2) if total else 0.0


def write_summary_table(out: Output, document: dict[str, Any], plan: RolloutPlan) -> None:
    bounds = plan.bounds()
    timed = "schedule" in document
    times = {e["cohort"]: e for e in document.get("schedule", [])}
    columns = ["cohort", "buckets", "nodes", "share"]
    if timed:
        columns += ["activates at", "active"]
    rows = []
    for name in COHORTS:
        low, high = bounds[name]
        row: list[str | int | bool | None] = [
            name,
            f"{low}-{high - 1}" if high > low else "none",
            document["cohorts"][name],
            f"{document['percentages'][name]:.2f}%",
        ]
        if timed:
            row += [times[name]["activatesAt"], times[name]["active"]]
        rows.append(row)
    share = "100.00%" if document["total"] else "0.00%"
    total_row: list[str | int | bool | None] = ["total", "0-99", document["total"], share]
    rows.append(total_row + ([None, None] if timed else []))
    title = (
        f"{document['total']} node ids; canary {plan.canary_percentage}%,"
        f" cohort {plan.cohort_percentage}%, delay {plan.cohort_delay_hours:g} h"
    )
    if timed:
        title += f"; phase {document['phase']} at {document['at']}"
    out.table(columns, rows, title=title)


def write_summary_csv(stream: IO[str], document: dict[str, Any]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(("cohort", "nodes", "percent"))
    for name in COHORTS:
        writer.writerow((name, document["cohorts"][name], document["percentages"][name]))
