"""Start-up of `noderr cohort <id>` against the framework's floor, measured in one run.

Runs, round-robin so that load from other processes falls on all of them alike, each
with the same interpreter and environment, stdout piped (plain output, no rich):

- `python -c "import typer"`                       the framework's import alone
- `python minimal_app.py --name node-1`            a one-command typer app, one option
- `noderr cohort node-1`                           in the repository root (tiers.yaml read;
                                                    its plan remembered by the first run)
- the same with the plan cache off                  (NODERR_CACHE_DIR=, YAML parsed each run)
- the same in an empty temporary directory          (no tiers.yaml anywhere above it)
- the same with --canary/--cohort-size/--delay-hours (flags win; the file is not read)
- `noderr --help`, `noderr rollback --help`, `noderr rollout --help`

`noderr` is run as pip's console script runs it (`from noderr_deploy.cli import main`),
from this checkout. Each set is measured twice (``--bytecode both``): with the package
compiled to bytecode, as a normal install leaves it ("compiled"), and with no bytecode and
PYTHONDONTWRITEBYTECODE=1, as an editable install on these machines runs it, every module
compiled on every start ("source"). The minimal app is the same in both.

Reports the median wall and CPU time of each and the ratio to the minimal app (issue 18:
cohort <= 1.1x compiled; issue 11: <= 1.3x; --help <= 1.5x), and any heavy module (web3,
docker, pydantic, rich, yaml) the cohort command imported.

    python benchmarks/startup.py [--repeat 30] [--bytecode both|compiled|source]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("web3", "docker", "pydantic", "rich", "yaml")

MINIMAL_APP = """\
import typer

app = typer.Typer()


@app.command()
def main(name: str = typer.Option(...)) -> None:
    print(name)


if __name__ == "__main__":
    app()
"""


def wall(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def imported(python: str, args: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [python, "-X", "importtime", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--bytecode", choices=("both", "compiled", "source"), default="both")
    opts = parser.parse_args()
    for bytecode in ("compiled", "source") if opts.bytecode == "both" else (opts.bytecode,):
        measure(opts.python, opts.repeat, bytecode)


CONSOLE_SCRIPT = """\
import sys
from noderr_deploy.cli import main
sys.exit(main())
"""


def measure(python: str, repeat: int, bytecode: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("NODERR_CONFIG", "NODERR_CANARY_PERCENTAGE", "NODERR_COHORT_PERCENTAGE"):
        env.pop(name, None)
    env.pop("NODERR_COHORT_DELAY_HOURS", None)
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp)
        app = empty / "minimal_app.py"
        app.write_text(MINIMAL_APP)
        # The package under test must be this checkout's, not another installed copy.
        where = subprocess.run(
            [
                python,
                "-c",
                "import noderr_deploy, typer; print(noderr_deploy.__file__, typer.__version__)",
            ],
            cwd=empty,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert Path(where[0]).is_relative_to(ROOT), where
        assert (ROOT / "tiers.yaml").is_file()
        assert not any((d / "tiers.yaml").exists() for d in (empty, *empty.parents))
        package = ROOT / "noderr_deploy"
        if bytecode == "compiled":  # what pip leaves: every module compiled once
            subprocess.run([python, "-m", "compileall", "-q", str(package)], check=True)
        else:  # nothing compiled, nothing written: every start compiles every module
            for cached in package.rglob("__pycache__"):
                shutil.rmtree(cached)
            env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        script = empty / "noderr"
        script.write_text(CONSOLE_SCRIPT)
        env = {**env, "NODERR_CACHE_DIR": str(empty / "cache")}
        uncached = {**env, "NODERR_CACHE_DIR": ""}
        noderr = [python, str(script)]
        cohort = [*noderr, "cohort", "node-1"]
        flags = [*cohort, "--canary", "5", "--cohort-size", "25", "--delay-hours", "24"]
        runs = {
            "import typer": ([python, "-c", "import typer"], empty, env),
            "minimal typer app": ([python, str(app), "--name", "node-1"], empty, env),
            "cohort, tiers.yaml present": (cohort, ROOT, env),
            "cohort, tiers.yaml, no cache": (cohort, ROOT, uncached),
            "cohort, no tiers.yaml": (cohort, empty, env),
            "cohort, all plan flags": (flags, ROOT, env),
            "noderr --help": ([*noderr, "--help"], empty, env),
            "noderr rollback --help": ([*noderr, "rollback", "--help"], empty, env),
            "noderr rollout --help": ([*noderr, "rollout", "--help"], empty, env),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for cmd, cwd, run_env in runs.values():  # warm the page cache and the plan cache
            wall(cmd, cwd, run_env)
        for _ in range(repeat):
            for name, (cmd, cwd, run_env) in runs.items():
                elapsed, used = wall(cmd, cwd, run_env)
                times[name].append(elapsed)
                cpu[name].append(used)
        heavy_root = sorted(imported(python, cohort[1:], ROOT, env) & set(HEAVY))
        heavy_empty = sorted(imported(python, cohort[1:], empty, env) & set(HEAVY))

    report(
        python=python,
        typer_version=where[1],
        repeat=repeat,
        bytecode=bytecode,
        times=times,
        cpu=cpu,
        heavy_root=heavy_root,
        heavy_empty=heavy_empty,
    )


def report(
    *,
    python: str,
    typer_version: str,
    repeat: int,
    bytecode: str,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    heavy_root: list[str],
    heavy_empty: list[str],
) -> None:
    runs = times
    medians = {name: statistics.median(t) for name, t in times.items()}
    cpu_medians = {name: statistics.median(t) for name, t in cpu.items()}
    floor = medians["minimal typer app"]
    cpu_floor = cpu_medians["minimal typer app"]
    load = os.getloadavg()[0]
    print(f"\n== bytecode: {bytecode}")
    print(f"python {sys.version.split()[0]} ({python}), typer {typer_version}")
    print(f"{repeat} runs each, interleaved; load average at the end {load:.2f}")
    print(
        f"{'run':28} {'wall median ms':>14} {'min ms':>7} {'ratio':>6}"
        f" {'cpu median ms':>14} {'ratio':>6}"
    )
    for name, t in times.items():
        print(
            f"{name:28} {medians[name] * 1000:14.1f} {min(t) * 1000:7.1f}"
            f" {medians[name] / floor:5.2f}x {cpu_medians[name] * 1000:14.1f}"
            f" {cpu_medians[name] / cpu_floor:5.2f}x"
        )
    print("(ratios against the minimal typer app)")
    ratio = medians["minimal typer app"] / medians["import typer"]
    print(f"minimal typer app / import typer: {ratio:.2f}x")
    print(f"heavy modules imported by cohort (repo root): {heavy_root or 'none'}")
    print(f"heavy modules imported by cohort (no tiers.yaml): {heavy_empty or 'none'}")
    cached = [n for n in runs if n.startswith("cohort") and "no cache" not in n]
    worst = max(medians[n] for n in cached) / floor
    target = 1.1 if bytecode == "compiled" else 1.3
    verdict = "OK" if worst <= target else "OVER"
    print(f"worst cohort ratio {worst:.2f}x: {verdict} (target <= {target}x, {bytecode})")
    helps = max(medians[n] for n in runs if n.endswith("--help")) / floor
    print(f"worst --help ratio {helps:.2f}x: {'OK' if helps <= 1.5 else 'OVER'} (target <= 1.5x)")


if __name__ == "__main__":
    main()
