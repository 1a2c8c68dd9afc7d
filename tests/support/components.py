"""Where the real test components are, and what to do when one is missing.

The integration tests use a real Docker engine, a real registry and a real anvil chain (see
``scripts/services`` and ``package.json``). On a developer's machine a missing component skips
the tests that need it; in CI it fails them, so a broken install can never pass as "all green".
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
DEFAULT_REGISTRY = "127.0.0.1:5000"


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the CI variable is set to anything but empty, ``0`` or ``false``."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(component: str, reason: str) -> NoReturn:
    """Stop the current test because ``component`` is missing: fail in CI, skip elsewhere.

    ``reason`` should say how to get the component (e.g. "run scripts/services start").
    """
    message = f"{component} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so a missing component is a failure)", pytrace=False)
    pytest.skip(message)


def registry_address() -> str:
    """The test registry's ``host:port``, from NODERR_TEST_REGISTRY (default 127.0.0.1:5000)."""
    return os.environ.get("NODERR_TEST_REGISTRY", DEFAULT_REGISTRY)


def registry_status(address: str, timeout: float = 3.0) -> int | str:
    """HTTP status of ``GET http://<address>/v2/``, or the error text if it did not answer."""
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError) as error:
        return str(error)


def find_tool(env_var: str, *candidates: Path, on_path: str | None = None) -> Path | None:
    """First existing executable among: ``$env_var``, ``candidates``, then ``on_path`` on PATH.

    A set ``$env_var`` is the only candidate: pointing it at a missing file gives None rather
    than quietly using another binary.
    """
    override = os.environ.get(env_var)
    if override:
        candidates = (Path(override),)
        on_path = None
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if on_path and (found := shutil.which(on_path)):
        return Path(found)
    return None


def anvil_binary() -> Path | None:
    """The anvil executable: NODERR_ANVIL, else the one npm installed, else ``anvil`` on PATH.

    ``node_modules/.bin/anvil`` is a Node wrapper that spawns the real binary from the
    platform package. We prefer that binary itself: one process less to start, and killing it
    really stops the chain (a SIGKILLed wrapper would leave its child running).
    """
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    arch = machine.get(os.uname().machine.lower(), os.uname().machine)
    package = f"anvil-{sys.platform}-{arch}"
    platform_binary = REPO_ROOT / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"
    return find_tool("NODERR_ANVIL", platform_binary, NODE_BIN / "anvil", on_path="anvil")


def solcjs_binary() -> Path | None:
    """The solc-js compiler: NODERR_SOLCJS, else ``node_modules/.bin/solcjs``."""
    return find_tool("NODERR_SOLCJS", NODE_BIN / "solcjs")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry if it got taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
