"""A real anvil chain for tests, driven with plain JSON-RPC (no web3 needed here).

``start_anvil()`` launches ``anvil --host 127.0.0.1 --port <free> --silent`` and returns once
``eth_chainId`` answers. Every process it starts is stopped by ``Anvil.stop()`` (the fixtures call
it at teardown) and, should the test process itself die, by the kernel: the child is started with
PR_SET_PDEATHSIG so it cannot outlive us.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.components import free_port

_PR_SET_PDEATHSIG = 1
_STARTUP_ATTEMPTS = 3


class AnvilError(RuntimeError):
    """anvil failed to start, or answered an RPC call with an error."""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGKILL it when we exit, so an
    # interrupted or crashed pytest run leaves no chain behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Anvil:
    """A running anvil node. ``rpc()`` raises AnvilError on a JSON-RPC error."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def rpc(self, method: str, params: Sequence[Any] = (), timeout: float = 10.0) -> Any:
        """Call ``method`` and return its ``result``."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.load(response)
        if "error" in reply:
            raise AnvilError(f"{method}{list(params)!r} failed: {reply['error']}")
        return reply["result"]

    @property
    def chain_id(self) -> int:
        return int(self.rpc("eth_chainId"), 16)

    def accounts(self) -> list[str]:
        """The node's funded, unlocked accounts (usable as ``from`` without signing)."""
        return list(self.rpc("eth_accounts"))

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def wait_for_receipt(self, tx_hash: str, timeout: float = 10.0) -> dict[str, Any]:
        """The transaction's receipt, polled every 20 ms: anvil mines new transactions at once,
        but ``eth_sendTransaction`` can return before the block is sealed."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", [tx_hash])) is None:
            if time.monotonic() > deadline:
                raise AnvilError(f"no receipt for {tx_hash} within {timeout:.0f}s")
            time.sleep(0.02)
        return dict(receipt)

    def transact(self, tx: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send an unsigned transaction (``from`` defaults to the first account); return the
        receipt. Raises AnvilError if it reverted."""
        tx = {"from": self.accounts()[0], **tx}
        receipt = self.wait_for_receipt(self.rpc("eth_sendTransaction", [tx]), timeout)
        if receipt.get("status") != "0x1":
            raise AnvilError(f"transaction reverted: {receipt}")
        return receipt

    def increase_time(self, seconds: int) -> None:
        """Move chain time forward; takes effect in the block mined here."""
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` blocks (``anvil_mine``; ``evm_mine [n]`` would read n as a timestamp)."""
        self.rpc("anvil_mine", [hex(blocks)])

    def snapshot(self) -> str:
        """Snapshot the chain state; pass the id to ``revert``. Each id reverts once."""
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        return bool(self.rpc("evm_revert", [snapshot_id]))

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the node at once (for tests of an RPC endpoint that dies)."""
        if self.alive():
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; safe to call twice."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _wait_until_ready(node: Anvil, timeout: float) -> bool:
    """Poll ``eth_chainId`` every 50 ms. False if the process exited (e.g. the port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not node.alive():
            return False
        try:
            node.rpc("eth_chainId", timeout=1.0)
            return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    node.stop()
    raise AnvilError(
        f"anvil on port {node.port} did not answer eth_chainId within {timeout:.0f}s:\n"
        + node.log_tail()
    )


def start_anvil(
    binary: Path,
    *,
    chain_id: int | None = None,
    timestamp: int | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 15.0,
) -> Anvil:
    """Start anvil on a free port of 127.0.0.1 and wait until it answers.

    ``timestamp`` sets the genesis block time (seconds since the epoch); ``extra_args`` go to
    anvil as is (e.g. ``["--block-time", "1"]``).
    """
    last_log = ""
    for _ in range(_STARTUP_ATTEMPTS):
        # The free port may be taken between our check and anvil's bind: then anvil exits and
        # we try another port.
        port = free_port()
        args = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"]
        if chain_id is not None:
            args += ["--chain-id", str(chain_id)]
        if timestamp is not None:
            args += ["--timestamp", str(timestamp)]
        args += list(extra_args)
        # A log file, not a pipe: nobody reads anvil's output while it runs, and a full pipe
        # would block it.
        fd, log_name = tempfile.mkstemp(prefix=f"anvil-{port}-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # preexec_fn is unsafe only while other threads run; the tests start none.
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        node = Anvil(
            url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=Path(log_name)
        )
        if _wait_until_ready(node, startup_timeout):
            return node
        last_log = node.log_tail()
        node.stop()
    raise AnvilError(f"anvil exited at startup {_STARTUP_ATTEMPTS} times; last log:\n{last_log}")
