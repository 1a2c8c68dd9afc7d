"""The one entry point for reading health exports: files, directories or stdin in, a fold
of the latest report of each node (:func:`read_folded`), or those reports themselves
(:func:`read_latest`), out.

Memory grows with the number of distinct nodes, not with the size of the files. Which
reader a file needs is :mod:`noderr_deploy.health.sources`' business. Whether to fork is
decided here, and only here: a large plain JSON Lines file is shared between processes
(:mod:`noderr_deploy.health.parallel`) when this process runs no other thread (a thread
holding a lock at the fork would leave the lock held in the child forever), and this
system can fork. Every other input is read in this process, by the same readers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from noderr_deploy.errors import InputError
from noderr_deploy.health.latest import FAR_FUTURE, Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.results import F, FoldedRead, HealthRead
from noderr_deploy.health.rules import DEFAULT_RULES, ReadRules
from noderr_deploy.health.sizes import DEFAULT_SIZES, ReadSizes


def read_folded(
    paths: Sequence[str | Path],
    make_fold: Callable[[], F],
    *,
    skip_invalid: bool = False,
    workers: int | None = None,
    stdin: object = None,
    horizon: datetime = FAR_FUTURE,
    sizes: ReadSizes = DEFAULT_SIZES,
    rules: ReadRules = DEFAULT_RULES,
    while_reading: Callable[[], None] | None = None,
) -> FoldedRead[F]:
    """Read health exports (files, directories, ``-`` for stdin) and fold the latest report
    of each node into ``make_fold()``.

    ``while_reading()`` then ``make_fold()`` are called once, in this process, before the
    first file is read or, when worker processes read it, while they read: slow set-up
    (imports, tiers.yaml) then overlaps the reading. What they raise propagates.

    ``rules`` say how records are read (columns, timestamp unit, incomplete reports).
    Reports stamped after ``horizon`` are left out and counted (``future``). Malformed
    records and lost data raise :class:`InputError` listing ``file:line: reason`` for each
    (up to :data:`~noderr_deploy.health.problems.MAX_LISTED`, then a count), unless
    ``skip_invalid``: then they are left out and counted in ``problems``. No record at
    all, or none valid, is an :class:`InputError`. ``workers`` caps the processes used for
    a large JSON Lines file (default: the CPUs, up to 4); ``sizes`` says how the input is
    cut.

    One large JSON Lines file is read, merged and folded by several processes, each
    folding its share of the nodes (:func:`noderr_deploy.health.parallel.fold_parallel`):
    no process ever holds every node. The fold must then pickle.
    """
    return _read(
        paths, make_fold, True, skip_invalid, workers, stdin, horizon, sizes, rules, while_reading
    )


def read_latest(
    paths: Sequence[str | Path],
    *,
    skip_invalid: bool = False,
    workers: int | None = None,
    stdin: object = None,
    horizon: datetime = FAR_FUTURE,
    sizes: ReadSizes = DEFAULT_SIZES,
    rules: ReadRules = DEFAULT_RULES,
    while_reading: Callable[[], None] | None = None,
) -> HealthRead:
    """Read health exports as :func:`read_folded` does, into the latest report per node."""
    read = _read(
        paths, _Gathered, False, skip_invalid, workers, stdin, horizon, sizes, rules, while_reading
    )
    return HealthRead(
        read.fold.latest, read.records, read.problems, read.sources, read.future, read.warnings
    )


class _Gathered:
    """The fold that keeps every node's latest report."""

    def __init__(self) -> None:
        self.latest: dict[str, HealthReport] = {}

    def prepare(self, nodes: object) -> None:
        pass

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        self.latest.update(latest)

    def combine(self, other: _Gathered) -> None:
        self.latest.update(other.latest)


class Once:
    """Calls a function the first time it is called, never again (``None``: nothing)."""

    def __init__(self, function: Callable[[], None] | None) -> None:
        self._function = function

    def __call__(self) -> None:
        function, self._function = self._function, None
        if function is not None:
            function()


def _read(  # noqa: PLR0917 - the two public functions' parameters, passed on
    paths: Sequence[str | Path],
    make_fold: Callable[[], F],
    spread: bool,
    skip_invalid: bool,
    workers: int | None,
    stdin: Any,
    horizon: datetime,
    sizes: ReadSizes,
    rules: ReadRules,
    while_reading: Callable[[], None] | None,
) -> FoldedRead[F]:
    from noderr_deploy.health.sources import expand, parallel_size, unreadable

    found = expand(paths)
    names = found.names
    once = Once(while_reading)
    parts = _workers(workers) if _may_fork() else 1

    def check(problems: Problems, records: int) -> None:
        check_read(problems, records, names, skip_invalid=skip_invalid)

    if spread and parts > 1 and len(found.paths) == 1:
        path = Path(found.paths[0])
        size = parallel_size(path, sizes)
        points = _plan(path, size, parts, sizes) if size else []
        if len(points) > 2:
            from noderr_deploy.health.parallel import fold_parallel, usable_parts

            problems = Problems()

            def start() -> F:
                once()
                return make_fold()

            try:
                folded = fold_parallel(
                    path,
                    points,
                    usable_parts(points, parts),
                    problems,
                    start,
                    sizes=sizes,
                    horizon=horizon,
                    rules=rules,
                    check=check,
                )
            except OSError as exc:
                raise unreadable(path, exc) from exc
            return FoldedRead(
                folded.fold,
                folded.records,
                folded.nodes,
                problems,
                names,
                folded.future,
                found.warnings,
            )

    latest = Latest(horizon, rules)
    problems = Problems()
    made: list[F] = []
    empty: list[str] = []

    def set_up() -> None:
        if not made:
            once()
            made.append(make_fold())

    for source, name in zip(found.paths, names, strict=True):
        before = (latest.records, problems.count, problems.losses)
        size = parallel_size(source, sizes) if parts > 1 else 0
        points = _plan(Path(source), size, parts, sizes) if size else []
        if len(points) > 2:
            from noderr_deploy.health.parallel import gather_parallel, usable_parts

            try:
                gather_parallel(
                    Path(source),
                    points,
                    usable_parts(points, parts),
                    latest,
                    problems,
                    sizes=sizes,
                    meanwhile=set_up,
                )
            except OSError as exc:
                raise unreadable(Path(source), exc) from exc
        else:
            set_up()
            _read_here(source, name, latest, problems, sizes=sizes, stdin=stdin)
        if (latest.records, problems.count, problems.losses) == before:
            empty.append(name)
    set_up()
    latest.normalise()
    check(problems, latest.records)
    fold = made[0]
    fold.add(latest.by_node)
    warnings = [*found.warnings, *empty_files(empty)] if len(names) > 1 else found.warnings
    return FoldedRead(
        fold, latest.records, len(latest.by_node), problems, names, latest.future, warnings
    )


EMPTY_LISTED = 5
"""Inputs without a record named one per line; the rest are counted."""


def empty_files(names: list[str]) -> list[str]:
    """Warnings for inputs read beside others that held no record at all (empty, or blank
    lines only, or a CSV header alone): nothing was lost, but nothing came from them
    either, and the operator must know which nodes may be missing."""
    out = [
        f"{name}: no health record in it (empty, or blank lines only): nothing read from it"
        for name in names[:EMPTY_LISTED]
    ]
    if len(names) > EMPTY_LISTED:
        out.append(f"... and {len(names) - EMPTY_LISTED} more inputs without a record")
    return out


def _read_here(
    source: str | Path,
    name: str,
    latest: Latest,
    problems: Problems,
    *,
    sizes: ReadSizes,
    stdin: Any,
) -> None:
    """Read one input in this process. Future records of a reader that does not number
    its records (CSV) are counted by input."""
    from noderr_deploy.health.sources import read_source

    future, named = latest.future, len(problems.ahead)
    read_source(source, latest, problems, sizes=sizes, stdin=stdin)
    if latest.future > future and len(problems.ahead) == named:
        problems.sight_unnumbered(name, latest.future - future)


def _plan(path: Path, size: int, parts: int, sizes: ReadSizes) -> list[int]:
    from noderr_deploy.health.parallel import plan
    from noderr_deploy.health.sources import unreadable

    try:
        return plan(path, size, parts, sizes)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _may_fork() -> bool:
    """Whether worker processes may be forked now: no other thread runs (a spinner, a
    client's pool), since a lock it holds would stay held in the child."""
    return threading.active_count() == 1


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    return min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def check_read(problems: Problems, records: int, names: list[str], *, skip_invalid: bool) -> None:
    """Raise :class:`InputError` for malformed records or lost data (unless
    ``skip_invalid``), or for an input without a single valid record."""
    if problems.damaged:
        # --skip-invalid leaves out what can be told apart; the records of a gzip member
        # that failed its check cannot be, and judging them could say `ok` wrongly.
        raise InputError(
            f"{describe(problems)}: a gzip member failed its integrity check, so records"
            " already read from it may be damaged; nothing was judged (re-export the file)",
            details=problems.lines(),
        )
    if problems.failed and not skip_invalid:
        raise InputError(
            f"{describe(problems)} (use --skip-invalid to leave them out)",
            details=problems.lines(),
        )
    if records == 0:
        where = ", ".join(names)
        if problems.failed:
            why = (
                f"all {problems.count} records were invalid"
                if not problems.losses
                else describe(problems)
            )
            raise InputError(
                f"no valid health report in {where}: {why}",
                details=problems.lines(5),
            )
        raise InputError(f"no health reports in {where}: the input is empty")


def describe(problems: Problems) -> str:
    """What was left out, in words: ``3 malformed health records and 1200 bytes lost``."""
    parts = []
    if problems.count:
        noun = "record" if problems.count == 1 else "records"
        parts.append(f"{problems.count} malformed health {noun}")
    if problems.losses:
        lost = f"{problems.lost_bytes} byte{'' if problems.lost_bytes == 1 else 's'}"
        if problems.lost_records:
            records = problems.lost_records
            lost += f" ({records} record{'' if records == 1 else 's'} or more)"
        places = "place" if problems.losses == 1 else "places"
        parts.append(f"{lost} of input lost in {problems.losses} {places}")
    return " and ".join(parts)
