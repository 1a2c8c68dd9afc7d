"""Running a command on a real pseudo-terminal (``pty``), as an operator's shell would."""

from __future__ import annotations

import os
import pty
import select
from collections.abc import Mapping, Sequence
from pathlib import Path


def on_a_pty(
    argv: Sequence[str | bytes], env: Mapping[str, str], cwd: Path | None = None
) -> tuple[int, bytes]:
    """Run ``argv`` with a pseudo-terminal as stdout and stderr: its exit code and the raw
    bytes of the screen (the terminal's own line ends, ``\\r\\n``, included)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec the command on the terminal
        if cwd is not None:
            os.chdir(cwd)
        os.execve(argv[0], list(argv), dict(env))
    screen = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), screen
