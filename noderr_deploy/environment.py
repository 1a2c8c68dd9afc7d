"""The process's side effects in one object: streams, terminal decisions, the process
environment and the clock.

The ``noderr`` command (:class:`noderr_deploy.ui.exits.NoderrGroup`) builds one
:class:`Environment` per run (as httpie's ``core.main`` does) and hands it to the command,
which hands what it needs to the core. Nothing else in the package reads ``sys.std*``,
``os.environ`` or the wall clock, so a test builds an ``Environment`` from buffers, a
dictionary and a fixed time and sees exactly what a user would.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from noderr_deploy.errors import StreamError


def _now() -> datetime:
    return datetime.now(UTC)


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (False for closed or odd streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class GuardedStream:
    """An output stream whose failures are the command's business, not a traceback.

    - The reader left (``| head -1``, EPIPE): later writes are dropped and the command
      ends as it would have, with its own exit code; the descriptor is pointed at
      /dev/null so the interpreter's last flush stays quiet.
    - Any other failure (a full disk, ``>&-``): :class:`StreamError`, one ``error:`` line
      and exit 1.
    """

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self.name = name
        self.reader_left = False

    def write(self, text: str) -> int:
        if self.reader_left:
            return len(text)
        if self._stream is None:
            raise StreamError(f"cannot write to {self.name}: it is closed")
        try:
            return int(self._stream.write(text))
        except UnicodeEncodeError:
            # Machine output (CSV, JSON Lines) under a locale that cannot hold the data: the
            # exact text as UTF-8, as the network writes it. Human output never gets here:
            # the ui layer escapes what the stream's encoding lacks.
            return self._write_utf8(text)
        except BrokenPipeError:
            self._left()
            return len(text)
        except OSError as exc:
            raise StreamError(f"cannot write to {self.name}: {exc.strerror or exc}") from None

    def _write_utf8(self, text: str) -> int:
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None:
            raise StreamError(f"cannot write to {self.name}: its encoding cannot hold the text")
        try:
            self._stream.flush()
            buffer.write(text.encode("utf-8", "surrogateescape"))
        except BrokenPipeError:
            self._left()
        except OSError as exc:
            raise StreamError(f"cannot write to {self.name}: {exc.strerror or exc}") from None
        return len(text)

    def flush(self) -> None:
        if self.reader_left or self._stream is None:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._left()
        except OSError as exc:
            raise StreamError(f"cannot write to {self.name}: {exc.strerror or exc}") from None

    def isatty(self) -> bool:
        return isatty(self._stream)

    @property
    def buffer(self) -> _GuardedBytes | None:
        """The binary stream beneath, with the same rules (for output written as bytes)."""
        binary = getattr(self._stream, "buffer", None)
        return None if binary is None else _GuardedBytes(self, binary)

    @property
    def encoding(self) -> str | None:
        return getattr(self._stream, "encoding", None)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)

    def _left(self) -> None:
        self.reader_left = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, AttributeError, ValueError):
            pass  # not a real descriptor (a test's buffer): dropping writes is enough


class _GuardedBytes:
    """The binary side of a :class:`GuardedStream`: the same reader-left and failure rules."""

    def __init__(self, text: GuardedStream, binary: Any) -> None:
        self._text = text
        self._binary = binary

    def write(self, data: bytes) -> int:
        if self._text.reader_left:
            return len(data)
        try:
            return int(self._binary.write(data))
        except BrokenPipeError:
            self._text._left()
            return len(data)
        except OSError as exc:
            name = self._text.name
            raise StreamError(f"cannot write to {name}: {exc.strerror or exc}") from None

    def flush(self) -> None:
        if self._text.reader_left:
            return
        try:
            self._binary.flush()
        except BrokenPipeError:
            self._text._left()
        except OSError as exc:
            name = self._text.name
            raise StreamError(f"cannot write to {name}: {exc.strerror or exc}") from None

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._binary, attribute)


def _binary(stream: Any) -> IO[bytes] | None:
    if stream is None:
        return None  # `noderr ... <&-`: there is no stdin at all
    return getattr(stream, "buffer", stream)  # type: ignore[no-any-return]


class Environment:
    """Where a run reads and writes, and what it knows of its surroundings.

    ``debug`` and ``quiet`` are the root and command options of this run; they are set
    by the CLI after parsing. ``colour`` is False when ``NO_COLOR`` is set
    (https://no-color.org): terminals get no colour. (A plain class: creating a
    dataclass costs more start-up than ``noderr cohort <id>`` spends on its own work.)
    """

    def __init__(
        self,
        stdout: IO[str],
        stderr: IO[str],
        stdin: IO[bytes] | None,
        environ: Mapping[str, str],
        *,
        clock: Callable[[], datetime] = _now,
        debug: bool = False,
        quiet: bool = False,
        stdout_isatty: bool = False,
        stderr_isatty: bool = False,
        stdin_isatty: bool = False,
        colour: bool = True,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.environ = environ
        self.clock = clock
        self.debug = debug
        self.quiet = quiet
        self.stdout_isatty = stdout_isatty
        self.stderr_isatty = stderr_isatty
        self.stdin_isatty = stdin_isatty
        self.colour = colour

    @classmethod
    def from_process(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The real streams, ``os.environ`` and the system clock, read now (so that a test
        runner that swaps ``sys.stdout`` is seen)."""
        env = os.environ if environ is None else environ
        return cls(
            stdout=GuardedStream(sys.stdout, "stdout"),  # type: ignore[arg-type]
            stderr=GuardedStream(sys.stderr, "stderr"),  # type: ignore[arg-type]
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

    def cache_dir(self) -> Path | None:
        """Where noderr-deploy may keep what it can recompute (the rollout plans of
        :mod:`noderr_deploy.config.plancache`): ``NODERR_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/noderr-deploy``, else ``~/.cache/noderr-deploy``. None (no cache)
        when ``NODERR_CACHE_DIR`` is set empty or there is no home, or either is relative."""
        given = self.environ.get("NODERR_CACHE_DIR")
        if given is not None:
            return Path(given) if given and Path(given).is_absolute() else None
        base = Path(self.environ.get("XDG_CACHE_HOME") or ".")
        if not base.is_absolute():  # the XDG rule: a relative value is ignored
            home = Path(self.environ.get("HOME") or ".")
            if not home.is_absolute():
                return None
            base = home / ".cache"
        return base / "noderr-deploy"


def stdout_is_terminal() -> bool:
    """Whether the process's stdout, as it is now (a test runner swaps it), is a terminal:
    where click and typer write the help they print themselves."""
    return isatty(sys.stdout)


@contextlib.contextmanager
def routed_stdout(env: Environment) -> Iterator[None]:
    """Route what click and typer print themselves (``--help``, ``--version``, completion
    scripts, usage text) through the run's guarded stdout, so that a closed stdout
    (``>&-``) or a full disk (``>/dev/full``) is one ``error:`` line and exit 1 there too,
    not a silent exit 0 (Python drops writes to a closed stdout) or an internal error."""
    if not isinstance(env.stdout, GuardedStream) or sys.stdout is env.stdout:
        yield
        return
    saved = sys.stdout
    sys.stdout = env.stdout
    try:
        yield
    finally:
        sys.stdout = saved
