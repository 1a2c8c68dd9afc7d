"""README listings of ``noderr build`` and ``noderr publish``, produced against the real
Docker engine and the test registry (no network: the offline base image of
tests/support/pnpm_base.py, ``--network none``), then a throwaway anvil for ``publish``.

What truly varies between runs and machines is normalised on both sides by
:func:`normalise_build_output` (digests, image ids, durations, times, the commit, the base
image's tag, the sizes of images built from this machine's Node.js); everything else must
match the README line for line.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.test_readme_actions import README_SAFE
from tests.integration.test_readme_chain import exported, readme_beacon
from tests.support.anvil import Anvil
from tests.support.pnpm_base import build_pnpm_base, pnpm_package
from tests.support.solidity import CompiledContract
from tests.test_docs import ROOT, listing_starting, run_listing

RUNS = (
    "$ noderr build --tier all --dry-run --version 1.4.0",
    "$ noderr publish --tier oracle --version 1.4.0",
)
README_REGISTRY = "127.0.0.1:5000/noderr"
README_BASE = re.compile(r"noderr-test/base-pnpm:[0-9a-f]{16}")

_SIZE = r"(?:\d+\.\d\d (?:kB|MB|GB)|\d+ B)"
# (pattern, replacement), applied in order; each names what varies and why.
_VARYING = [
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<digest>"),  # content digests
    (re.compile(r"\bdir:[0-9a-f]{64}"), "dir:<hash>"),  # the engine's COPY source hash
    # short image ids (a word of its own: never the tail of a mixed-case address)
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12}(?![0-9A-Za-z])"), "<image-id>"),
    (re.compile(r"\b\d+\.\ds\b"), "<duration>"),  # build durations
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"),  # image.created: now
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])"), "<commit>"),  # image.revision
    (README_BASE, "noderr-test/base-pnpm:<tag>"),  # a hash of this machine's base image
    # Image and layer sizes follow this machine's Node.js binary; budgets do not vary.
    (re.compile(rf"{_SIZE} / "), "<size> / "),
    (re.compile(rf"image {_SIZE} \(\d+ bytes\)"), "image <size> (<n> bytes)"),
    (re.compile(rf"{_SIZE} over\b"), "<size> over"),
    (re.compile(rf"^(\s+){_SIZE}  ", re.M), r"\1<size>  "),
    (re.compile(r"(?<=\S)  +"), "  "),  # column widths follow the widths above
]


def normalise_build_output(text: str) -> str:
    """``text`` with what varies between runs and machines replaced by named placeholders
    (see ``_VARYING``), and runs of column padding made two spaces."""
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def test_the_normaliser_keeps_what_does_not_vary() -> None:
    line = (
        "all  r/i:1.4.0-all  43918dd2fe2b  134.41 MB / 500.00 MB  yes   9.6s"
        "  sha256:" + "ab" * 32 + "\n"
        "label org.opencontainers.image.created  2026-11-26T21:13:25Z\n"
        "  tier all: image 134.41 MB (134406958 bytes) > budget 100.00 MB (100000000 bytes),"
        " 34.41 MB over\n"
        "     119.25 MB  (base image layer)\n"
        "context  22 files, 40960 bytes\n"
        "VersionBeacon 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
    )
    assert normalise_build_output(line) == (
        "all  r/i:1.4.0-all  <image-id>  <size> / 500.00 MB  yes  <duration>  sha256:<digest>\n"
        "label org.opencontainers.image.created  <time>\n"
        "  tier all: image <size> (<n> bytes) > budget 100.00 MB (100000000 bytes), <size> over\n"
        "     <size>  (base image layer)\n"
        "context  22 files, 40960 bytes\n"
        "VersionBeacon 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
    )
    # What does not vary still fails the comparison when it changes.
    assert normalise_build_output("budget 100.00 MB") != normalise_build_output("budget 1.00 GB")
    assert normalise_build_output("22 files") != normalise_build_output("20 files")


@pytest.fixture(scope="module")
def pnpm_base(docker_client: docker.DockerClient, base_image: str) -> str:
    package = pnpm_package()
    if package is None:
        pytest.skip("node_modules/pnpm not found: run `npm ci`")
    return build_pnpm_base(docker_client, base_image, package)


@pytest.fixture
def readme_images(docker_client: docker.DockerClient) -> Iterator[None]:
    """The local tags the listing makes are removed afterwards (the registry keeps its)."""
    yield
    for tier in ("all", "oracle", "guardian"):
        for version in ("1.4.0", "latest"):
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_image(
                    f"{README_REGISTRY}/noderr-node-os:{version}-{tier}", noprune=True
                )


listing = listing_starting


def compare(block: str, work: Path, base: str) -> None:
    actual, expected = run_listing(README_BASE.sub(base, block), work)
    actual, expected = normalise_build_output(actual), normalise_build_output(expected)
    assert actual == expected, (
        f"README listing out of date.\n--- README shows (normalised):\n{expected}"
        f"--- the commands print (normalised):\n{actual}"
    )


def test_the_build_and_publish_listings(  # noqa: PLR0917 - pytest passes fixtures so
    pnpm_base: str,
    registry: str,
    readme_images: None,
    anvil_factory: Callable[..., Anvil],
    solc: Callable[..., CompiledContract],
    tmp_path: Path,
) -> None:
    assert README_REGISTRY.startswith(registry)
    # The README's over-budget.yaml: the repository's tiers.yaml with all's budget 100MB.
    text = (ROOT / "tiers.yaml").read_text()
    over = re.sub(r"(  all: +\{beacon_tier: 0, size_budget: )500MB", r"\g<1>100MB", text)
    assert over != text
    (tmp_path / "over-budget.yaml").write_text(over)
    compare(listing(RUNS[0]), tmp_path, pnpm_base)
    built = json.loads((tmp_path / "build.json").read_text())
    assert [entry["tier"] for entry in built] == ["all", "oracle", "guardian"]

    # publish: the oracle image the build pushed, on a beacon at the README's address.
    node, _ = readme_beacon(anvil_factory, solc)
    (tmp_path / "node-config.json").write_text('{"logLevel": "info"}\n')
    compare(exported(node.url) + listing(RUNS[1]), tmp_path, pnpm_base)
    batch = json.loads((tmp_path / "publish.json").read_text())
    assert batch["meta"]["createdFromSafeAddress"] == README_SAFE
    (transaction,) = batch["transactions"]
    assert transaction["contractInputsValues"]["dockerImageTag"] == "1.4.0-oracle"
