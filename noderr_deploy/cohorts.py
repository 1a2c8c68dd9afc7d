"""Staged-rollout cohorts, exactly as the network computes them.

The deployed TypeScript services compute ``keccak256(toUtf8Bytes(nodeId)) % 100``;
the deployment engine then puts ``bucket < canary`` in the canary, the next
``cohort`` percent in cohort1, and so on, with everything left in cohort4. A
version published at ``T`` activates cohort ``k`` at ``T + k * delay``.

The id is hashed byte-exact: no normalisation, trimming or case folding, and an id
that looks like hex is still text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

COHORTS: tuple[str, ...] = ("canary", "cohort1", "cohort2", "cohort3", "cohort4")
PHASES: tuple[str, ...] = (*COHORTS, "complete")
Cohort = Literal["canary", "cohort1", "cohort2", "cohort3", "cohort4"]
Phase = Literal["canary", "cohort1", "cohort2", "cohort3", "cohort4", "complete"]


def _keccak_backend() -> Callable[[bytes], bytes]:
    # safe-pysha3 is a C implementation, about 5x pycryptodome here; pycryptodome
    # (which web3 depends on anyway) is the fallback where the C one failed to build.
    try:
        import sha3

        keccak_256 = sha3.keccak_256
        return lambda data: keccak_256(data).digest()
    except ImportError:  # pragma: no cover - depends on the platform
        from Crypto.Hash import keccak

        return lambda data: keccak.new(data=data, digest_bits=256).digest()


keccak256: Callable[[bytes], bytes] = _keccak_backend()
"""Ethereum's Keccak-256 (not hashlib's ``sha3_256``, which pads differently)."""


def bucket(node_id: str) -> int:
    """``int(keccak256(utf8(node_id))) % 100``: the node's bucket, 0..99."""
    return int.from_bytes(keccak256(node_id.encode("utf-8")), "big") % 100


def bucket_of_bytes(raw: bytes) -> int:
    """The bucket of an id already encoded as UTF-8 (batch paths skip the decode)."""
    return int.from_bytes(keccak256(raw), "big") % 100


@dataclass(frozen=True)
class RolloutPlan:
    """Cohort sizes (percent of buckets) and the delay between cohorts."""

    canary_percentage: int = 5
    cohort_percentage: int = 25
    cohort_delay_hours: float = 24

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """Every reason this plan is invalid (empty when it is valid)."""
        out = []
        if not 0 <= self.canary_percentage <= 100:
            out.append(f"canary percentage {self.canary_percentage} is not within 0..100")
        if not 0 <= self.cohort_percentage <= 100:
            out.append(f"cohort percentage {self.cohort_percentage} is not within 0..100")
        if self.cohort_delay_hours < 0:
            out.append(f"cohort delay {self.cohort_delay_hours} h is negative")
        if not out and self.canary_percentage + 3 * self.cohort_percentage > 100:
            out.append(
                f"canary {self.canary_percentage} + 3 x cohort {self.cohort_percentage} > 100:"
                " cohort4 would be empty"
            )
        return out

    @property
    def delay(self) -> timedelta:
        return timedelta(hours=self.cohort_delay_hours)

    def bounds(self) -> dict[str, tuple[int, int]]:
        """Each cohort's bucket range ``[low, high)``."""
        c, s = self.canary_percentage, self.cohort_percentage
        edges = [0, c, c + s, c + 2 * s, c + 3 * s, 100]
        return {name: (edges[i], edges[i + 1]) for i, name in enumerate(COHORTS)}

    def cohort_of_bucket(self, value: int) -> Cohort:
        c, s = self.canary_percentage, self.cohort_percentage
        if value < c:
            return "canary"
        if value < c + s:
            return "cohort1"
        if value < c + 2 * s:
            return "cohort2"
        if value < c + 3 * s:
            return "cohort3"
        return "cohort4"

    def cohort_table(self) -> tuple[Cohort, ...]:
        """The cohort of each bucket 0..99, for batch lookups."""
        return tuple(self.cohort_of_bucket(b) for b in range(100))

    def updater_never_eligible_percent(self) -> int:
        """Buckets the node-side auto-updater never updates (it stops at canary + 4 x cohort)."""
        return max(0, 100 - (self.canary_percentage + 4 * self.cohort_percentage))

    def warnings(self) -> list[str]:
        """Divergences between the deployment engine and the node-side updater for this plan."""
        missing = self.updater_never_eligible_percent()
        if not missing:
            return []
        edge = self.canary_percentage + 4 * self.cohort_percentage
        return [
            f"the node auto-updater never updates buckets {edge}..99 ({missing}% of nodes):"
            f" canary {self.canary_percentage} + 4 x cohort {self.cohort_percentage} < 100,"
            " while the deployment engine places them in cohort4"
        ]


def cohort_index(cohort: str) -> int:
    """0 for the canary, k for cohort k."""
    return COHORTS.index(cohort)


def activates_at(plan: RolloutPlan, published_at: datetime, cohort: str) -> datetime:
    """When ``cohort`` becomes active for a version published at ``published_at``."""
    return published_at + cohort_index(cohort) * plan.delay


def is_active(plan: RolloutPlan, published_at: datetime, cohort: str, at: datetime) -> bool:
    """A cohort is active once ``at - published_at >= k * delay``."""
    return at >= activates_at(plan, published_at, cohort)


def phase(plan: RolloutPlan, published_at: datetime, at: datetime) -> Phase:
    """The rollout phase at ``at``: the newest active cohort, or ``complete`` after 5 delays."""
    elapsed = at - published_at
    for k, name in enumerate(PHASES[:-1], start=1):
        if elapsed < k * plan.delay:
            return name  # type: ignore[return-value]
    return "complete"


@dataclass(frozen=True)
class ScheduleEntry:
    cohort: Cohort
    activates_at: datetime
    active: bool


def schedule(plan: RolloutPlan, published_at: datetime, at: datetime) -> list[ScheduleEntry]:
    """Every cohort with its activation time and whether it is active at ``at``."""
    return [
        ScheduleEntry(
            cohort=name,  # type: ignore[arg-type]
            activates_at=activates_at(plan, published_at, name),
            active=is_active(plan, published_at, name, at),
        )
        for name in COHORTS
    ]
