"""Stand-ins for the infra branch's chain fixtures (``anvil_factory``, ``solc``).

Same names and interfaces as tests/integration/conftest.py on the ``infra`` branch; the
beacon tests import these until that branch is merged, then this module is deleted.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool(env: str, *candidates: Path, name: str) -> Path | None:
    if os.environ.get(env):
        return Path(os.environ[env])
    for c in candidates:
        if c.is_file():
            return c
    found = shutil.which(name)
    return Path(found) if found else None


def _require(what: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{what} unavailable (CI is set)", pytrace=False)
    pytest.skip(f"{what} unavailable: run `npm ci` or set NODERR_ANVIL / NODERR_SOLCJS")


@dataclass
class Anvil:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def rpc(self, method: str, params: Sequence[Any] = (), timeout: float = 10.0) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        request = urllib.request.Request(
            self.url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.load(response)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    @property
    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    def accounts(self) -> list[str]:
        return list(self.rpc("eth_accounts"))

    def increase_time(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(binary: Path, chain_id: int | None = None, timestamp: int | None = None) -> Anvil:
    port = _free_port()
    args = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    if chain_id is not None:
        args += ["--chain-id", str(chain_id)]
    if timestamp is not None:
        args += ["--timestamp", str(timestamp)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    node = Anvil(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            node.rpc("eth_chainId", timeout=1)
            return node
        except OSError:
            time.sleep(0.05)
    node.kill()
    raise RuntimeError("anvil did not start")


def anvil_binary() -> Path | None:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, "amd64")
    return _tool(
        "NODERR_ANVIL",
        REPO / f"node_modules/@foundry-rs/anvil-linux-{machine}/bin/anvil",
        name="anvil",
    )


def solcjs_binary() -> Path | None:
    return _tool("NODERR_SOLCJS", REPO / "node_modules/.bin/solcjs", name="solcjs")


def compile_solidity(
    path: Path | str, contract: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """``(abi, bytecode)`` of ``contract`` (default: named like the file) in ``path``."""
    path = Path(path).resolve()
    return _compile(path, contract, path.read_bytes())


@functools.cache
def _compile(path: Path, contract: str | None, _source: bytes) -> tuple[list[dict[str, Any]], str]:
    binary = solcjs_binary()
    assert binary is not None, "solcjs not found"
    name = contract or path.stem
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [str(binary), "--bin", "--abi", "--optimize", "-o", out, path.name],
            cwd=path.parent,
            check=True,
            capture_output=True,
        )
        stem = f"{path.name.replace('.', '_')}_{name}"
        abi = json.loads((Path(out) / f"{stem}.abi").read_text())
        return abi, "0x" + (Path(out) / f"{stem}.bin").read_text().strip()


def start_anvil(binary: Path, chain_id: int | None = None, timestamp: int | None = None) -> Anvil:
    return _start(binary, chain_id, timestamp)


@pytest.fixture
def anvil_factory() -> Iterator[Callable[..., Anvil]]:
    binary = anvil_binary()
    if binary is None:
        _require("anvil")
    assert binary is not None
    started: list[Anvil] = []

    def start(**options: Any) -> Anvil:
        node = _start(binary, **options)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope="session")
def solc() -> Callable[..., tuple[list[dict[str, Any]], str]]:
    if solcjs_binary() is None:
        _require("solc-js")
    return compile_solidity
