"""Builders of health reports and exports for the tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from noderr_deploy.cohorts import RolloutPlan, bucket
from noderr_deploy.health.read import read_latest
from noderr_deploy.health.report import HealthReport, Metrics

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALL_CANARY = RolloutPlan(canary_percentage=100, cohort_percentage=0)
"""Every bucket in the canary: engine cases about one cohort need no id search."""


def report(
    node: str = "node-0",
    *,
    version: str = "1.0.0",
    cpu: float = 10,
    memory: float = 10,
    errors: float = 0,
    uptime: float = 100,
    at: datetime | float = T0,
    status: str | None = None,
) -> HealthReport:
    return HealthReport(
        node_id=node,
        version=version,
        metrics=Metrics(uptime=uptime, cpu=cpu, memory=memory, errors=errors),
        timestamp=at,
        health_status=status,  # type: ignore[arg-type]
    )


def record(node: str = "node-0", **overrides: Any) -> dict[str, Any]:
    """A report as the engine's JSON, with top-level or metric fields overridden."""
    doc: dict[str, Any] = {
        "nodeId": node,
        "version": "1.0.0",
        "metrics": {"uptime": 100, "cpu": 10, "memory": 10, "errors": 0},
        "timestamp": "2026-11-01T12:00:00Z",
    }
    for key, value in overrides.items():
        if key in doc["metrics"]:
            doc["metrics"][key] = value
        else:
            doc[key] = value
    return doc


def jsonl(*docs: dict[str, Any] | str) -> bytes:
    return b"".join((d if isinstance(d, str) else json.dumps(d)).encode() + b"\n" for d in docs)


def ids_in(
    cohort: str, count: int, plan: RolloutPlan | None = None, prefix: str = "n"
) -> list[str]:
    """``count`` node ids that fall in ``cohort`` under ``plan`` (default 5/25)."""
    plan = plan or RolloutPlan()
    out: list[str] = []
    i = 0
    while len(out) < count:
        node = f"{prefix}{i}"
        if plan.cohort_of_bucket(bucket(node)) == cohort:
            out.append(node)
        i += 1
    return out


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


# -- a JSON Lines export for the readers' tests -----------------------------------------


def export(path: Path, count: int = 3000, nodes: int = 97) -> Path:
    """Records out of time order with many ties (ten distinct timestamps), and malformed
    lines: three close together at the start, one in the middle, one near the end."""
    lines: list[dict[str, object] | str] = [
        record(f"n{i % nodes}", uptime=i, timestamp=1793534400 + (i * 7919) % 600 // 60)
        for i in range(count)
    ]
    lines[0] = "garbage"
    lines[5] = json.dumps(record("x", memory=101))
    lines[9] = "[]"
    lines[count // 2] = json.dumps(record("x", cpu=-1))
    lines[-2] = "{"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(*lines)[:-1])  # a BOM, no final newline
    return path


def by_rule(path: Path) -> tuple[dict[str, float], list[str]]:
    """Latest uptime per node and the problems, read by one process from the front."""
    result = read_latest([path], workers=1, skip_invalid=True)
    return {k: v.metrics.uptime for k, v in result.latest.items()}, result.problems.lines()
