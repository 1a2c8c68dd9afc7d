"""Compile Solidity offline with the pinned solc-js (npm ``solc``, see package.json)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from tests.support.components import solcjs_binary


class SolidityError(RuntimeError):
    """solcjs is missing, the source does not compile, or the contract is not in it."""


class CompiledContract(NamedTuple):
    abi: list[dict[str, Any]]
    bytecode: str  # creation bytecode, 0x-prefixed


def compile_solidity(source_path: Path | str, contract: str | None = None) -> CompiledContract:
    """Compile ``source_path`` with ``solcjs --optimize``; return one contract's ABI and bytecode.

    ``contract`` defaults to the contract named like the file (``Beacon.sol`` -> ``Beacon``), or
    to the only contract in the file. Results are cached per process, keyed on the file's content,
    so an edited source is compiled again. ``abi, bytecode = compile_solidity(p)`` works.
    """
    path = Path(source_path).resolve()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    contracts = _compile_file(path, digest)
    name = contract
    if name is None:
        if path.stem in contracts:
            name = path.stem
        elif len(contracts) == 1:
            name = next(iter(contracts))
    if name not in contracts:
        raise SolidityError(
            f"{path.name}: no contract {name or path.stem!r}; it defines {sorted(contracts)}"
        )
    return contracts[name]


@functools.cache
def _compile_file(path: Path, digest: str) -> dict[str, CompiledContract]:
    # `digest` is unused in the body: it is part of the cache key so that edits recompile.
    solcjs = solcjs_binary()
    if solcjs is None:
        raise SolidityError("solcjs not found: run `npm ci` (or set NODERR_SOLCJS)")
    with tempfile.TemporaryDirectory(prefix="solcjs-") as out:
        # solcjs names its outputs after the source path as given, so it runs from the source's
        # folder with the bare file name; --base-path lets sibling imports resolve.
        result = subprocess.run(
            [str(solcjs), "--bin", "--abi", "--optimize", "--base-path", ".", "-o", out, path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise SolidityError(f"solcjs failed on {path}:\n{result.stderr or result.stdout}")
        prefix = re.sub(r"[:./\\]", "_", f"{path.name}:")
        contracts: dict[str, CompiledContract] = {}
        for abi_file in Path(out).glob(f"{prefix}*.abi"):
            name = abi_file.stem[len(prefix) :]
            bytecode = abi_file.with_suffix(".bin").read_text().strip()
            contracts[name] = CompiledContract(
                abi=json.loads(abi_file.read_text()), bytecode="0x" + bytecode
            )
    if not contracts:
        raise SolidityError(f"solcjs produced no contracts for {path}:\n{result.stderr}")
    return contracts
