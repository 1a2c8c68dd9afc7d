"""Benchmark: ``noderr rollback check`` straight from PostgreSQL against an export step.

Loads 1,000,000 ``node_telemetry`` rows (100,000 nodes reporting ten times, 1% of the rows
missing a metric) into the test PostgreSQL with ``COPY FROM``, then times, in the same run,
each as its own process:

- the DSN read to a verdict: ``noderr rollback check --health postgresql://... --json``
  (the server picks the latest row per node; 100,000 rows cross the socket);
- the export step operators use today: ``psql -c "\\copy (select * from node_telemetry) to
  'f.csv' csv header"``, then ``noderr rollback check --health f.csv`` on that export;
- the CSV read of that export against the JSON Lines read of the same reports.

It checks the three verdicts are the same JSON (the ``reports`` counts included). Wall time
ends when the process exits; peak memory is the highest resident set of the process and its
children, sampled every 5 ms in a separate run (see ``benchmarks/rollback_check.py``). The
server's own memory and CPU are not counted in the DSN figures: they are the database's.

    python benchmarks/telemetry.py                  # DSN of scripts/services start-postgres
    python benchmarks/telemetry.py --rows 100000 --nodes 10000 --dsn postgresql://...
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollback_check import adopt_orphans, measure, peak_memory

from tests.support.postgres import NODE_TELEMETRY_DDL, server_dsn, with_options

ROOT = Path(__file__).resolve().parent.parent
VERSION = "1.4.2"
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PERIOD = 600.0
SCHEMA = "bench_telemetry"


def rows(count: int, nodes: int, seed: int = 1) -> list[tuple[object, ...]]:
    """(node_id, timestamp, uptime, errors, cpu, memory, version) in arrival order; about
    1% of the rows lack cpu or memory (NULL)."""
    rng = random.Random(seed)
    versions = [VERSION if rng.random() < 0.9 else "1.4.1" for _ in range(nodes)]
    out: list[tuple[object, ...]] = []
    for k in range(count):
        node = k % nodes
        moment = START + timedelta(
            seconds=(k // nodes) * PERIOD + node * PERIOD / nodes + rng.uniform(-2, 2)
        )
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        cpu: float | None = round(rng.random() * 97, 2)
        memory: float | None = round(rng.random() * 95, 2)
        if rng.random() < 0.01:
            cpu = None if rng.random() < 0.5 else cpu
            memory = None if cpu is not None else memory
        errors = 0 if rng.random() < 0.97 else rng.randrange(1, 15)
        out.append(
            (f"node-{node:06d}", moment, rng.randrange(10**6), errors, cpu, memory, versions[node])
        )
    return out


def load(dsn: str, data: list[tuple[object, ...]]) -> float:
    """Create the table (the network's DDL) in its own schema and COPY the rows in; returns
    the seconds it took."""
    import psycopg

    begin = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}")
        # The indexes after the load, as a bulk load does.
        table, _, indexes = NODE_TELEMETRY_DDL.partition(";\n")
        conn.execute(table)
        with conn.cursor() as cur:
            columns = "node_id, timestamp, uptime, errors, cpu_usage, memory_usage, version"
            with cur.copy(f"COPY node_telemetry ({columns}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        conn.execute(indexes)
        conn.execute("ANALYZE node_telemetry")
    return time.perf_counter() - begin


def write_jsonl(path: Path, data: list[tuple[object, ...]]) -> None:
    """The same reports in our JSON Lines (a missing metric is left out)."""
    with path.open("w") as out:
        for node, moment, uptime, errors, cpu, memory, version in data:
            metrics: dict[str, object] = {"uptime": uptime, "errors": errors}
            if cpu is not None:
                metrics["cpu"] = cpu
            if memory is not None:
                metrics["memory"] = memory
            stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # type: ignore[attr-defined]
            record = {"nodeId": node, "version": version, "metrics": metrics, "timestamp": stamp}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def check_argv(health: str, at: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "noderr_deploy",
        "rollback",
        "check",
        "--health",
        health,
        "--version",
        VERSION,
        "--at",
        at,
        "--json",
        "--timeout",
        "600",
    ]


def verdict(output: str) -> dict[str, object]:
    document = json.loads(output)
    document.pop("sources", None)
    return document  # type: ignore[no-any-return]


Result = tuple[str, float, int]


def run_all(
    psql: str, target: str, at: str, csv_path: Path, jsonl_path: Path
) -> tuple[list[Result], dict[str, dict[str, object]]]:
    """Time each way to a verdict; return (name, wall s, peak RSS bytes) rows and verdicts."""
    copy_argv = [
        psql,
        "-X",
        "-q",
        target,
        "-c",
        f"\\copy (select * from node_telemetry) to '{csv_path}' csv header",
    ]
    results: list[Result] = []
    verdicts: dict[str, dict[str, object]] = {}

    dsn_wall, out, _ = measure(check_argv(target, at))
    verdicts["dsn"] = verdict(out)
    results.append(("DSN read to a verdict", dsn_wall, peak_memory(check_argv(target, at))[0]))

    copy_wall, _, _ = measure(copy_argv)
    copy_rss = peak_memory(copy_argv)[0]
    csv_wall, out, _ = measure(check_argv(str(csv_path), at))
    verdicts["csv"] = verdict(out)
    csv_rss = peak_memory(check_argv(str(csv_path), at))[0]
    results.append(("\\copy to CSV (psql)", copy_wall, copy_rss))
    results.append(("CSV read of the export", csv_wall, csv_rss))
    results.append(("\\copy + CSV read", copy_wall + csv_wall, max(copy_rss, csv_rss)))

    jsonl_wall, out, _ = measure(check_argv(str(jsonl_path), at))
    verdicts["jsonl"] = verdict(out)
    jsonl_rss = peak_memory(check_argv(str(jsonl_path), at))[0]
    results.append(("JSON Lines read, same reports", jsonl_wall, jsonl_rss))
    return results, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--dsn", help="a PostgreSQL on 127.0.0.1 (default: scripts/services')")
    args = parser.parse_args()
    dsn = args.dsn or server_dsn()[0]
    if not dsn:
        raise SystemExit(f"no PostgreSQL: {server_dsn()[1]}")
    psql = shutil.which("psql")
    if psql is None:
        raise SystemExit("psql not found: install the postgresql-client package")
    adopt_orphans()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    target = with_options(dsn, options=f"-csearch_path={SCHEMA}")
    at = (START + timedelta(seconds=(args.rows // args.nodes) * PERIOD + 60)).isoformat()

    data = rows(args.rows, args.nodes)
    print(f"loading {args.rows:,} rows for {args.nodes:,} nodes with COPY FROM ...", flush=True)
    print(f"  loaded in {load(dsn, data):.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "telemetry.csv"
        jsonl_path = Path(tmp) / "telemetry.jsonl"
        write_jsonl(jsonl_path, data)
        del data
        results, verdicts = run_all(psql, target, at, csv_path, jsonl_path)
        megabytes = (csv_path.stat().st_size / 1e6, jsonl_path.stat().st_size / 1e6)

    print(f"\n{args.rows:,} rows, {args.nodes:,} nodes (CSV {megabytes[0]:.0f} MB,", end=" ")
    print(f"JSON Lines {megabytes[1]:.0f} MB); one run each; load average {os.getloadavg()[0]:.2f}")
    print(f"{'':32} {'wall s':>8} {'peak RSS MB':>12}")
    for name, wall, rss in results:
        print(f"{name:32} {wall:8.2f} {rss / 1e6:12.0f}")
    walls = {name: wall for name, wall, _ in results}
    ratio = walls["\\copy + CSV read"] / walls["DSN read to a verdict"]
    print(f"\n\\copy + CSV read takes {ratio:.1f}x the DSN read")
    csv_ratio = walls["CSV read of the export"] / walls["JSON Lines read, same reports"]
    print(f"CSV read takes {csv_ratio:.2f}x the JSON Lines read")
    same = verdicts["dsn"] == verdicts["csv"] == verdicts["jsonl"]
    print(f"same verdict JSON from all three: {same}")
    if not same:
        for name, document in verdicts.items():
            print(name, json.dumps(document.get("reports")), document.get("verdict"))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
