"""The one core call of ``noderr rollout status``: a :class:`RolloutRequest` in, a
:class:`~noderr_deploy.chain.state.RolloutStatus` out (:func:`rollout_status_report`).

What the command used to arrange is decided here, once, in this order:

1. with health inputs, every health option is checked before the chain is read, with "now"
   standing in for the block's time, which only the chain tells;
2. with ``--at`` and health inputs, the inputs are read first: malformed input fails before
   the network is touched, and the reader's worker processes are forked before any spinner
   thread or web3 runs (the reader forks only when no other thread runs);
3. the VersionBeacon is read, and each tier's phase and schedule computed at ``--at`` or
   the block's time;
4. without ``--at``, the health inputs are read now, at the block's time;
5. the read's adoption and counts are added to the status
   (:func:`~noderr_deploy.chain.state.with_health`).

What the operator is told on the way (where the chain was read, the rollout's warnings, what
the read noticed) goes to a :class:`StatusProgress`, at the moment it is known; rendering
the result is :mod:`noderr_deploy.ui.rollout`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol

from noderr_deploy.chain.beacon import BeaconSnapshot, read_from_settings
from noderr_deploy.chain.settings import ChainSettings
from noderr_deploy.chain.state import RolloutStatus, rollout_status, with_health

if TYPE_CHECKING:
    from pathlib import Path

    from noderr_deploy.config.schema import Config
    from noderr_deploy.config.sections import FileSettings
    from noderr_deploy.rollback.reading import (
        HealthOutcome,
        HealthRequest,
        LatestFold,
        ReadMessages,
    )

BeaconReader = Callable[[ChainSettings, Sequence[int]], tuple[BeaconSnapshot, int]]
"""Read the beacon's tiers at the settings' block: the snapshot and the HTTP request count."""


class HealthAt(Protocol):
    """The health options, as a :class:`~noderr_deploy.rollback.reading.HealthRequest` for a
    moment (``--since 2h`` counts back from it; a bad value is a
    :class:`~noderr_deploy.errors.UsageError` naming its flag)."""

    def __call__(self, *, at: datetime) -> HealthRequest: ...


class StatusProgress(Protocol):
    """Where what the operator is told during the run goes (stderr, or nowhere)."""

    def reading_beacon(self, settings: ChainSettings) -> AbstractContextManager[None]:
        """While the beacon is read."""
        ...

    def beacon_read(self, settings: ChainSettings, snapshot: BeaconSnapshot, requests: int) -> None:
        """The beacon was read, in ``requests`` HTTP requests."""
        ...

    def status_known(self, status: RolloutStatus) -> None:
        """The phases are computed (the rollout's warnings and notes are known)."""
        ...

    def reading_health(self, sources: Sequence[str | Path]) -> None:
        """Before the health inputs are read."""
        ...

    def health_read(self, said: ReadMessages) -> None:
        """What the health read noticed."""
        ...


class Silent:
    """A :class:`StatusProgress` that tells nothing."""

    def reading_beacon(self, settings: ChainSettings) -> AbstractContextManager[None]:
        return nullcontext()

    def beacon_read(self, settings: ChainSettings, snapshot: BeaconSnapshot, requests: int) -> None:
        pass

    def status_known(self, status: RolloutStatus) -> None:
        pass

    def reading_health(self, sources: Sequence[str | Path]) -> None:
        pass

    def health_read(self, said: ReadMessages) -> None:
        pass


@dataclass(frozen=True)
class RolloutRequest:
    """What to show, resolved from the flags (and tiers.yaml)."""

    settings: ChainSettings
    """Where the VersionBeacon is, and the block to read it at."""
    tiers: tuple[tuple[str, int], ...]
    """``(name, beacon tier)`` of each tier shown, in order."""
    at: datetime | None = None
    """``--at``: the moment phases (and health ages) are computed for; None: the block's time."""
    health: HealthAt | None = None
    """The health options (None: no ``--health``). A function of the moment: without
    ``--at`` the moment is the block's time, known only once the chain is read."""
    config: Config | None = None
    """tiers.yaml, for its ``health`` section (None: none was found)."""


def rollout_status_report(
    request: RolloutRequest,
    *,
    clock: Callable[[], datetime],
    stdin: IO[bytes] | None = None,
    progress: StatusProgress | None = None,
    read_beacon: BeaconReader = read_from_settings,
) -> RolloutStatus:
    """Each tier's version and phase from the beacon, with the health read's adoption
    when ``request.health`` is given, in the order the module docstring says.

    ``clock`` is asked only with health inputs and without ``--at`` (for checking the
    options). Raises :class:`~noderr_deploy.errors.UsageError` for bad health options,
    :class:`~noderr_deploy.errors.InputError` for malformed or lost input, and what
    ``read_beacon`` raises (:class:`~noderr_deploy.errors.ChainError`).
    """
    tell = Silent() if progress is None else progress
    health = request.health
    file = None
    if health is not None:
        file = _file_settings(request.config)
        _check(health(at=request.at or clock()), file)
    read = None
    if health is not None and request.at is not None:
        read = _read(health, request.at, file, tell, stdin)
    with tell.reading_beacon(request.settings):
        snapshot, requests = read_beacon(request.settings, [slot for _, slot in request.tiers])
    tell.beacon_read(request.settings, snapshot, requests)
    status = rollout_status(snapshot, request.tiers, request.at)
    tell.status_known(status)
    if health is None:
        return status
    if read is None:
        read = _read(health, status.at, file, tell, stdin)
    return _with_read(status, *read, tell)


def _file_settings(config: Config | None) -> FileSettings:
    from noderr_deploy.config.sections import FileSettings

    return FileSettings() if config is None else FileSettings.of(config)


def _check(request: HealthRequest, file: FileSettings) -> None:
    from noderr_deploy.rollback.reading import plan_read

    plan_read(request, file)


def _read(
    health: HealthAt,
    at: datetime,
    file: FileSettings | None,
    tell: StatusProgress,
    stdin: IO[bytes] | None,
) -> tuple[HealthRequest, HealthOutcome[LatestFold]]:
    """The health inputs read at ``at``, every node's latest report kept."""
    from noderr_deploy.rollback.reading import LatestFold, plan_read, read_health

    request = health(at=at)
    tell.reading_health(request.sources)
    plan = plan_read(request, file)
    return request, read_health(request, LatestFold, plan=plan, stdin=stdin)


def _with_read(
    status: RolloutStatus,
    request: HealthRequest,
    read: HealthOutcome[LatestFold],
    tell: StatusProgress,
) -> RolloutStatus:
    """``status`` with the read's adoption and counts; what the read noticed, told."""
    from noderr_deploy.rollback.reading import read_messages

    counts = read.counts
    status = with_health(
        status,
        read.fold.latest,
        records=counts.records,
        invalid=counts.invalid,
        max_age=request.max_age,
        read=counts,
    )
    assert status.health is not None
    tell.health_read(
        read_messages(
            request,
            counts,
            read.problems,
            incomplete_nodes=status.health.incomplete,
            warnings=read.warnings,
        )
    )
    return status
