"""Writing the files a command is asked to write (``--out``, ``--metadata-file``).

One rule, as the shell's ``>`` has it, and made safe for readers: the path is followed
through symlinks (the link stays, its target gets the text); a regular file, or a new
one, is replaced whole, through a temporary file in the same directory and a rename, so
that a reader (a CI step polling for it) never sees half of it; anything else at the path
(a device such as ``/dev/stdout`` or ``/dev/full``, a FIFO) is written straight into,
never replaced. The file gets the mode the umask gives (issue 14), new or replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from pathlib import Path

from noderr_deploy.errors import NoderrError


def write_text(path: Path, text: str, *, flag: str, shown: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path``; a failure is one :class:`NoderrError` naming
    ``flag`` and the path (``shown``, when the caller normalises it)."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        _write(path, data)
    except OSError as exc:
        raise NoderrError(f"{flag} {shown or path}: cannot write: {exc.strerror or exc}") from None


def _write(path: Path, data: bytes) -> None:
    target = Path(os.path.realpath(path))  # a symlink's target; the path itself if none
    try:
        found = target.stat()
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        # A device or a FIFO: into it, not over it. Opened without blocking, so that a FIFO
        # whose reader does not come within READER_WAIT is an error (ENXIO), not a hang.
        fd = _open_writer(target)
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # less the umask
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


READER_WAIT = 2.0
"""Seconds a FIFO is given to have a reader before writing to it fails."""


def _open_writer(target: Path) -> int:
    deadline = time.monotonic() + READER_WAIT
    while True:
        try:
            return os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)  # a reader started beside us may not have opened it yet
