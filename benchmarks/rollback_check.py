"""Benchmark: ``noderr rollback check`` on 1,000,000 health reports (JSON Lines).

Generates an export in a temporary directory (100,000 distinct nodes reporting ten
times, about 150 MB), then times, in the same run and each as its own process:

- ``noderr rollback check --health FILE --version V --json`` (the real command: start-up,
  reading with every record validated, latest-wins, cohorts, verdict);
- the straightforward loop the issue names as the baseline: ``json.loads`` per line,
  ``datetime.fromisoformat``, a dict of the latest report per node, ``eth_hash`` keccak
  per node, the same per-cohort verdict ("baseline loop"); and the same loop with the
  field checks our reader makes on every record, done by hand ("baseline + checks").

Wall time ends when the command's process exits; nothing samples it meanwhile (a
sampler would take CPU from it on two cores). CPU time is that of the whole process tree,
worker processes included (this process adopts orphans, so that it can wait for them).
Peak memory comes from a separate run, sampled every 5 ms from /proc: the peak resident
size of the largest process (VmHWM), and the highest sum of the resident set sizes of
the process and its children (an upper bound: pages shared after fork are counted in
every process). Two exports are measured: one in arrival order (what an
export of the engine's log looks like: node clocks a little skewed), and the same
records shuffled (the worst case for latest-wins).

    python benchmarks/rollback_check.py            # 1,000,000 reports
    python benchmarks/rollback_check.py --reports 200000 --nodes 20000 --runs 1
    python benchmarks/rollback_check.py --compare ../main   # also time another checkout
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "1.4.2"

BASELINE = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime, timezone
    from eth_hash.auto import keccak

    latest = {}
    with open(sys.argv[1], "rb") as f:
        for number, line in enumerate(f, 1):
            r = json.loads(line)
            #VALIDATE#
            ts = datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=timezone.utc)
            old = latest.get(r["nodeId"])
            if old is None or ts >= old[0]:
                latest[r["nodeId"]] = (ts, r)
    edges = [5, 30, 55, 80]
    cohorts = {}
    for node, (ts, r) in latest.items():
        if r["version"] != sys.argv[2]:
            continue
        b = int.from_bytes(keccak(node.encode()), "big") % 100
        k = sum(b >= e for e in edges)
        m = r["metrics"]
        status = r.get("healthStatus") or (
            "unhealthy" if m["errors"] > 10 or m["cpu"] > 95
            else "degraded" if m["cpu"] > 90 or m["memory"] > 90 else "healthy")
        c = cohorts.setdefault(k, [0, 0, 0.0])
        c[0] += 1
        c[1] += status == "unhealthy"
        c[2] += m["errors"]
    verdict = any(c[0] and (c[1] / c[0] > 0.10 or c[2] / c[0] > 0.05) for c in cohorts.values())
    print("rollback" if verdict else "ok")
    """
)
# The checks our reader makes on every record, written the straightforward way.
VALIDATE = "\n        ".join(
    [
        'm = r["metrics"]',
        'if not (isinstance(r["nodeId"], str) and r["nodeId"] and isinstance(r["version"], str)):',
        '    raise SystemExit(f"{number}: bad record")',
        'for key, high in (("uptime", None), ("cpu", 100), ("memory", 100), ("errors", None)):',
        "    v = m[key]",
        "    if type(v) not in (int, float) or v < 0 or (high is not None and v > high):",
        '        raise SystemExit(f"{number}: bad {key}")',
    ]
)
BASELINES = {
    "baseline loop": BASELINE.replace("#VALIDATE#", ""),
    "baseline + checks": BASELINE.replace("#VALIDATE#", VALIDATE),
}


def generate(path: Path, reports: int, nodes: int, *, shuffle: bool, seed: int = 1) -> None:
    """``reports`` JSON Lines records from ``nodes`` nodes reporting in rounds, in arrival
    order (node clocks skewed by up to 2 s), or shuffled."""
    rng = random.Random(seed)
    rounds = max(1, reports // nodes)
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
    period = 600.0
    versions = [VERSION if rng.random() < 0.9 else "1.4.1" for _ in range(nodes)]
    stamp_cache: dict[int, str] = {}
    lines: list[str] = []
    for k in range(reports):
        node = k % nodes
        arrival = start + (k // nodes) * period + node * period / nodes
        moment = arrival + rng.uniform(-2, 2)
        second = int(moment)
        text = stamp_cache.get(second)
        if text is None:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            stamp_cache[second] = text
        cpu = rng.random() * 97
        errors = 0 if rng.random() < 0.97 else rng.randrange(1, 15)
        lines.append(
            f'{{"nodeId":"node-{node:06d}","version":"{versions[node]}","metrics":'
            f'{{"uptime":{rng.randrange(10**6)},"cpu":{cpu:.1f},"memory":{rng.random() * 95:.1f},'
            f'"errors":{errors}}},"timestamp":"{text}.{int((moment % 1) * 1000):03d}Z"}}\n'
        )
    del rounds
    if shuffle:
        rng.shuffle(lines)
    with path.open("w") as out:
        out.writelines(lines)


def adopt_orphans() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux): a worker that the
    command leaves to exit on its own is then waited for here, and its CPU time counted
    by getrusage."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def measure(argv: list[str], cwd: Path = ROOT) -> tuple[float, str, float]:
    """(wall seconds, stdout, CPU seconds) of one run of a command.

    Wall time ends when the command's own process exits (what a shell or CI step waits
    for). CPU time is user + system of the whole process tree, every worker included.
    Nothing samples the process meanwhile: on two cores a sampler would compete with it.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.wait()  # the output is a few KB: it fits in the pipe
    wall = time.perf_counter() - begin
    out, err = proc.communicate()
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, out.decode(), cpu


def peak_memory(argv: list[str], cwd: Path = ROOT) -> tuple[int, int]:
    """Peak memory of the command, sampled every 5 ms from /proc: the highest sum of the
    resident set sizes of its processes (an upper bound: pages shared after a fork count
    in each), and the peak resident size of its largest process (the kernel's VmHWM, the
    figure issue 18 names)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    largest: dict[int, int] = {}
    while proc.poll() is None:
        total = 0
        for pid, (rss, hwm) in _tree_memory(proc.pid).items():
            total += rss
            largest[pid] = max(largest.get(pid, 0), hwm)
        peak = max(peak, total)
        time.sleep(0.005)
    _, err = proc.communicate()
    _reap()
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return peak, max(largest.values(), default=0)


def _reap() -> None:
    """Wait for orphaned workers adopted by this process (see :func:`adopt_orphans`)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _tree_memory(pid: int) -> dict[int, tuple[int, int]]:
    """Resident size and peak resident size (bytes) of ``pid`` and each descendant."""
    found = {}
    for child in [pid, *_descendants(pid)]:
        sizes = {}
        try:
            with Path(f"/proc/{child}/status").open() as status:
                for line in status:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        sizes[line[:5]] = int(line.split()[1]) * 1024
        except OSError:
            continue
        found[child] = (sizes.get("VmRSS", 0), sizes.get("VmHWM", 0))
    return found


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        with Path(f"/proc/{pid}/task/{pid}/children").open() as handle:
            children = [int(c) for c in handle.read().split()]
    except OSError:
        return out
    for child in children:
        out += [child, *_descendants(child)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each; the median is shown")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="also time the command of another checkout of noderr-deploy (e.g. main), run"
        " with `python -m noderr_deploy` from that directory",
    )
    args = parser.parse_args()
    if not adopt_orphans():
        print("warning: cannot adopt orphaned workers: their CPU time is not counted")
    command = [sys.executable, "-m", "noderr_deploy", "rollback", "check", "--version", VERSION]
    command += ["--json", "--health"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    # A load average above the CPU count means other work shares the machine: wall times
    # then stretch for both commands; the ratio between them is the robust figure.
    with tempfile.TemporaryDirectory(prefix="noderr-bench-") as tmp:
        for label, shuffle in (("arrival order", False), ("shuffled", True)):
            path = Path(tmp) / f"health-{label.replace(' ', '-')}.jsonl"
            t = time.perf_counter()
            generate(path, args.reports, args.nodes, shuffle=shuffle)
            size = path.stat().st_size
            print(
                f"\n{label}: {args.reports:,} reports, {args.nodes:,} nodes,"
                f" {size / 1e6:.0f} MB (generated in {time.perf_counter() - t:.1f} s)"
            )
            others = {"compare": args.compare} if args.compare else {}
            walls: dict[str, list[float]] = {
                "ours": [],
                **{name: [] for name in others},
                **{name: [] for name in BASELINES},
            }
            cpus: dict[str, list[float]] = {name: [] for name in walls}
            verdicts = set()
            for _ in range(args.runs):
                wall, out, cpu = measure([*command, str(path)])
                walls["ours"].append(wall)
                cpus["ours"].append(cpu)
                verdicts.add(out.split('"verdict": "')[1].split('"')[0])
                for name, checkout in others.items():
                    wall, out, cpu = measure([*command, str(path)], cwd=checkout)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    verdicts.add(out.split('"verdict": "')[1].split('"')[0])
                for name, code in BASELINES.items():
                    wall, out, cpu = measure([sys.executable, "-c", code, str(path), VERSION])
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    verdicts.add(out.strip())
            mine = statistics.median(walls["ours"])
            for name, times in walls.items():
                label_ = {"ours": "noderr rollback check", "compare": str(args.compare)}.get(
                    name, name
                )
                runs = ", ".join(f"{w:.2f}" for w in times)
                line = (
                    f"  {label_:<22} {statistics.median(times):6.2f} s wall (runs: {runs}),"
                    f" {statistics.median(cpus[name]):.2f} s CPU"
                )
                if name != "ours":
                    line += f"; ours is {statistics.median(times) / mine:.2f}x faster"
                print(line)
            print(f"  verdicts: {sorted(verdicts)} (must be one); load {os.getloadavg()[0]:.2f}")
            peak, largest = peak_memory([*command, str(path)])
            print(
                f"  peak memory of noderr rollback check (a separate run): largest process"
                f" {largest / 1e6:.0f} MB; all processes {peak / 1e6:.0f} MB"
            )
            path.unlink()
        # Memory follows the number of distinct nodes, not the size of the input.
        path = Path(tmp) / "health-small.jsonl"
        small = max(args.nodes, args.reports // 5)
        generate(path, small, args.nodes, shuffle=False)
        peak, largest = peak_memory([*command, str(path)])
        print(
            f"\nsame {args.nodes:,} nodes, {small:,} reports"
            f" ({path.stat().st_size / 1e6:.0f} MB): largest process {largest / 1e6:.0f} MB,"
            f" all processes {peak / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
