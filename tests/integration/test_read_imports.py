"""Commands that only read the chain import neither web3 nor eth-account.

Each command runs in a fresh interpreter against a real anvil with a published beacon; a
small wrapper runs the CLI in-process (so ``os._exit`` at the end does not hide anything)
and then writes ``sorted(sys.modules)`` to a file. web3 costs about a second to import
here; the reads need eth-abi and ``http.client`` only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.health_data import jsonl, record
from tests.support.anvil import Anvil
from tests.support.beacon_chain import ORACLE, BeaconDriver

REPO = Path(__file__).resolve().parents[2]
WRAPPER = """\
import json, sys
from noderr_deploy.cli import app
try:
    app(args=sys.argv[2:], prog_name="noderr")
except SystemExit as done:
    code = done.code
else:
    code = 0
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""
FORBIDDEN = ("web3", "eth_account", "requests", "aiohttp", "websockets")
TIERS_YAML = "tiers:\n  oracle: {beacon_tier: 2, size_budget: 1GB}\n"


def modules_of(tmp_path: Path, env: dict[str, str], *argv: str) -> tuple[int, list[str]]:
    report = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(report), *argv],
        check=False,  # the exit code is in the report
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert report.exists(), result.stderr.decode(errors="replace")
    document = json.loads(report.read_text())
    code = int(document["code"] or 0)
    assert code in (0, 3, 4), (code, result.stderr.decode(errors="replace"))
    return code, list(document["modules"])


@pytest.mark.parametrize(
    "argv",
    [
        ("rollout", "status", "--json"),
        ("rollout", "status"),
        ("version", "node-1", "--tier", "oracle"),
        ("version", "node-1", "--tier", "oracle", "--json"),
        ("cohort", "node-1", "--tier", "oracle"),
        ("rollback", "check", "--tier", "oracle", "--health", "health.jsonl"),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_read_commands_import_neither_web3_nor_eth_account(
    node: Anvil, beacon: BeaconDriver, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    beacon.publish(ORACLE, "1.0.0")
    (tmp_path / "tiers.yaml").write_text(TIERS_YAML)
    (tmp_path / "health.jsonl").write_bytes(jsonl(record("node-1", version="1.0.0")))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NODERR_RPC_URL": node.url,
        "NODERR_BEACON_ADDRESS": beacon.address,
        "NODERR_CONFIG": str(tmp_path / "tiers.yaml"),
    }
    code, modules = modules_of(tmp_path, env, *argv)
    assert code in (0, 3, 4)  # read and decided (rollback verdicts exit 3/4)
    assert "eth_abi" in modules  # the wrapper saw the reads happen
    loaded = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert loaded == []
