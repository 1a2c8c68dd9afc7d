"""Ethereum's Keccak-256, and the ``% 100`` bucket of many inputs at C speed.

The one place the hash is implemented: cohorts and the chain code both import it from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def _keccak_backend() -> tuple[Callable[[bytes], bytes], Callable[[Iterable[bytes]], bytes]]:
    """Keccak-256 of one input, and the buckets of many inputs as one ``bytes``."""
    # safe-pysha3 is a C implementation, about 5x pycryptodome here; pycryptodome
    # (which web3 depends on anyway) is the fallback where the C one failed to build.
    try:
        # The C module itself: the `sha3` wrapper also imports hashlib (OpenSSL), which
        # costs more start-up than everything else this module does.
        from _pysha3 import keccak_256
    except ImportError:  # pragma: no cover - depends on the platform
        from Crypto.Hash import keccak

        def one(data: bytes) -> bytes:
            return keccak.new(data=data, digest_bits=256).digest()

        def many(ids: Iterable[bytes]) -> bytes:
            return bytes(int.from_bytes(one(raw), "big") % 100 for raw in ids)

        return one, many

    digest = keccak_256.digest
    mod100 = (100).__rmod__

    def one_c(data: bytes) -> bytes:
        return keccak_256(data).digest()  # type: ignore[no-any-return]

    def many_c(ids: Iterable[bytes]) -> bytes:
        # A chain of C-level maps: no Python frame per id, about 25% faster than the
        # equivalent comprehension. int.from_bytes is big-endian by default (3.11+).
        return bytes(map(mod100, map(int.from_bytes, map(digest, map(keccak_256, ids)))))

    return one_c, many_c


keccak256, bucket_bytes = _keccak_backend()
"""Ethereum's Keccak-256 (not hashlib's ``sha3_256``, which pads differently)."""
