"""The core call of ``noderr rollout status`` (:func:`rollout_status_report`), without a chain:
the order of its side effects, which the command relies on (see tests/integration for the
command on a real chain)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from noderr_deploy.chain.beacon import BeaconSnapshot, RolloutConfig, VersionInfo
from noderr_deploy.chain.rollout import HealthAt, RolloutRequest, rollout_status_report
from noderr_deploy.chain.rpc import BlockInfo
from noderr_deploy.chain.settings import ChainSettings
from noderr_deploy.chain.state import RolloutStatus
from noderr_deploy.errors import UsageError
from noderr_deploy.rollback.reading import HealthRequest, ReadMessages
from tests.health_data import jsonl, record

ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PUBLISHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BLOCK_TIME = PUBLISHED + timedelta(hours=1)
SETTINGS = ChainSettings(rpc_url="http://127.0.0.1:1", beacon_address=ADDRESS)
VERSION = VersionInfo(
    version_id=1,
    version_string="1.0.0",
    docker_image_tag="1.0.0-oracle",
    config_hash="0x" + "11" * 32,
    published_at=PUBLISHED,
    publisher="0x" + "22" * 20,
    is_active=True,
    is_emergency_rollback=False,
)


class Recorder:
    """A StatusProgress and a beacon reader that write down what happens, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextmanager
    def reading_beacon(self, settings: ChainSettings) -> Iterator[None]:
        self.events.append("reading beacon")
        yield
        self.events.append("beacon done")

    def beacon_read(self, settings: ChainSettings, snapshot: BeaconSnapshot, requests: int) -> None:
        self.events.append(f"beacon read in {requests}")

    def status_known(self, status: RolloutStatus) -> None:
        self.events.append(f"status at {status.at:%H:%M}")

    def reading_health(self, sources: Sequence[str | Path]) -> None:
        self.events.append(f"reading health from {len(sources)}")

    def health_read(self, said: ReadMessages) -> None:
        self.events.append(f"health read, notes {said.notes}")

    def read_beacon(
        self, settings: ChainSettings, tiers: Sequence[int]
    ) -> tuple[BeaconSnapshot, int]:
        self.events.append(f"beacon tiers {list(tiers)}")
        snapshot = BeaconSnapshot(
            chain_id=31337,
            address=ADDRESS,
            block=BlockInfo(7, BLOCK_TIME),
            rollout=RolloutConfig(
                canary_percentage=5, cohort_percentage=25, cohort_delay_hours=24, is_active=True
            ),
            versions={2: VERSION},
        )
        return snapshot, 3


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "health.jsonl"
    path.write_bytes(jsonl(record("a", timestamp="2026-11-01T12:30:00Z")))
    return path


def health_at(export: Path, asked: list[datetime], *, since: datetime | None = None) -> HealthAt:
    def health(*, at: datetime) -> HealthRequest:
        asked.append(at)
        return HealthRequest(sources=(export,), at=at, since=since)

    return health


def run(recorder: Recorder, request: RolloutRequest, clock_times: list[datetime]) -> RolloutStatus:
    def clock() -> datetime:
        clock_times.append(PUBLISHED)
        return PUBLISHED

    return rollout_status_report(
        request, clock=clock, progress=recorder, read_beacon=recorder.read_beacon
    )


def test_without_health_reads_the_beacon_alone() -> None:
    recorder, clocked = Recorder(), list[datetime]()
    status = run(recorder, RolloutRequest(SETTINGS, (("oracle", 2),)), clocked)
    assert recorder.events == [
        "reading beacon", "beacon tiers [2]", "beacon done", "beacon read in 3", "status at 13:00",
    ]  # fmt: skip
    assert status.health is None
    assert status.tiers[0].phase == "canary"
    assert clocked == []


def test_without_at_health_is_checked_at_now_and_read_at_the_block_time(export: Path) -> None:
    recorder, clocked, asked = Recorder(), list[datetime](), list[datetime]()
    request = RolloutRequest(SETTINGS, (("oracle", 2),), health=health_at(export, asked))
    status = run(recorder, request, clocked)
    assert asked == [PUBLISHED, BLOCK_TIME]  # checked with "now", read at the block's time
    assert len(clocked) == 1
    assert recorder.events == [
        "reading beacon",
        "beacon tiers [2]",
        "beacon done",
        "beacon read in 3",
        "status at 13:00",
        "reading health from 1",
        "health read, notes []",
    ]
    assert status.health is not None
    assert (status.health.records, status.health.nodes) == (1, 1)


def test_with_at_health_is_read_before_the_chain(export: Path) -> None:
    recorder, clocked, asked = Recorder(), list[datetime](), list[datetime]()
    at = BLOCK_TIME + timedelta(hours=1)
    request = RolloutRequest(SETTINGS, (("oracle", 2),), at=at, health=health_at(export, asked))
    status = run(recorder, request, clocked)
    assert asked == [at, at]
    assert clocked == []
    assert recorder.events == [
        "reading health from 1",
        "reading beacon",
        "beacon tiers [2]",
        "beacon done",
        "beacon read in 3",
        "status at 14:00",
        "health read, notes []",
    ]
    assert status.at == at
    assert status.health is not None


def test_bad_health_options_fail_before_the_chain_is_read(export: Path) -> None:
    recorder, clocked, asked = Recorder(), list[datetime](), list[datetime]()
    health = health_at(export, asked, since=PUBLISHED)  # --since needs a DSN
    request = RolloutRequest(SETTINGS, (("oracle", 2),), health=health)
    with pytest.raises(UsageError, match="--since applies to a PostgreSQL DSN"):
        run(recorder, request, clocked)
    assert recorder.events == []
