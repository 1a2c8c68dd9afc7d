"""Staged-rollout cohorts, exactly as the network computes them.

The deployed TypeScript services compute ``keccak256(toUtf8Bytes(nodeId)) % 100``;
the deployment engine then puts ``bucket < canary`` in the canary, the next
``cohort`` percent in cohort1, and so on, with everything left in cohort4. A
version published at ``T`` activates cohort ``k`` at ``T + k * delay``.

The id is hashed byte-exact: no normalisation, trimming or case folding, and an id
that looks like hex is still text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from noderr_deploy.keccak import bucket_bytes, keccak256

COHORTS: tuple[str, ...] = ("canary", "cohort1", "cohort2", "cohort3", "cohort4")


PHASES: tuple[str, ...] = (*COHORTS, "complete")


Cohort = Literal["canary", "cohort1", "cohort2", "cohort3", "cohort4"]


Phase = Literal["canary", "cohort1", "cohort2", "cohort3", "cohort4", "complete"]


def bucket(node_id: str) -> int:
    """``int(keccak256(utf8(node_id))) % 100``: the node's bucket, 0..99."""
    return int.from_bytes(keccak256(node_id.encode("utf-8")), "big") % 100


def bucket_of_bytes(raw: bytes) -> int:
    """The bucket of an id already encoded as UTF-8 (batch paths skip the decode)."""
    return int.from_bytes(keccak256(raw), "big") % 100


def buckets_of(ids: Iterable[bytes]) -> bytes:
    """The bucket of each UTF-8 encoded id, in order, one byte per id (each 0..99)."""
    return bucket_bytes(ids)


def count_buckets(buckets: bytes) -> list[int]:
    """How many ids fell in each bucket 0..99, from :func:`buckets_of`'s result."""
    return [buckets.count(value) for value in range(100)]


def percentage_problem(value: int) -> str | None:
    """Why ``value`` cannot be a canary or cohort percentage (None when it can).

    Shared by :class:`RolloutPlan`, tiers.yaml validation and the command's flags, so that
    the three sources of a plan obey one set of rules.
    """
    if not 0 <= value <= 100:
        return f"{value} is not within 0..100"
    return None


def delay_problem(hours: float) -> str | None:
    """Why ``hours`` cannot be the delay between cohorts (None when it can).

    Whole hours only: the VersionBeacon stores ``cohortDelayHours`` as an integer, so a
    plan with 1.5 h could never be published; any size is fine (a delay past the year
    9999 means the later cohorts never activate).
    """
    # `not >=` also rejects NaN, which would otherwise slip through a `< 0` test.
    if not hours >= 0 or math.isinf(hours):
        return f"{hours} is not a finite number of hours >= 0"
    if hours != int(hours):
        return f"{hours:g} is not a whole number of hours (the VersionBeacon stores whole hours)"
    return None


def cohort4_note(canary: int, cohort: int) -> str | None:
    """What an operator should know when cohort4 is empty (None when it is not).

    Not a problem: the engine's rule is cumulative, so cohort3 simply ends at bucket 99.
    """
    if canary + 3 * cohort >= 100:
        last = _last_cohort(canary, cohort)
        also = COHORTS[COHORTS.index(last) + 1 : -1]  # empty before cohort4 as well
        too = f" ({', '.join(also)} too)" if also else ""
        return (
            f"cohort4 is empty{too}: canary {canary} + 3 x cohort {cohort} >= 100, so"
            f" {last} ends at bucket 99"
        )
    return None


def _last_cohort(canary: int, cohort: int) -> str:
    for k, edge in enumerate((canary, canary + cohort, canary + 2 * cohort), start=0):
        if edge >= 100:
            return COHORTS[k]
    return "cohort3"


PLAN_KEYS = ("canary_percentage", "cohort_percentage", "cohort_delay_hours")
"""The plan's keys as tiers.yaml spells them."""


def plan_problems(canary: int, cohort: int, delay_hours: float) -> list[tuple[str | None, str]]:
    """Every problem of a plan as ``(key, message)``; the key is None for a cross-key rule."""
    out: list[tuple[str | None, str]] = []
    for key, problem in zip(
        PLAN_KEYS,
        (percentage_problem(canary), percentage_problem(cohort), delay_problem(delay_hours)),
        strict=True,
    ):
        if problem:
            out.append((key, problem))
    return out


_MAX_HOURS = timedelta.max // timedelta(hours=1)
"""Delays beyond this many hours do not fit a timedelta (nor any date after 1970)."""


@dataclass(frozen=True)
class RolloutPlan:
    """Cohort sizes (percent of buckets) and the delay between cohorts, in whole hours.

    Every plan the deployment engine runs is valid: percentages 0..100 each, in any
    combination (with ``canary + 3 x cohort >= 100`` cohort4 is empty), and a delay of any
    size, up to the contract's uint256 maximum.
    """

    canary_percentage: int = 5
    cohort_percentage: int = 25
    cohort_delay_hours: int = 24

    def __post_init__(self) -> None:
        # -0.0 passes `>= 0` and would print as "delay -0 h": the plan holds +0.0 instead.
        if self.cohort_delay_hours == 0:
            object.__setattr__(self, "cohort_delay_hours", abs(self.cohort_delay_hours))
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        # 24.0 from a float flag or YAML: one type (int) wherever the plan goes, JSON too.
        object.__setattr__(self, "cohort_delay_hours", int(self.cohort_delay_hours))

    @classmethod
    def of(cls, canary: int, cohort: int, delay_hours: float) -> RolloutPlan:
        """A plan from values typed loosely (``24.0`` from YAML or a flag); a fractional
        delay is a :class:`ValueError`, never truncated."""
        return cls(canary, cohort, delay_hours)  # type: ignore[arg-type]  # checked, then int

    def problems(self) -> list[str]:
        """Every reason this plan is invalid (empty when it is valid)."""
        found = plan_problems(
            self.canary_percentage, self.cohort_percentage, self.cohort_delay_hours
        )
        return [f"{key}: {message}" if key else message for key, message in found]

    def offset(self, k: int) -> timedelta | None:
        """``k`` delays, or None when that is beyond any representable time span."""
        hours = k * self.cohort_delay_hours
        return None if hours > _MAX_HOURS else timedelta(hours=hours)

    def bounds(self) -> dict[str, tuple[int, int]]:
        """Each cohort's bucket range ``[low, high)`` (an empty cohort has ``low == high``)."""
        c, s = self.canary_percentage, self.cohort_percentage
        edges = [min(e, 100) for e in (0, c, c + s, c + 2 * s, c + 3 * s)] + [100]
        return {name: (edges[i], edges[i + 1]) for i, name in enumerate(COHORTS)}

    def notes(self) -> list[str]:
        """Facts about this plan an operator should see (not warnings, not errors)."""
        note = cohort4_note(self.canary_percentage, self.cohort_percentage)
        return [note] if note else []

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

    def cohort_counts(self, bucket_counts: Sequence[int]) -> dict[str, int]:
        """Nodes per cohort (every cohort present, in order) from per-bucket counts."""
        return {name: sum(bucket_counts[low:high]) for name, (low, high) in self.bounds().items()}

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
            f"the node auto-updater never updates buckets {edge}..99 ({missing}% of buckets):"
            f" canary {self.canary_percentage} + 4 x cohort {self.cohort_percentage} < 100,"
            " while the deployment engine places them in cohort4"
        ]


def cohort_index(cohort: str) -> int:
    """0 for the canary, k for cohort k."""
    return COHORTS.index(cohort)


def activates_at(plan: RolloutPlan, published_at: datetime, cohort: str) -> datetime | None:
    """When ``cohort`` becomes active for a version published at ``published_at``; None
    when that is past the year 9999: it never activates (a delay up to uint256 max)."""
    offset = plan.offset(cohort_index(cohort))
    if offset is None:
        return None
    try:
        return published_at + offset
    except OverflowError:
        return None


def is_active(plan: RolloutPlan, published_at: datetime, cohort: str, at: datetime) -> bool:
    """The engine's ``isCohortActive``: the canary always (from the publish on, and for an
    ``at`` before it too), cohort k once ``at - published_at >= k * delay``."""
    if cohort_index(cohort) == 0:
        return True
    start = activates_at(plan, published_at, cohort)
    return start is not None and at >= start


def phase(plan: RolloutPlan, published_at: datetime, at: datetime) -> Phase:
    """The rollout phase at ``at``: the newest active cohort, or ``complete`` after 5 delays
    (``canary`` before the publish time, and forever when the delay never elapses)."""
    elapsed = at - published_at
    for k, name in enumerate(PHASES[:-1], start=1):
        offset = plan.offset(k)
        if offset is None or elapsed < offset:
            return name  # type: ignore[return-value]
    return "complete"


class ScheduleEntry(NamedTuple):
    cohort: Cohort
    activates_at: datetime | None
    """None: never (past the year 9999)."""
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


def shares(counts: dict[str, int]) -> dict[str, float]:
    """Each cohort's share of the nodes of ``counts``, in percent to two decimals (0.0 for
    every cohort when there are none)."""
    total = sum(counts.values())
    return {name: round(100 * n / total, 2) if total else 0.0 for name, n in counts.items()}


class Assignment(NamedTuple):
    """One node's place in a rollout (a tuple: batches build a million of these)."""

    node_id: str
    bucket: int
    cohort: Cohort
    activates_at: datetime | None
    """None without a publish time."""
    active: bool | None


def assignments(
    ids: Iterable[bytes],
    buckets: bytes,
    plan: RolloutPlan,
    published_at: datetime | None = None,
    at: datetime | None = None,
) -> Iterator[Assignment]:
    """Pair UTF-8 ids with their buckets (from :func:`buckets_of`) and the plan's schedule.

    ``at`` (required with ``published_at``) decides ``active``.
    """
    table = plan.cohort_table()
    when: dict[str, tuple[datetime | None, bool | None]] = dict.fromkeys(COHORTS, (None, None))
    if published_at is not None:
        if at is None:
            raise ValueError("a publish time needs the time `at` to judge activity")
        when = {e.cohort: (e.activates_at, e.active) for e in schedule(plan, published_at, at)}
    for raw, value in zip(ids, buckets, strict=True):
        name = table[value]
        start, active = when[name]
        yield Assignment(raw.decode("utf-8"), value, name, start, active)


def assign(
    node_id: str,
    plan: RolloutPlan,
    published_at: datetime | None = None,
    at: datetime | None = None,
) -> Assignment:
    """The assignment of one node id."""
    raw = node_id.encode("utf-8")
    return next(assignments([raw], buckets_of([raw]), plan, published_at, at))
