"""Wall time and HTTP requests of ``noderr rollout status --json`` against a local anvil.

Starts anvil on 127.0.0.1, deploys contracts/VersionBeacon.sol (solc-js), publishes a
version for all three tiers, then times whole processes (what an operator waits for):

- ``python -m noderr_deploy --version``: CLI start-up, the floor of any command;
- ``python -c "import web3"``: the web3 import the chain commands pay, and
  ``import requests, eth_abi.abi``: what the reads would cost to import without web3;
- ``python -m noderr_deploy rollout status --json`` (three tiers).

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
            startup = show(
                "noderr --version (start-up)",
                wall([py, "-m", "noderr_deploy", "--version"], env, args.runs),
            )
            show('python -c "import web3"', wall([py, "-c", "import web3"], env, args.runs))
            # What the reads need besides web3's HTTPProvider (which wraps requests): the floor
            # a web3-free transport would have.
            show(
                'python -c "import requests, eth_abi.abi"',
                wall([py, "-c", "import requests, eth_abi.abi"], env, args.runs),
            )
            status_argv = [py, "-m", "noderr_deploy", "rollout", "status", "--json", "-q"]
            show("noderr rollout status --json (3 tiers)", wall(status_argv, env, args.runs),
                 startup)  # fmt: skip

            # The reads alone, in this process (web3 already imported): what the chain costs.
            from noderr_deploy.chain.beacon import read_from_settings
            from noderr_deploy.chain.rpc import ChainSettings

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

            cast = shutil.which("cast")
            if cast is None:
                print("cast call: not available here (npm ships anvil only; no Foundry cast)")
                return
            address = beacon.address
            reads = [["rolloutConfig()(uint8,uint8,uint256,bool)"]] + [
                ["currentVersionId(uint8)(uint256)", str(t)] for t in (0, 1, 2)
            ] + [["versions(uint256)(string,string,bytes32,uint256,address,bool,bool)", str(i)]
                 for i in (1, 2, 3)]  # fmt: skip
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                for read in reads:
                    subprocess.run(
                        [cast, "call", "--rpc-url", node.url, address, *read],
                        check=True,
                        capture_output=True,
                    )
                times.append(time.perf_counter() - started)
            show(f"cast call x{len(reads)} (same reads)", times, startup)
    finally:
        node.kill()


if __name__ == "__main__":
    main()
