"""Cold build vs no-change rebuild of all three tiers, and the context bytes sent per tier.

    python benchmarks/build_cache.py [--rounds N] [--json]

What it does, against the engine at DOCKER_HOST (default: the local socket), offline:

1. Copies the example workspace and the Dockerfile into a new git repository (one commit).
2. Builds the tests' base image (busybox, node, tini) and the pnpm layer on it, as the
   integration tests do (tests/support/base_image.py, tests/support/pnpm_base.py).
3. Cold: removes every image built on that pnpm base (the tier images and all intermediate
   images, i.e. the classic builder's layer cache) and prunes the BuildKit cache (empty with
   the classic builder, done for completeness); the base images stay. Then times
   ``noderr build --all`` (through the CLI entry point, in-process, so python start-up is
   not counted).
4. Warm: times the same command again with nothing changed (every layer a cache hit).

Each round does one cold and one warm build; the ratio reported is the median warm time over
the median cold time. The claim in the issue is ratio <= 10 %. Everything built is removed at
the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from noderr_deploy.cli import app  # noqa: E402
from tests.support.base_image import build_base_image  # noqa: E402
from tests.support.pnpm_base import (  # noqa: E402
    build_pnpm_base,
    pnpm_package,
    remove_descendants,
)


def timed_build(
    runner: CliRunner, config: Path, base: str
) -> tuple[float, list[dict[str, object]]]:
    """One build in the README's CI form, run in the workspace: ``--metadata-file build.json
    2>build.log``, so both files are written beside the workspace's own root files."""
    started = time.perf_counter()
    workspace = config.parent
    result = runner.invoke(
        app,
        ["build", "-c", str(config), "--all", "--base-image", base, "--network", "none",
         "--version", "bench", "--metadata-file", str(workspace / "build.json")],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    (workspace / "build.log").write_text(result.stderr)
    if result.exit_code != 0:
        raise SystemExit(f"build failed ({result.exit_code}): {result.stderr}")
    return elapsed, json.loads((workspace / "build.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    client = docker.from_env()
    package = pnpm_package()
    if package is None:
        raise SystemExit("node_modules/pnpm not found: run `npm ci`")
    base = build_pnpm_base(client, build_base_image(client), package)

    from noderr_deploy.config.schema import load_config
    from noderr_deploy.images.plan import BuildSettings, GitInfo, plan_build, select_tiers

    with tempfile.TemporaryDirectory(prefix="noderr-bench-") as tmp:
        project = Path(tmp)
        workspace = project / "examples" / "workspace"
        shutil.copytree(ROOT / "examples" / "workspace", workspace)
        shutil.copytree(ROOT / "dockerfiles", project / "dockerfiles")
        # tiers.yaml at the workspace's root, as in the network's monorepo.
        config = workspace / "tiers.yaml"
        namespace = f"registry: bench.local/{uuid.uuid4().hex[:8]}"
        text = (ROOT / "tiers.yaml").read_text()
        text = text.replace("workspace: examples/workspace", "workspace: .")
        text = text.replace(
            "dockerfile: dockerfiles/Dockerfile", "dockerfile: ../../dockerfiles/Dockerfile"
        )
        config.write_text(text.replace("registry: ghcr.io/noderrxyz", namespace))
        # A real workspace is a git repository: its HEAD commit time is the created label,
        # so an unchanged workspace gives unchanged labels (see images.plan_build).
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], cwd=project, check=True)
        subprocess.run([*git, "add", "-A"], cwd=project, check=True)
        subprocess.run([*git, "commit", "-qm", "bench"], cwd=project, check=True)
        cfg = load_config(config)
        settings = BuildSettings(registry="bench.local/x", version="bench", base_image=base)
        context_bytes = {
            t.name: plan_build(
                cfg, t, settings, git=GitInfo(), clock=lambda: datetime.now(UTC)
            ).context.tar_bytes
            for t in select_tiers(cfg, [], True)
        }
        runner = CliRunner()
        cold: list[float] = []
        warm: list[float] = []
        try:
            for _ in range(args.rounds):
                remove_descendants(client, base)
                client.api.prune_builds()
                seconds, _ = timed_build(runner, config, base)
                cold.append(seconds)
                seconds, results = timed_build(runner, config, base)
                warm.append(seconds)
        finally:
            remove_descendants(client, base)

    figures = {
        "rounds": args.rounds,
        "coldSeconds": [round(s, 2) for s in cold],
        "warmSeconds": [round(s, 2) for s in warm],
        "medianColdSeconds": round(statistics.median(cold), 2),
        "medianWarmSeconds": round(statistics.median(warm), 2),
        "warmOverCold": round(statistics.median(warm) / statistics.median(cold), 4),
        "contextBytes": context_bytes,
        "imageBytes": {str(r["tier"]): r["sizeBytes"] for r in results},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    cold_s, warm_s = figures["medianColdSeconds"], figures["medianWarmSeconds"]
    print(f"cold build of all three tiers: {figures['coldSeconds']} s (median {cold_s} s)")
    print(f"no-change rebuild:             {figures['warmSeconds']} s (median {warm_s} s)")
    print(f"rebuild / cold:                {figures['warmOverCold'] * 100:.1f} % (claim: <= 10 %)")
    for tier, size in context_bytes.items():
        print(f"context sent for {tier:<9} {size:>8} bytes")


if __name__ == "__main__":
    main()
