"""The Keccak backends agree with each other and with eth-hash, bit for bit.

The C extension (noderr_deploy._keccak) is checked against two independent
implementations: eth-hash (pycryptodome) and safe-pysha3, on the reference vectors, on
every length around the sponge's 136-byte block, and on random inputs and line lists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _pysha3 import keccak_256
from eth_hash.auto import keccak as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from noderr_deploy import keccak
from noderr_deploy.nodeids import split_lines

ROOT = Path(__file__).resolve().parents[1]

try:
    from noderr_deploy import _keccak
except ImportError:  # pragma: no cover - only where the extension was not built
    _keccak = None  # type: ignore[assignment]

needs_c = pytest.mark.skipif(_keccak is None, reason="noderr_deploy._keccak not built")


def ref_bucket(raw: bytes) -> int:
    return int.from_bytes(reference(raw), "big") % 100


def test_the_extension_is_built() -> None:
    # The fast path is what the benchmarks and the README describe: an install that lost
    # it must be noticed, not silently run 3x slower.
    assert _keccak is not None, "run `pip install -e .` (or setup.py build_ext --inplace)"
    assert keccak.bucket_lines is not None


VECTORS = [
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    (b"hello", "1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8"),
    (
        b"The quick brown fox jumps over the lazy dog",
        "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
    ),
]


@needs_c
@pytest.mark.parametrize(("data", "digest"), VECTORS)
def test_reference_vectors(data: bytes, digest: str) -> None:
    assert _keccak.keccak256(data).hex() == digest
    assert reference(data).hex() == digest
    assert keccak.keccak256(data).hex() == digest


@needs_c
def test_every_length_around_the_block_size() -> None:
    for n in range(0, 3 * 136 + 2):
        data = bytes((i * 7 + n) % 256 for i in range(n))
        assert _keccak.keccak256(data) == reference(data), n
        assert _keccak.bucket_many([data])[0] == ref_bucket(data), n


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_digest_and_bucket_equal_two_other_implementations(data: bytes) -> None:
    assert _keccak.keccak256(data) == reference(data) == keccak_256(data).digest()
    assert _keccak.bucket_many([data, bytearray(data)]) == bytes([ref_bucket(data)] * 2)


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=40), st.booleans(), st.data())
def test_bucket_lines_splits_as_split_lines_and_hashes_each(
    parts: list[bytes], keep: bool, draw: st.DataObject
) -> None:
    data = b"".join(draw.draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"x"])) + p for p in parts)
    start = draw.draw(st.integers(0, len(data)))
    end = draw.draw(st.integers(start, len(data)))
    lines = split_lines(data[start:end])
    total, counts, buckets, empty, prints = _keccak.bucket_lines(data, start, end, keep, True)
    if b"" in lines:
        assert empty == lines.index(b"")
        lines = lines[:empty]
    else:
        assert empty == -1
    assert total == len(lines)
    expected = bytes(ref_bucket(line) for line in lines)
    assert counts == [expected.count(b) for b in range(100)]
    assert buckets == (expected if keep and empty == -1 else (b"" if keep else None))
    assert prints is not None
    if empty == -1:
        assert prints == b"".join(reference(line)[:8] for line in lines)
        assert _keccak.has_repeats(prints) == (len(set(lines)) < len(lines))


@needs_c
@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=8, max_size=8), max_size=50), st.integers(1, 4))
def test_has_repeats_finds_equal_fingerprints_across_parts(prints: list[bytes], k: int) -> None:
    parts = [b"".join(prints[i::k]) for i in range(k)]
    assert _keccak.has_repeats(*parts) == (len(set(prints)) < len(prints))


@needs_c
def test_bucket_lines_refuses_text() -> None:
    with pytest.raises(TypeError):
        _keccak.bucket_lines("node-1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _keccak.bucket_many(["node-1"])
    with pytest.raises(TypeError):
        _keccak.has_repeats(b"1234567")


def test_the_generated_round_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_keccakf.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@needs_c
def test_has_repeats_stays_fast_on_prefixes_crafted_to_collide() -> None:
    import struct
    import time

    prints = b"".join(struct.pack("<Q", (0xABCD << 48) | i) for i in range(200_000))
    start = time.perf_counter()
    assert _keccak.has_repeats(prints) is False
    assert _keccak.has_repeats(prints, prints[:8]) is True
    assert time.perf_counter() - start < 2  # quadratic would take minutes


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=30), st.binary(max_size=4))
def test_marked_lists_the_items_holding_a_flagged_byte(items: list[bytes], flagged: bytes) -> None:
    table = bytes(1 if b in flagged else 0 for b in range(256))
    expected = [i for i, item in enumerate(items) if any(b in flagged for b in item)]
    assert _keccak.marked(items, table) == expected
    with pytest.raises(ValueError):
        _keccak.marked(items, b"\x01")
    with pytest.raises(TypeError):
        _keccak.marked(["text"], table)
