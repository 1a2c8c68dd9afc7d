"""``scripts/demo`` end to end: the real wrapper, a real anvil, the real CLI (and Docker if up).

The demo prints ``anvil pid N on URL``; after it exits, that process must be gone and the port
closed, whether the demo finished or was interrupted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.support.components import REPO_ROOT, anvil_binary, require, solcjs_binary

pytestmark = [pytest.mark.integration, pytest.mark.chain, pytest.mark.docker]

DEMO = REPO_ROOT / "scripts" / "demo"
ANVIL_LINE = re.compile(r"^anvil pid (\d+) on (http://127\.0\.0\.1:\d+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _components() -> None:
    if anvil_binary() is None:
        require("anvil", "run `npm ci`")
    if solcjs_binary() is None:
        require("solc-js", "run `npm ci`")


def docker_up() -> bool:
    try:
        client = docker.from_env()
        client.ping()
        client.close()
        return True
    except docker.errors.DockerException:
        return False


def demo_env() -> dict[str, str]:
    # A NODERR_* setting in the caller's shell must not change what the demo shows.
    return {**os.environ, "NODERR_CANARY_PERCENTAGE": "50", "NODERR_RPC_URL": "http://x.invalid"}


def assert_gone(pid: int, url: str) -> None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        cmdline = b""
    assert b"anvil" not in cmdline, f"anvil pid {pid} still runs"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, data=b"{}", timeout=2)


def test_demo_runs_every_command_and_leaves_nothing_running() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(DEMO)], capture_output=True, text=True, timeout=120, env=demo_env(), check=False
    )
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert elapsed < 60, f"the demo took {elapsed:.0f}s"

    match = ANVIL_LINE.search(out)
    assert match, out
    pid, url = int(match[1]), match[2]
    assert_gone(pid, url)
    assert f"stopped anvil (pid {pid}); nothing left running" in out

    # Each command is echoed before it runs, with the chain flags the user would type.
    assert f"$ noderr rollout status --rpc-url {url} --beacon 0x" in out
    assert "$ noderr cohort node-0 node-1 node-2 node-5 node-7 --published-at" in out
    for tier in ("all", "oracle", "guardian"):
        assert re.search(rf"^{tier} +\d \w+ +\d +1\.4\.2 +\S+ +cohort2 +normal$", out, re.M), out
    for line in (
        "node-2   37      cohort2  2026-03-03T12:00:00Z  yes",
        "node-0   92      cohort4  2026-03-05T12:00:00Z  no",
        "node-7   1       canary   2026-03-01T12:00:00Z  yes",
        "should update  yes (normal priority)",
    ):
        assert line in out
    # The healthy export passes, the other one must roll back (exit 3), in this order.
    healthy = out.index("--health examples/health/demo-healthy.jsonl")
    rollback = out.index("--health examples/health/demo-rollback.jsonl")
    assert healthy < rollback
    assert "Rollback check of version 1.4.2 of tier all at 2026-03-03T13:00:00Z" in out
    assert "verdict: ok" in out[healthy:rollback]
    assert "verdict: rollback" in out[rollback:]
    assert "(exit 3)" in out[rollback:]

    if docker_up():
        assert "$ noderr build --tier all --version 1.4.2 --registry localhost/noderr-demo" in out
        assert re.search(r"^all +localhost/noderr-demo/noderr-node-os:1\.4\.2-all,", out, re.M)
    else:
        assert "SKIPPED the image build: no Docker engine reachable" in out
    assert "demo done: every command gave the exit code expected" in out


def test_interrupted_demo_stops_anvil() -> None:
    process = subprocess.Popen(
        [str(DEMO)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=demo_env()
    )
    assert process.stdout is not None
    seen = ""
    try:
        for line in process.stdout:
            seen += line
            if ANVIL_LINE.search(seen):
                break
        match = ANVIL_LINE.search(seen)
        assert match, seen
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, seen + rest
    assert "demo interrupted" in rest
    assert_gone(int(match[1]), match[2])


def test_keep_leaves_the_chain_up_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [str(DEMO), "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=demo_env(),
    )
    assert process.stdout is not None
    seen = ""
    try:
        for line in process.stdout:
            seen += line
            if line.startswith("export NODERR_RPC_URL="):
                break
        match = ANVIL_LINE.search(seen)
        assert match, seen
        url = match[2]
        assert f"export NODERR_RPC_URL={url} NODERR_BEACON_ADDRESS=0x" in seen
        # The chain answers while the demo waits.
        request = urllib.request.Request(
            url,
            data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert b'"result"' in response.read()
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, seen + rest
    assert "demo done" in rest
    assert_gone(int(match[1]), url)


def test_without_a_docker_engine_the_build_is_skipped_with_the_reason(tmp_path: Path) -> None:
    env = {**demo_env(), "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    result = subprocess.run(
        [str(DEMO)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "SKIPPED the image build: no Docker engine reachable (" in out
    assert "$ noderr build" not in out
    assert "verdict: rollback" in out
    match = ANVIL_LINE.search(out)
    assert match, out
    assert_gone(int(match[1]), match[2])
