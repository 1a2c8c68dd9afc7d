"""The sizes a health read works with, passed down from :mod:`noderr_deploy.health.read`.

They are parameters, not module settings: a test that wants a small file shared between
processes passes small sizes instead of patching the readers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadSizes:
    """How a read cuts its input (all in bytes, except ``reserve``)."""

    chunk: int = 1 << 19
    """Read at a time: enough to amortise the calls per chunk, while the records decoded
    from one chunk (about 1.5 MB of objects) still fit in a core's L2 cache for
    latest-wins."""
    segment: int = 4 << 20
    """Per segment of a file shared between processes: small enough that the processes
    finish within a few tens of milliseconds of each other, large enough that claiming one
    costs nothing."""
    parallel_min: int = 16 << 20
    """Plain JSON Lines files at least this big are shared between processes."""
    area: int = 256 << 20
    """Each shared memory area between two processes (room for about 2.5 million nodes):
    address space only, pages are used when written. Larger parcels go through the pipe."""
    reserve: int = 1
    """Segments a worker leaves to this process at the end, to read while the worker
    splits and encodes its run and prepares its fold (started later, this process would
    otherwise still be reading when the worker is done)."""

    def __post_init__(self) -> None:
        for name in ("chunk", "segment", "parallel_min", "area"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 byte")
        if self.reserve < 0:
            raise ValueError("reserve must not be negative")


DEFAULT_SIZES = ReadSizes()
