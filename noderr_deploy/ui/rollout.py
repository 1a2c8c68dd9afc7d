"""Rendering of ``noderr rollout status``: what the run tells on stderr as it goes
(:class:`TerminalProgress`), and the result, as JSON or for people (:func:`show_status`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from noderr_deploy.text import printable
from noderr_deploy.ui.health import announce_read, losses, tell_read
from noderr_deploy.ui.output import Cell, Output
from noderr_deploy.units import iso

if TYPE_CHECKING:
    from pathlib import Path

    from noderr_deploy.chain.beacon import BeaconSnapshot
    from noderr_deploy.chain.settings import ChainSettings
    from noderr_deploy.chain.state import RolloutStatus, TierStatus
    from noderr_deploy.rollback.reading import ReadMessages


class TerminalProgress:
    """The :class:`~noderr_deploy.chain.rollout.StatusProgress` of the command: a spinner
    while the beacon is read, then log lines, warnings and the health read's notes."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def reading_beacon(self, settings: ChainSettings) -> AbstractContextManager[None]:
        return self.out.status(f"reading the VersionBeacon {settings.beacon_address}")

    def beacon_read(self, settings: ChainSettings, snapshot: BeaconSnapshot, requests: int) -> None:
        self.out.info(
            f"read block {snapshot.block.number} of chain {snapshot.chain_id} from"
            f" {settings.redacted_url} in {requests} HTTP request(s)"
        )

    def status_known(self, status: RolloutStatus) -> None:
        for warning in status.warnings():
            self.out.warn(warning)
        for note in status.rollout.plan().notes():
            self.out.info(note)

    def reading_health(self, sources: Sequence[str | Path]) -> None:
        announce_read(self.out, sources)

    def health_read(self, said: ReadMessages) -> None:
        tell_read(
            self.out,
            notes=said.notes,
            warnings=said.warnings,
            skipped=said.skipped,
            problems=said.problems,
        )


def show_status(
    out: Output, result: RolloutStatus, *, json: bool = False, explicit_at: bool = False
) -> None:
    """``result`` on stdout: its JSON document, or the human view."""
    if json:
        out.json(result.document())
    else:
        render(out, result, explicit_at=explicit_at)


def render(out: Output, result: RolloutStatus, *, explicit_at: bool = False) -> None:
    """The human view of a rollout status."""
    from noderr_deploy.chain.beacon import TIER_NAMES

    r = result.rollout
    out.text(
        f"VersionBeacon {result.address} on chain {result.chain_id},"
        f" block {result.block.number} ({iso(result.block.time)})"
    )
    state = "PAUSED" if result.paused else "active"
    out.text(
        f"Rollout {state}: canary {r.canary_percentage}%, cohorts of {r.cohort_percentage}%,"
        f" {r.cohort_delay_hours} h apart"
    )
    if explicit_at:
        out.text(f"Phases computed at {iso(result.at)} (--at)")
    if result.health is not None:
        out.text(_health_line(result))
    out.text()
    rows: list[tuple[Cell, ...]] = []
    for t in result.tiers:
        v = t.version
        slot = f"{t.beacon_tier} {TIER_NAMES.get(t.beacon_tier, '?')}"
        if v is None:
            rows.append((t.tier, slot, None, "no version published", None, None, None))
            continue
        phase = f"{t.phase} (paused)" if result.paused else t.phase
        kind = "emergency rollback" if v.is_emergency_rollback else "normal"
        rows.append(
            (t.tier, slot, v.version_id, v.version_string, iso(v.published_at), phase, kind)
        )
    out.table(("tier", "beacon tier", "id", "version", "published", "phase", "kind"), rows)
    for t in result.tiers:
        if t.version is not None:
            out.text()
            _render_tier(out, t)
        elif t.health is not None:
            reporting = sum(c.reporting for c in t.health)
            out.text()
            out.text(f"{printable(t.tier)}: no version published; {reporting} node(s) reporting")


def _health_line(result: RolloutStatus) -> str:
    """The counts of the health read, as ``rollback check``'s summary says them."""
    h = result.health
    assert h is not None
    read = f"Health exports: {h.records} record(s), {h.invalid} invalid skipped"
    read += losses(h.future, h.lost_bytes, h.lost_records)
    line = f"{read}; {h.nodes} node(s), {h.stale} stale"
    if h.max_age is not None:
        line += f" (latest report older than {_duration(h.max_age.total_seconds())})"
    if h.incomplete:
        line += f", {h.incomplete} incomplete"
    return line


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _render_tier(out: Output, t: TierStatus) -> None:
    v = t.version
    assert v is not None
    out.text(f"{printable(t.tier)}: version {v.version_id} {printable(v.version_string)}")
    out.text(f"  image tag    {printable(v.docker_image_tag)}")
    out.text(f"  config hash  {v.config_hash}")
    out.text(f"  published    {iso(v.published_at)} by {v.publisher}")
    out.text(f"  isActive     {'yes' if v.is_active else 'no'}")
    columns: tuple[str, ...] = ("cohort", "activates at", "active")
    rows: list[tuple[Cell, ...]] = [
        (e.cohort, iso(e.activates_at) if e.activates_at is not None else "never", e.active)
        for e in t.schedule
    ]
    if t.health is not None:
        columns += ("reporting", "on version", "healthy", "success")
        rows = [
            (*row, c.reporting, c.on_version, c.healthy, _rate(c.success_rate))
            for row, c in zip(rows, t.health, strict=True)
        ]
    out.table(columns, rows)


def _rate(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"
