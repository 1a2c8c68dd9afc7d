"""Fixtures shared by the whole suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_RECURSION_LIMIT = sys.getrecursionlimit()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    # The test helpers import web3 at collection, and with it py_ecc, which raises the
    # recursion limit to 100,000: deeply nested JSON would then crash the interpreter (the
    # C stack) instead of raising RecursionError. The product keeps the limit
    # (noderr_deploy.chain.send.load_signing); so do the tests.
    sys.setrecursionlimit(_RECURSION_LIMIT)


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a tiers.yaml into a temp dir and return its path."""

    def write(text: str, name: str = "tiers.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
