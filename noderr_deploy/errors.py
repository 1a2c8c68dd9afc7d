"""The error hierarchy and the exit codes: the only place either is defined.

Every expected failure is a :class:`NoderrError`; the CLI turns it into one
``error: ...`` line on stderr and the exit code its class carries
(see :mod:`noderr_deploy.ui.exits`). Exit codes are a contract CI scripts branch on.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    """Success, or a healthy verdict."""
    FAILURE = 1
    """Runtime failure: engine, chain or registry unreachable, build failed."""
    USAGE = 2
    """Usage or input error: bad flag, invalid tiers.yaml, malformed input file."""
    NEGATIVE = 3
    """A negative verdict a script must act on: rollback recommended, size budget exceeded."""
    INCONCLUSIVE = 4
    """No data to judge, and the user asked for certainty (``--require-data``)."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C)."""
    TERMINATED = 143
    """Ended by SIGTERM (128 + 15), as a shell reports it."""


class Terminated(KeyboardInterrupt):
    """Raised in the main process on SIGTERM: unwinds like Ctrl-C, so that every clean-up
    that runs for an interrupt (worker processes, temporary files) runs for it too."""


class NoderrError(Exception):
    """Base of every expected failure; its message is shown as ``error: <message>``."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        """Extra lines shown after the message (one problem per line)."""


class UsageError(NoderrError):
    """A flag or argument value the command cannot use."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """tiers.yaml is missing or invalid; every problem names file:line:column and key."""


class InputError(UsageError):
    """An input file (node ids, health exports) is malformed."""


class EngineError(NoderrError):
    """The Docker engine is unreachable or refused a request."""


class BuildError(NoderrError):
    """A Docker build step failed."""


class RegistryError(NoderrError):
    """The registry refused a push or could not be reached."""


class ChainError(NoderrError):
    """The chain is unreachable, or the contract call failed or did not decode."""


class StreamError(NoderrError):
    """A standard stream is closed or cannot be written (``<&-``, ``>&-``, a full disk)."""


def closed_stdin() -> StreamError:
    """The error for ``-`` (stdin) when the process has no stdin."""
    return StreamError("cannot read stdin: it is closed")


class BudgetExceeded(NoderrError):
    """A built image is larger than its tier's size budget."""

    exit_code = ExitCode.NEGATIVE


class DatabaseError(NoderrError):
    """The health database is unreachable, refused the login, or a query failed or ran
    over its time limit (the message never holds the password)."""


class TableError(UsageError):
    """The telemetry table or one of its columns is missing or has the wrong type."""
