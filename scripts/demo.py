"""The quickstart demo: noderr end to end on a throwaway local chain. Run it as `scripts/demo`.

1. starts anvil on a free 127.0.0.1 port, compiles and deploys contracts/VersionBeacon.sol and
   publishes a version for each tier (slots 0, 1, 2), then moves chain time so that the
   rollout is in its cohort2 phase;
2. builds the `all` tier image from examples/workspace if a Docker engine answers (on
   node:20-alpine when that image is present locally, else on the offline test base image);
3. runs `noderr rollout status`, `noderr version`, `noderr cohort` and `noderr rollback check`
   (on examples/health/demo-*.jsonl) as real commands, printing each command line first;
4. stops anvil and removes its temporary files, also on Ctrl-C or SIGTERM; with --keep, only
   after Ctrl-C, printing the settings to try the commands against the chain meanwhile.

Nothing leaves 127.0.0.1 and nothing is pushed. Exit 0 when every command gave the exit
code the demo expects, else 1.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository's noderr_deploy and tests.support

import make_demo_exports as timeline  # noqa: E402  (scripts/, beside this file)

from tests.support.anvil import Anvil, AnvilError, start_anvil  # noqa: E402
from tests.support.components import anvil_binary, solcjs_binary  # noqa: E402

REGISTRY = "localhost/noderr-demo"  # local tags only: the demo never pushes
EXAMPLE_NODES = ["node-0", "node-1", "node-2", "node-5", "node-7"]  # cohort4 .. canary
HEALTH = ROOT / "examples" / "health"


class DemoError(Exception):
    """A step of the demo failed; the message says which and what to do."""


def say(text: str = "") -> None:
    print(text, flush=True)


def section(title: str) -> None:
    say()
    say(f"==> {title}")


def child_env() -> dict[str, str]:
    """The environment of the noderr commands: the caller's, minus NODERR_* settings, so the
    demo shows the embedded defaults whatever the shell exports."""
    return {k: v for k, v in os.environ.items() if not k.startswith("NODERR_")}


def noderr(*args: str, expect: int = 0) -> None:
    """Echo ``noderr ARGS`` and run it (as ``python -m noderr_deploy`` from the repository)."""
    say(f"$ noderr {shlex.join(args)}")
    result = subprocess.run(
        [sys.executable, "-m", "noderr_deploy", *args],
        cwd=ROOT,
        env=child_env(),
        check=False,
    )
    if result.returncode != 0 or expect != 0:
        say(f"(exit {result.returncode})")
    if result.returncode != expect:
        raise DemoError(f"`noderr {args[0]}` exited {result.returncode}, expected {expect}")


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def start_chain() -> Anvil:
    binary = anvil_binary()
    if binary is None:
        raise DemoError("anvil not found: run `npm ci` in the repository (or set NODERR_ANVIL)")
    genesis = int(timeline.OLD_PUBLISHED.timestamp()) - 3600
    try:
        return start_anvil(binary, timestamp=genesis)
    except AnvilError as error:
        raise DemoError(f"anvil did not start: {error}") from error


def set_up_beacon(node: Anvil) -> str:
    """Deploy the VersionBeacon, publish the old then the new version of every tier slot and
    move chain time to ``timeline.NOW``, the moment the health exports describe. Returns the
    beacon's address."""
    from tests.support.beacon_chain import CONTRACTS, GUARDIAN, ORACLE, VALIDATOR, BeaconDriver
    from tests.support.solidity import SolidityError, compile_solidity

    if solcjs_binary() is None:
        raise DemoError("solcjs not found: run `npm ci` in the repository")
    try:
        abi, bytecode = compile_solidity(CONTRACTS / "VersionBeacon.sol")
    except SolidityError as error:
        raise DemoError(str(error)) from error
    beacon = BeaconDriver.deploy(node.url, abi, bytecode)
    say(f"deployed the VersionBeacon at {beacon.address}")
    # tiers.yaml: all -> slot 0 (VALIDATOR), guardian -> 1, oracle -> 2.
    slots = [(VALIDATOR, "all"), (GUARDIAN, "guardian"), (ORACLE, "oracle")]
    for version, published in [
        (timeline.OLD_VERSION, timeline.OLD_PUBLISHED),
        (timeline.NEW_VERSION, timeline.PUBLISHED),
    ]:
        at = int(published.timestamp())
        for offset, (slot, tier) in enumerate(slots):
            # One block per publish; a second apart so each lands in its own block.
            beacon.publish(slot, version, tag=f"{version}-{tier}", at=at + offset)
            say(f"published {version} for tier {tier} (beacon slot {slot}) at {iso(at + offset)}")
    now = int(timeline.NOW.timestamp())
    beacon.set_next_timestamp(now)
    say(f"moved chain time to {iso(now)}: the {timeline.NEW_VERSION} rollout is mid-way")
    return beacon.address


def build_image(version: str) -> None:
    """Build the `all` tier if a Docker engine answers; otherwise say why not."""
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        say(f"SKIPPED the image build: no Docker engine reachable ({error}).")
        say(
            "  `scripts/test` installs (Debian package docker.io) and starts one as root;"
            " `scripts/services start` only starts it. Then run the demo again."
        )
        return
    args = ["build", "--tier", "all", "--version", version, "--registry", REGISTRY]
    try:
        client.images.get("node:20-alpine")
        say("using the local node:20-alpine as base image")
    except docker.errors.ImageNotFound:
        base = offline_base(client)
        if base is None:
            return
        # The offline base has pnpm and tini already: RUN steps need no network.
        args += ["--base-image", base, "--network", "none"]
    finally:
        client.close()
    noderr(*args)
    say(f"(image kept locally as {REGISTRY}/noderr-node-os:{version}-all; nothing was pushed)")


def offline_base(client: Any) -> str | None:
    from tests.support.base_image import BaseImageError, build_base_image
    from tests.support.pnpm_base import build_pnpm_base, pnpm_package

    say(
        "node:20-alpine is not present locally and the demo pulls nothing: building the"
        " offline test base image instead (busybox, this machine's node and tini, pnpm 8 from"
        " node_modules) and passing it with --base-image"
    )
    package = pnpm_package()
    if package is None:
        say("SKIPPED the image build: node_modules/pnpm is missing (run `npm ci`).")
        return None
    try:
        return build_pnpm_base(client, build_base_image(client), package)
    except (BaseImageError, RuntimeError) as error:
        say(f"SKIPPED the image build: the offline base image could not be built: {error}")
        return None


def wait_for_ctrl_c(url: str, address: str) -> None:
    """--keep: leave the chain up so the user can try the commands, until Ctrl-C."""
    try:  # from the first line printed: Ctrl-C is the normal way out from here on
        section("the chain stays up (--keep): try the commands yourself; Ctrl-C stops it")
        say(f"export NODERR_RPC_URL={url} NODERR_BEACON_ADDRESS={address}")
        say("noderr rollout status")
        say("noderr version node-5 --tier guardian --current 1.4.1")
        while True:
            signal.pause()
    except KeyboardInterrupt:
        say()


def run(keep: bool) -> None:
    at = iso(int(timeline.NOW.timestamp()))
    published = iso(int(timeline.PUBLISHED.timestamp()))
    section("starting a throwaway chain (anvil)")
    node = start_chain()
    try:
        say(f"anvil pid {node.process.pid} on {node.url}")
        address = set_up_beacon(node)
        chain = ["--rpc-url", node.url, "--beacon", address]

        section("building the `all` tier image from examples/workspace")
        build_image(timeline.NEW_VERSION)

        section("where the rollout stands, read from the VersionBeacon")
        noderr("rollout", "status", *chain)

        section("what one node should run")
        noderr("version", "node-2", "--tier", "oracle", "--current", timeline.OLD_VERSION, *chain)

        section("the cohorts of a few nodes")
        noderr("cohort", *EXAMPLE_NODES, "--published-at", published, "--at", at)

        section("rollback checks on exported health reports")
        for name, expect in (("demo-healthy.jsonl", 0), ("demo-rollback.jsonl", 3)):
            health = str((HEALTH / name).relative_to(ROOT))
            # --tier: the version under evaluation and the plan come from the VersionBeacon.
            noderr(
                "rollback", "check", "--tier", "all", *chain, "--health", health,
                "--at", at, "--max-age", "15m", expect=expect,
            )  # fmt: skip
        if keep:
            wait_for_ctrl_c(node.url, address)
    finally:
        section("cleaning up")
        node.stop()
        say(f"stopped anvil (pid {node.process.pid}); nothing left running")


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the finally blocks stop anvil.
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if argv not in ([], ["--keep"]):
        say("usage: scripts/demo [--keep]")
        return 2
    # Ctrl-C must stop the demo even when a shell started it in the background (which leaves
    # SIGINT ignored, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # compile_solidity and start_anvil write temp files: keep them in one folder we remove.
    with tempfile.TemporaryDirectory(prefix="noderr-demo-") as scratch:
        tempfile.tempdir = scratch
        try:
            run(keep=argv == ["--keep"])
        except DemoError as error:
            say(f"demo FAILED: {error}")
            return 1
        except KeyboardInterrupt:
            say("demo interrupted")
            return 130
        finally:
            tempfile.tempdir = None
    say()
    say("demo done: every command gave the exit code expected")
    if sys.prefix != sys.base_prefix:  # installed into a virtualenv (e.g. .venv on Debian)
        say(f"noderr is installed in {sys.prefix}: run `. {sys.prefix}/bin/activate` to use it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
