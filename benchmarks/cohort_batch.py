"""`noderr cohort --file ids.txt --summary` over 1,000,000 ids against the plain per-id loop.

Writes 1,000,000 ids to a temporary file (`node-0` .. `node-799999` and 200,000 others:
regional validator names, UUIDs, 0x-hex ids, accented and emoji ids, ids with spaces
and commas), then times, as whole processes (wall clock, same interpreter, interleaved):

- ours:      python -m noderr_deploy cohort --file ids.txt --summary --json
- baseline:  a script reading the file line by line and doing, per id,
             eth_hash.auto.keccak -> int -> % 100 -> cohort counter

and checks that both count the same nodes per cohort. It also times, in this process,
the hashing alone: the same per-id loop with safe-pysha3's C Keccak, and
noderr_deploy.nodeids.scan_ids with 1 worker and with one per core.

    python benchmarks/cohort_batch.py [--ids 1000000] [--repeat 5] [--baseline-repeat 2]

Targets (issue 4): ours <= 1.5 s wall, >= 5x the baseline's throughput.
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
from eth_hash.auto import keccak

start = time.perf_counter()
c, s = 5, 25
counts = {"canary": 0, "cohort1": 0, "cohort2": 0, "cohort3": 0, "cohort4": 0}
with open(sys.argv[1], "rb") as f:
    for line in f:
        node_id = line.rstrip(b"\\n").rstrip(b"\\r")
        b = int.from_bytes(keccak(node_id), "big") % 100
        if b < c:
            counts["canary"] += 1
        elif b < c + s:
            counts["cohort1"] += 1
        elif b < c + 2 * s:
            counts["cohort2"] += 1
        elif b < c + 3 * s:
            counts["cohort3"] += 1
        else:
            counts["cohort4"] += 1
print(json.dumps({"cohorts": counts, "loop": time.perf_counter() - start}))
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
    parser.add_argument("--baseline-repeat", type=int, default=2)
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
        for i in range(max(opts.repeat, opts.baseline_repeat)):
            if i < opts.baseline_repeat:
                elapsed, out = timed(base_cmd, env, "baseline")
                base.append(elapsed)
                result = json.loads(out)
                loops.append(result["loop"])
                expected = result["cohorts"]
            if i < opts.repeat:
                elapsed, out = timed(ours_cmd, env, "ours")
                ours.append(elapsed)
                got = json.loads(out)
                assert got["total"] == opts.ids, got
                assert expected is None or got["cohorts"] == expected, (got, expected)

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
    print(
        f"CPU time (user+system, all processes): ours {statistics.median(CPU['ours']):.3f} s,"
        f" baseline {statistics.median(CPU['baseline']):.3f} s"
    )
    print(f"throughput ratio ours/baseline: {base_m / ours_m:.1f}x (target >= 5x)")
    print(f"ours <= 1.5 s: {'OK' if ours_m <= 1.5 else 'OVER'} ({ours_m:.3f} s)")
    print("in-process hashing only:")
    print(f"  per-id loop, safe-pysha3 C Keccak: {c_loop:.3f} s")
    for workers, seconds in scans.items():
        print(f"  scan_ids, {workers} worker(s):          {seconds:.3f} s")
    print(f"cohort counts (both agree): {expected}")


if __name__ == "__main__":
    main()
