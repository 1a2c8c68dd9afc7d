"""`noderr cohort --file ids.txt --summary` over 1,000,000 ids against the plain per-id loop.

Writes 1,000,000 ids to a temporary file (`node-0` .. `node-799999` and 200,000 others:
regional validator names, UUIDs, 0x-hex ids, accented and emoji ids, ids with spaces
and commas), then times, as whole processes (wall clock and CPU time of the process and
its workers, same interpreter, interleaved run by run):

- ours:      python -m noderr_deploy cohort --file ids.txt --summary --json
- baseline:  the plain single-core loop a user would write: per line,
             sha3.keccak_256(line).digest() -> int.from_bytes(...) % 100 -> a list of
             100 counters

and checks that both count the same ids per bucket's cohort. It also times, in this
process, the hashing alone: the same loop, and noderr_deploy.nodeids.scan_ids with 1
worker and with one per core.

    python benchmarks/cohort_batch.py [--ids 1000000] [--repeat 5]

Targets (issue 18): ours at least 3x faster than the baseline (wall, medians), and no
more CPU per id than the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = """\
import json, sys, time
import sha3

start = time.perf_counter()
counts = [0] * 100
with open(sys.argv[1], "rb") as f:
    for line in f:
        node_id = line[:-1] if line.endswith(b"\\n") else line
        counts[int.from_bytes(sha3.keccak_256(node_id).digest(), "big") % 100] += 1
c, s = 5, 25
edges = [0, c, c + s, c + 2 * s, c + 3 * s, 100]
names = ["canary", "cohort1", "cohort2", "cohort3", "cohort4"]
cohorts = {n: sum(counts[edges[i] : edges[i + 1]]) for i, n in enumerate(names)}
print(json.dumps({"cohorts": cohorts, "loop": time.perf_counter() - start}))
"""


def make_ids(n: int) -> list[str]:
    rng = random.Random(20260301)
    plain = int(n * 0.8)
    ids = [f"node-{i}" for i in range(plain)]
    regions = ["eu", "us", "ap", "sa", "af"]
    makers = [
        lambda i: f"validator-{rng.choice(regions)}-{i}",
        lambda i: f"{rng.getrandbits(128):032x}",
        lambda i: f"0x{rng.getrandbits(160):040x}",
        lambda i: f"nœud-{i}-ü",
        lambda i: f"node 🚀 {i}",
        lambda i: f" guardian,{i} ",
        lambda i: f'oracle "{i}"',
    ]
    ids += [rng.choice(makers)(i) for i in range(n - plain)]
    rng.shuffle(ids)
    return ids


CPU: dict[str, list[float]] = {"ours": [], "baseline": []}


def timed(cmd: list[str], env: dict[str, str], who: str) -> tuple[float, str]:
    """Wall time and stdout of ``cmd``; its CPU time (with its workers') goes to CPU[who]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}")
    CPU[who].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed, done.stdout


def timed_rows(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and peak RSS (MB, GNU time's %M: the exec'd process alone, not the copy of
    this benchmark it was forked from) of ``cmd`` writing to /dev/null."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}")
    return elapsed, int(done.stderr.split()[-1]) / 1024


def time_rows(path: Path, env: dict[str, str], repeat: int) -> dict[str, list[tuple[float, float]]]:
    """--summary, jsonl and csv of the same file, interleaved: (wall, peak RSS MB) each."""
    plain = [sys.executable, "-m", "noderr_deploy", "cohort", "--file", str(path), "-q"]
    variants = {
        "--summary": ["--summary", "--json"],
        "jsonl": ["--format", "jsonl"],
        "csv": ["--format", "csv"],
    }
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for name, extra in variants.items():
            rows.setdefault(name, []).append(timed_rows(plain + extra, env))
    return rows


def report_rows(rows: dict[str, list[tuple[float, float]]]) -> None:
    if not rows:
        return
    summary_m = statistics.median(t for t, _ in rows["--summary"])
    for name, runs in rows.items():
        wall = statistics.median(t for t, _ in runs)
        rss = max(m for _, m in runs)
        print(
            f"rows {name:9} median {wall:.3f} s wall ({wall / summary_m:.2f}x --summary),"
            f" peak RSS {rss:.0f} MB"
        )


def hashing_only(data: bytes, expected: dict[str, int] | None) -> tuple[float, dict[int, float]]:
    """In this process, the hashing alone: the per-id C loop, and the batch scanner."""
    from _pysha3 import keccak_256

    from noderr_deploy.cohorts import RolloutPlan
    from noderr_deploy.nodeids import scan_ids

    ids = data.split(b"\n")[:-1]
    start = time.perf_counter()
    counts = [0] * 100
    for node_id in ids:
        counts[int.from_bytes(keccak_256(node_id).digest(), "big") % 100] += 1
    c_loop = time.perf_counter() - start
    scans = {}
    for workers in (1, os.cpu_count() or 1):
        start = time.perf_counter()
        scan = scan_ids(data, "ids.txt", keep_rows=False, workers=workers)
        scans[workers] = time.perf_counter() - start
        assert scan.bucket_counts == counts
    assert RolloutPlan().cohort_counts(counts) == expected
    return c_loop, scans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--rows",
        action="store_true",
        help="also time --format jsonl and csv (to /dev/null) against --summary, with peak RSS",
    )
    opts = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("NODERR_CONFIG", "NODERR_CANARY_PERCENTAGE", "NODERR_COHORT_PERCENTAGE"):
        env.pop(name, None)
    env.pop("NODERR_COHORT_DELAY_HOURS", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "noderr_deploy")], check=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.txt"
        data = ("\n".join(make_ids(opts.ids)) + "\n").encode("utf-8")
        path.write_bytes(data)
        script = Path(tmp) / "baseline.py"
        script.write_text(BASELINE)
        ours_cmd = [sys.executable, "-m", "noderr_deploy", "cohort", "--file", str(path)]
        ours_cmd += ["--summary", "--json", "--canary", "5", "--cohort-size", "25"]
        base_cmd = [sys.executable, str(script), str(path)]

        ours: list[float] = []
        base: list[float] = []
        loops: list[float] = []
        expected: dict[str, int] | None = None
        for _ in range(max(opts.repeat, 5)):
            elapsed, out = timed(base_cmd, env, "baseline")
            base.append(elapsed)
            result = json.loads(out)
            loops.append(result["loop"])
            expected = result["cohorts"]
            elapsed, out = timed(ours_cmd, env, "ours")
            ours.append(elapsed)
            got = json.loads(out)
            assert got["total"] == opts.ids, got
            assert got["cohorts"] == expected, (got, expected)

        rows = time_rows(path, env, max(opts.repeat, 5)) if opts.rows else {}

        c_loop, scans = hashing_only(data, expected)

    n = opts.ids
    ours_m, base_m = statistics.median(ours), statistics.median(base)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {n:,} ids ({len(data):,} bytes)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(
        f"ours     (whole process, median of {len(ours)}): {ours_m:.3f} s wall"
        f"  min {min(ours):.3f}  -> {n / ours_m:,.0f} ids/s"
    )
    print(
        f"baseline (whole process, median of {len(base)}): {base_m:.3f} s wall"
        f"  (its loop {statistics.median(loops):.3f} s)  -> {n / base_m:,.0f} ids/s"
    )
    cpu_ours, cpu_base = statistics.median(CPU["ours"]), statistics.median(CPU["baseline"])
    print(
        f"CPU time (user+system, all threads and processes, medians): ours {cpu_ours:.3f} s"
        f" ({cpu_ours / n * 1e6:.2f} us/id), baseline {cpu_base:.3f} s"
        f" ({cpu_base / n * 1e6:.2f} us/id)"
    )
    ratio = base_m / ours_m
    print(f"speed-up (baseline wall / ours wall): {ratio:.2f}x (target >= 3x)")
    print(f"CPU per id ours/baseline: {cpu_ours / cpu_base:.2f} (target <= 1)")
    report_rows(rows)
    print("in-process hashing only:")
    print(f"  per-id loop, safe-pysha3 C Keccak: {c_loop:.3f} s")
    for workers, seconds in scans.items():
        print(f"  scan_ids, {workers} worker(s):          {seconds:.3f} s")
    print(f"cohort counts (both agree): {expected}")


if __name__ == "__main__":
    main()
