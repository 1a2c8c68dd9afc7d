"""Write the two health exports `scripts/demo` checks: examples/health/demo-healthy.jsonl and
demo-rollback.jsonl.

Both describe the demo's rollout at the moment the demo stops the chain clock (``NOW``):
version ``NEW_VERSION`` published at ``PUBLISHED`` with the default plan (canary 5 %, cohorts
of 25 %, 24 h apart), so the canary, cohort1 and cohort2 run it and cohort3 and cohort4 still
run ``OLD_VERSION``. Each of the 80 nodes (``node-0`` .. ``node-79``) sends one report within
the ten minutes before ``NOW``.

- demo-healthy.jsonl: every node healthy: `noderr rollback check` says ok (exit 0).
- demo-rollback.jsonl: the same, except that a third of cohort2 (the cohort that just
  updated) reports more than 10 errors, i.e. is unhealthy: the check says rollback (exit 3).

The output is deterministic (fixed seed, fixed times): run this script again and the files
do not change; ``--check`` fails if the committed files differ from what it would write. It
lives here rather than beside the exports so that examples/health/ holds only health exports
(`noderr rollback check --health examples/health/` reads every file of a directory).

    python scripts/make_demo_exports.py [--check]
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEALTH = ROOT / "examples" / "health"
sys.path.insert(0, str(ROOT))  # run from anywhere: the repository's noderr_deploy

from noderr_deploy.cohorts import RolloutPlan, bucket, is_active  # noqa: E402

# The demo's timeline (scripts/demo.py reads these).
OLD_VERSION = "1.4.1"
NEW_VERSION = "1.4.2"
OLD_PUBLISHED = datetime(2026, 2, 22, 12, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # cohort2 activated an hour ago
NODES = [f"node-{i}" for i in range(80)]
PLAN = RolloutPlan()
FILES = {"healthy": HEALTH / "demo-healthy.jsonl", "rollback": HEALTH / "demo-rollback.jsonl"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def reports(kind: str) -> list[dict[str, object]]:
    """The reports of one export, ``kind`` being ``healthy`` or ``rollback``."""
    rng = random.Random(f"noderr-demo-{kind}")
    unhealthy_left = 0
    if kind == "rollback":
        in_cohort2 = [n for n in NODES if PLAN.cohort_of_bucket(bucket(n)) == "cohort2"]
        unhealthy_left = len(in_cohort2) // 3
    records: list[dict[str, object]] = []
    for index, node in enumerate(NODES):
        cohort = PLAN.cohort_of_bucket(bucket(node))
        updated = is_active(PLAN, PUBLISHED, cohort, NOW)
        errors = 0
        if kind == "rollback" and cohort == "cohort2" and unhealthy_left > 0:
            errors = rng.randint(11, 40)  # > 10 errors: unhealthy, as the engine judges it
            unhealthy_left -= 1
        records.append(
            {
                "nodeId": node,
                "version": NEW_VERSION if updated else OLD_VERSION,
                "metrics": {
                    "uptime": 3600 + index if updated else 86400 * 7 + index,
                    "cpu": round(rng.uniform(20, 70), 1),
                    "memory": round(rng.uniform(30, 80), 1),
                    "errors": errors,
                },
                "timestamp": _iso(NOW - timedelta(seconds=30 + 7 * index)),
            }
        )
    return records


def render(kind: str) -> str:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in reports(kind))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for kind, path in FILES.items():
        text = render(kind)
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path} ({len(NODES)} reports)")
    if stale:
        print(f"out of date: {', '.join(stale)} (run {Path(__file__).name})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
