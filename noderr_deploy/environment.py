"""The process's side effects in one object: streams, terminal decisions, the process
environment and the clock.

:mod:`noderr_deploy.cli` builds one :class:`Environment` per run (as httpie's ``core.main``
does) and hands it to the command, which hands what it needs to the core. Nothing else
in the package reads ``sys.std*``, ``os.environ`` or the wall clock, so a test builds an
``Environment`` from buffers, a dictionary and a fixed time and sees exactly what a user
would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any


def _now() -> datetime:
    return datetime.now(UTC)


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (False for closed or odd streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _binary(stream: Any) -> IO[bytes] | None:
    if stream is None:
        return None  # `noderr ... <&-`: there is no stdin at all
    return getattr(stream, "buffer", stream)  # type: ignore[no-any-return]


@dataclass
class Environment:
    """Where a run reads and writes, and what it knows of its surroundings.

    ``debug`` and ``quiet`` are the root and command options of this run; they are set
    by the CLI after parsing.
    """

    stdout: IO[str]
    stderr: IO[str]
    stdin: IO[bytes] | None
    environ: Mapping[str, str]
    clock: Callable[[], datetime] = _now
    debug: bool = False
    quiet: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    stdin_isatty: bool = False
    colour: bool = field(default=True)
    """False when ``NO_COLOR`` is set (https://no-color.org): terminals get no colour."""

    @classmethod
    def from_process(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The real streams, ``os.environ`` and the system clock, read now (so that a test
        runner that swaps ``sys.stdout`` is seen)."""
        env = os.environ if environ is None else environ
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=_binary(sys.stdin),
            environ=env,
            stdout_isatty=isatty(sys.stdout),
            stderr_isatty=isatty(sys.stderr),
            stdin_isatty=isatty(sys.stdin),
            colour="NO_COLOR" not in env,
        )

    @classmethod
    def for_test(
        cls,
        *,
        stdout: IO[str],
        stderr: IO[str],
        stdin: IO[bytes] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _now,
        tty: bool = False,
    ) -> Environment:
        """An environment of buffers: ``tty`` makes stdout and stderr count as terminals."""
        env = {} if environ is None else environ
        return cls(
            stdout=stdout,
            stderr=stderr,
            stdin=stdin,
            environ=env,
            clock=clock,
            stdout_isatty=tty,
            stderr_isatty=tty,
            colour="NO_COLOR" not in env,
        )

    def now(self) -> datetime:
        """The current time, aware UTC."""
        return self.clock()
