"""The one core call of ``noderr cohort``: a :class:`CohortRequest` in, a
:class:`CohortResult` out (:func:`run_cohort`).

The plan and publish time are resolved once (:func:`~noderr_deploy.chain.source.resolve_rollout`:
flags, ``NODERR_*`` variables, tiers.yaml and defaults, or the VersionBeacon), the moment
``active`` is judged at is fixed, the ids are checked and bucketed byte-exact (arguments
here, a file by :mod:`noderr_deploy.nodeids`), and what the operator must be warned about
is gathered in the order it is shown. Rendering is :mod:`noderr_deploy.ui.cohort`'s.

Start-up matters here (operators call ``noderr cohort`` in loops): nothing heavy is
imported, and the records are plain classes (see the note above them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from noderr_deploy.chain.source import ChainRequest, PlanFlags, RolloutSource, resolve_rollout
from noderr_deploy.cohorts import Phase, ScheduleEntry, shares
from noderr_deploy.errors import UsageError

# Plain classes with __slots__, not NamedTuples or dataclasses: `noderr cohort <id>` imports
# this module on every start, and each NamedTuple class costs about 0.4 ms to create (three
# of them were 1 % of the run), a plain class a few microseconds.


class CohortRequest:
    """What to bucket and how, as the flags gave it (None: not given)."""

    __slots__ = ("at", "chain", "config", "file", "flags", "node_ids", "published_at", "summary")

    def __init__(
        self,
        flags: PlanFlags,
        *,
        node_ids: Sequence[str] = (),
        file: str | None = None,
        published_at: str | None = None,
        at: str | None = None,
        config: Path | None = None,
        chain: ChainRequest | None = None,
        summary: bool = False,
    ) -> None:
        self.flags = flags
        self.node_ids = node_ids
        """Ids given as arguments, as the shell passed them."""
        self.file = file
        """A file of ids, one per line (``-``: stdin), instead of ``node_ids``."""
        self.published_at = published_at
        """``--published-at`` as typed (ISO 8601 or unix seconds)."""
        self.at = at
        """``--at`` as typed: judge ``active`` then (needs a publish time)."""
        self.config = config
        self.chain = chain
        """Read the plan (and with a tier the publish time) from the VersionBeacon."""
        self.summary = summary
        """Count nodes per cohort (a repeated id once) instead of keeping every row."""


class CohortResult:
    """The ids' buckets (or, for a summary, the nodes per cohort) under one plan."""

    __slots__ = (
        "at",
        "buckets",
        "counts",
        "ids",
        "origin",
        "phase",
        "schedule",
        "shares",
        "single",
        "source",
        "total",
        "warnings",
    )

    def __init__(
        self,
        *,
        source: RolloutSource,
        at: datetime,
        warnings: list[str],
        origin: str,
        total: int,
        counts: dict[str, int] | None,
        ids: list[bytes] | None,
        buckets: bytes | None,
        single: bool,
        phase: Phase | None = None,
        schedule: list[ScheduleEntry] | None = None,
        shares: dict[str, float] | None = None,
    ) -> None:
        self.source = source
        """The plan and publish time, and where they came from."""
        self.at = at
        """When ``active`` is judged: ``--at``, else the block's time with a chain, else now."""
        self.warnings = warnings
        """For stderr (and the summary's JSON), in order."""
        self.origin = origin
        """Where the ids came from (``the arguments``, a file name, ``<stdin>``)."""
        self.total = total
        """Ids read, repeats included."""
        self.counts = counts
        """With ``summary``: nodes per cohort, a repeated id counted once."""
        self.ids = ids
        """Each id as UTF-8, in order (None for the summary of a file: it keeps no rows)."""
        self.buckets = buckets
        """Each id's bucket, one byte per id (None with ``ids``)."""
        self.single = single
        """One id given as an argument (its JSON is an object, not a list)."""
        self.phase = phase
        """With a publish time: the rollout's phase at ``at`` (None without one)."""
        self.schedule = schedule
        """With a publish time: each cohort's activation, and whether it is active at ``at``."""
        self.shares = shares
        """With ``summary``: each cohort's share of the nodes, in percent (two decimals)."""


class _Ids:
    """The ids read, their buckets and counts (a repeated id once with ``summary``), and
    what the input holds that an operator should hear about."""

    __slots__ = ("bucket_counts", "buckets", "ids", "origin", "repeated", "total", "warnings")

    def __init__(  # noqa: PLR0917 - a private record, built in two places
        self,
        ids: list[bytes] | None,
        buckets: bytes | None,
        bucket_counts: list[int],
        total: int,
        origin: str,
        repeated: dict[bytes, int] | None,
        warnings: list[str],
    ) -> None:
        self.ids = ids
        self.buckets = buckets
        self.bucket_counts = bucket_counts
        self.total = total
        self.origin = origin
        self.repeated = repeated
        self.warnings = warnings


def run_cohort(
    request: CohortRequest,
    *,
    stdin: IO[bytes] | None = None,
    now: Callable[[], datetime],
    cache_dir: Path | None = None,
    on_source: Callable[[RolloutSource], None] | None = None,
) -> CohortResult:
    """Resolve the plan, fix the moment, and bucket the ids of ``request``.

    ``now`` is asked only when neither ``--at`` nor a chain gives the moment; ``on_source``
    is told the resolved source before the ids are read (a large file then reads under the
    line saying where the plan came from). Raises :class:`UsageError` for bad times or ids
    given as arguments, :class:`~noderr_deploy.errors.InputError` for a bad file, and
    :class:`~noderr_deploy.errors.ChainError` when the chain cannot be read.
    """
    text = request.published_at
    published = _time("--published-at", text) if text is not None else None
    source = resolve_rollout(
        request.flags,
        published_at=published,
        config=request.config,
        chain=request.chain,
        cache_dir=cache_dir,
    )
    chain = source.chain
    # With a tier, a tier without a published version is the chain's state, not a usage
    # error: it is a warning, and --at has nothing to apply to.
    untimed = source.published_at is None and (chain is None or chain.tier is None)
    if request.at is not None and untimed:
        raise UsageError("--at needs a publish time (--published-at or --tier)")
    moment = _time("--at", request.at) if request.at is not None else (source.now or now())
    timing = _schedule(source, moment) if source.published_at is not None else None
    if on_source is not None:
        on_source(source)
    read = _read_ids(request, stdin)
    warnings = [
        *source.plan.warnings(),
        *(chain.notes() if chain is not None else ()),
        *read.warnings,
    ]
    if read.repeated:
        from noderr_deploy.units import count

        repeats = sum(read.repeated.values())
        what = "counted once in the summary" if request.summary else "each repeat gets its row"
        warnings.append(
            f"{read.origin}: {count(repeats, 'repeated node id')}"
            f" ({count(len(read.repeated), 'id')} given more than once): {what}"
        )
    counts = source.plan.cohort_counts(read.bucket_counts) if request.summary else None
    return CohortResult(
        source=source,
        at=moment,
        warnings=warnings,
        origin=read.origin,
        total=read.total,
        counts=counts,
        ids=read.ids,
        buckets=read.buckets,
        single=request.file is None and len(request.node_ids) == 1,
        phase=timing[0] if timing is not None else None,
        schedule=timing[1] if timing is not None else None,
        shares=shares(counts) if counts is not None else None,
    )


def _read_ids(request: CohortRequest, stdin: IO[bytes] | None) -> _Ids:
    """The ids (UTF-8) and their buckets, with the input's warnings."""
    from collections import Counter

    from noderr_deploy.cohorts import buckets_of, count_buckets

    summary = request.summary
    if request.file is not None:
        from noderr_deploy.nodeids import input_warnings, read_input, scan_ids

        data, name = read_input(request.file, stdin)
        said = input_warnings(data, name)
        scan = scan_ids(data, name, keep_rows=not summary)
        counts = scan.unique_bucket_counts() if summary else scan.bucket_counts
        return _Ids(scan.ids, scan.buckets, counts, scan.total, name, scan.repeated, said)
    ids = [_utf8(node_id, i) for i, node_id in enumerate(request.node_ids, start=1)]
    buckets = buckets_of(ids)
    repeated = {raw: n - 1 for raw, n in Counter(ids).items() if n > 1} or None
    counts = count_buckets(buckets_of(list(dict.fromkeys(ids))) if summary else buckets)
    return _Ids(ids, buckets, counts, len(ids), "the arguments", repeated, [])


def _utf8(node_id: str, position: int) -> bytes:
    if not node_id:
        raise UsageError(f"node id {position} is empty")
    # The exact bytes the shell passed, whatever the locale decoded them as (Latin-1, or
    # ASCII with surrogate escapes under C): the same bytes --file would read.
    raw = os.fsencode(node_id)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"node id {position} is not valid UTF-8") from None
    return raw


def _time(flag: str, text: str) -> datetime:
    from noderr_deploy.units import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _schedule(source: RolloutSource, at: datetime) -> tuple[Phase, list[ScheduleEntry]]:
    """The phase and schedule of the publish time's rollout at ``at``; a publish time
    whose schedule cannot be represented is a :class:`UsageError`."""
    from noderr_deploy.cohorts import phase, schedule

    plan, published = source.plan, source.published_at
    assert published is not None
    try:
        entries = schedule(plan, published, at)
    except OverflowError:
        raise UsageError(
            "the publish time plus 4 cohort delays is past the year 9999"
            f" (delay {plan.cohort_delay_hours:g} h)"
        ) from None
    return phase(plan, published, at), entries
