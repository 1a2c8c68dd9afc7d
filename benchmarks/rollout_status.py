"""Wall time and HTTP requests of ``noderr rollout status --json`` against a local anvil.

Starts anvil on 127.0.0.1, deploys contracts/VersionBeacon.sol (solc-js), publishes a
version for all three tiers, then times whole processes (what an operator waits for):

- ``python -m noderr_deploy --version``: CLI start-up, the floor of any command;
- ``python -c "import web3"``: the baseline (what the reads cost when they went through
  web3), and ``import http.client, eth_abi.abi``: the floor of what the reads import now;
- ``python -m noderr_deploy rollout status --json`` (three tiers), ``version <id> --tier``,
  ``cohort <id> --tier`` and ``rollback check --tier`` (a small export), each with its
  ratio to the web3 import (target: at most 0.5x), interleaved with the baselines run by
  run;
- where the command's time goes: its heaviest imports (``-X importtime``).

It also counts the HTTP requests of one status through a counting proxy, and times the same
reads with Foundry's ``cast call`` when ``cast`` is on PATH (npm ships only anvil).

    python benchmarks/rollout_status.py [--runs 7]

Needs anvil and solcjs: NODERR_ANVIL / NODERR_SOLCJS, or ``npm ci`` in the repository.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.anvil import start_anvil  # noqa: E402
from tests.support.beacon_chain import CONTRACTS, BeaconDriver  # noqa: E402
from tests.support.components import anvil_binary  # noqa: E402
from tests.support.rpc_servers import CountingProxy  # noqa: E402
from tests.support.solidity import compile_solidity  # noqa: E402

TIERS_YAML = """\
tiers:
  validator: {beacon_tier: 0, size_budget: 1GB}
  guardian:  {beacon_tier: 1, size_budget: 1GB}
  oracle:    {beacon_tier: 2, size_budget: 1GB}
"""


def wall(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - started)
    return times


def show(label: str, times: list[float], baseline: float | None = None) -> float:
    median = statistics.median(times)
    ratio = f"  ({median / baseline:.2f}x start-up)" if baseline else ""
    print(
        f"{label:<44} median {median * 1000:7.0f} ms"
        f"  min {min(times) * 1000:6.0f}  max {max(times) * 1000:6.0f}{ratio}"
    )
    return median


def interleaved(
    commands: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, list[float]]:
    """Wall times of each command, run in turn ``runs`` times: load changes hit all alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, argv in commands.items():
            times[label] += wall(argv, env, 1)
    return times


def heaviest_imports(argv: list[str], env: dict[str, str]) -> list[tuple[int, str]]:
    """Top-level imports of one run of ``argv`` (a python command), heaviest first, in µs."""
    profile = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=env, capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    top = []
    for line in profile.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if len(name) - len(name.lstrip()) <= 2:
                top.append((int(parts[1]), name.strip()))
    return sorted(top, reverse=True)


def time_cast(url: str, address: str, runs: int, startup: float) -> None:
    """The same reads with Foundry's ``cast call``, when ``cast`` is on PATH."""
    cast = shutil.which("cast")
    if cast is None:
        print("cast call: not available here (npm ships anvil only; no Foundry cast)")
        return
    reads = [["rolloutConfig()(uint8,uint8,uint256,bool)"]] + [
        ["currentVersionId(uint8)(uint256)", str(t)] for t in (0, 1, 2)
    ] + [["versions(uint256)(string,string,bytes32,uint256,address,bool,bool)", str(i)]
         for i in (1, 2, 3)]  # fmt: skip
    cast_times = []
    for _ in range(runs):
        started = time.perf_counter()
        for read in reads:
            subprocess.run(
                [cast, "call", "--rpc-url", url, address, *read],
                check=True,
                capture_output=True,
            )
        cast_times.append(time.perf_counter() - started)
    show(f"cast call x{len(reads)} (same reads)", cast_times, startup)


def reading_commands(py: str, tmp: Path) -> dict[str, list[str]]:
    """The other commands that only read the chain, on the same beacon (issue 18)."""
    health = tmp / "health.jsonl"
    if not health.exists():
        health.write_text(
            "".join(
                f'{{"nodeId":"node-{i}","version":"1.0.0","metrics":{{"uptime":1,"cpu":5,'
                f'"memory":5,"errors":0}},"timestamp":"2026-01-01T00:00:00Z"}}\n'
                for i in range(200)
            )
        )
    noderr = [py, "-m", "noderr_deploy"]
    return {
        "noderr version node-1 --tier oracle --json": [
            *noderr, "version", "node-1", "--tier", "oracle", "--json"
        ],
        "noderr cohort node-1 --tier oracle": [*noderr, "cohort", "node-1", "--tier", "oracle"],
        "noderr rollback check --tier oracle (200 reports)": [
            *noderr, "rollback", "check", "--tier", "oracle", "--health", str(health),
            "--at", "2026-01-01T00:10:00Z", "--json", "-q",
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    binary = anvil_binary()
    if binary is None:
        sys.exit("anvil not found: set NODERR_ANVIL or run `npm ci`")
    node = start_anvil(binary)
    try:
        abi, bytecode = compile_solidity(CONTRACTS / "VersionBeacon.sol")
        beacon = BeaconDriver.deploy(node.url, abi, bytecode)
        for tier in (0, 1, 2):
            beacon.publish(tier, "1.0.0")
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "tiers.yaml"
            config.write_text(TIERS_YAML)
            env = {
                **os.environ,
                "NODERR_CONFIG": str(config),
                "NODERR_RPC_URL": node.url,
                "NODERR_BEACON_ADDRESS": beacon.address,
            }
            py = sys.executable
            print(f"anvil {node.url}, 3 tiers published, {args.runs} runs each, wall time:")
            status_argv = [py, "-m", "noderr_deploy", "rollout", "status", "--json", "-q"]
            commands = {
                "noderr --version (start-up)": [py, "-m", "noderr_deploy", "--version"],
                'python -c "import web3"': [py, "-c", "import web3"],
                'python -c "import http.client, eth_abi.abi"': [
                    py, "-c", "import http.client, eth_abi.abi"
                ],
                "noderr rollout status --json (3 tiers)": status_argv,
                **reading_commands(py, Path(tmp)),
            }  # fmt: skip
            times = interleaved(commands, env, args.runs)
            startup = show("noderr --version (start-up)", times["noderr --version (start-up)"])
            web3 = show('python -c "import web3"', times['python -c "import web3"'])
            show(
                'python -c "import http.client, eth_abi.abi"',
                times['python -c "import http.client, eth_abi.abi"'],
            )
            status = show(
                "noderr rollout status --json (3 tiers)",
                times["noderr rollout status --json (3 tiers)"],
                startup,
            )
            print(f"  status / import web3: {status / web3:.2f}x (target <= 0.5x)")
            for label in reading_commands(py, Path(tmp)):
                median = show(label, times[label], startup)
                print(f"  / import web3: {median / web3:.2f}x (target <= 0.5x)")
            print("  heaviest top-level imports of the status (cumulative, one run):")
            for micros, name in heaviest_imports(status_argv, env)[:8]:
                print(f"    {micros / 1000:7.1f} ms  {name}")

            # The reads alone, in this process (web3 already imported): what the chain costs.
            from noderr_deploy.chain.beacon import read_from_settings
            from noderr_deploy.chain.settings import ChainSettings

            settings = ChainSettings(rpc_url=node.url, beacon_address=beacon.address)
            read_times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                read_from_settings(settings, (0, 1, 2))
                read_times.append(time.perf_counter() - started)
            show("  of which the reads (in-process, warm)", read_times)

            with CountingProxy(node.url) as proxy:
                proxy_env = {**env, "NODERR_RPC_URL": proxy.url}
                subprocess.run(status_argv, env=proxy_env, check=True, capture_output=True)
            calls = sum(len(r) for r in proxy.requests)
            print(
                f"HTTP requests of one 3-tier status: {len(proxy.requests)}"
                f" ({calls} JSON-RPC calls)"
            )
            for i, methods in enumerate(proxy.requests, 1):
                print(f"  {i}: {', '.join(methods)}")

            time_cast(node.url, beacon.address, args.runs, startup)
    finally:
        node.kill()


if __name__ == "__main__":
    main()
