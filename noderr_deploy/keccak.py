"""Ethereum's Keccak-256, and the ``% 100`` bucket of many inputs at C speed.

The one place the hash is implemented: cohorts and the chain code both import it from here.
Three backends, fastest first: this package's own C extension (:mod:`noderr_deploy._keccak`,
built at install; it walks a whole id list without the GIL), safe-pysha3's C Keccak
driven through C-level ``map`` chains, and pycryptodome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol


class LineBucketer(Protocol):
    def __call__(
        self,
        data: bytes,
        start: int = 0,
        end: int = -1,
        keep: bool = False,
        fingerprints: bool = False,
    ) -> tuple[int, list[int], bytes | None, int, bytes | None]: ...


def _keccak_backend() -> tuple[Callable[[bytes], bytes], Callable[[Iterable[bytes]], bytes]]:
    """Keccak-256 of one input, and the buckets of many inputs as one ``bytes``."""
    try:
        from noderr_deploy._keccak import bucket_many, keccak256
    except ImportError:
        pass
    else:
        return keccak256, bucket_many
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


Marker = Callable[[object, bytes], list[int]]


def _line_backend() -> tuple[LineBucketer | None, Callable[..., bool] | None, Marker | None]:
    try:
        from noderr_deploy._keccak import bucket_lines, has_repeats, marked
    except ImportError:  # not built (no C compiler at install): the map chains serve
        return None, None, None
    return bucket_lines, has_repeats, marked


keccak256, bucket_bytes = _keccak_backend()
"""Ethereum's Keccak-256 (not hashlib's ``sha3_256``, which pads differently)."""

bucket_lines, has_repeats, marked = _line_backend()
"""``bucket_lines(data, start, end, keep, fingerprints) -> (lines, counts, buckets, empty,
prints)``: the ids of ``data[start:end]``, one per line
(:func:`noderr_deploy.nodeids.split_lines`'s rule), hashed in C with the GIL released;
``counts`` per bucket, ``buckets`` one byte per id when ``keep``, ``empty`` the index of the
first empty line (hashing stops there) or -1, ``prints`` each id's first 8 digest bytes.
``has_repeats(*prints)`` tells whether two are equal (False proves the ids distinct).
``marked(ids, table)`` lists the indices of the ids holding a byte flagged in a 256-byte
table (the ids a CSV or JSON row must escape). All None when the extension is not built."""
