"""The one entry point for reading health exports: files, directories or stdin in, the
latest report per node (:func:`read_latest`) or a fold of them (:func:`read_folded`) out.

Memory grows with the number of distinct nodes, not with the size of the files. Which
reader a file needs is :mod:`noderr_deploy.health.sources`' business; a large plain JSON
Lines file is split across processes by :mod:`noderr_deploy.health.parallel`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from noderr_deploy.errors import InputError
from noderr_deploy.health.model import F, FoldedRead, HealthRead, Latest, Once, Problems


def read_latest(
    paths: Sequence[str | Path],
    *,
    skip_invalid: bool = False,
    workers: int | None = None,
    stdin: object = None,
    while_reading: Callable[[], None] | None = None,
) -> HealthRead:
    """Read health exports (files, directories, ``-`` for stdin) into the latest report per node.

    Malformed records raise :class:`InputError` listing ``file:line: reason`` for each (up
    to :data:`MAX_LISTED`, then a count), unless ``skip_invalid``: then they are left out
    and counted in ``problems``. No record at all, or none valid, is an :class:`InputError`.
    ``workers`` caps the processes used for large JSON Lines files (default: the CPUs).

    ``while_reading`` is called once in this process, before the first file is read or,
    when that file is read by worker processes, while they read it: slow set-up (imports,
    tiers.yaml) then overlaps the reading. What it raises propagates.
    """
    from noderr_deploy.health.sources import expand

    return _read_all(expand(paths), skip_invalid, workers, stdin, Once(while_reading))


def _read_all(
    sources: list[str | Path],
    skip_invalid: bool,
    workers: int | None,
    stdin: object,
    once: Once,
) -> HealthRead:
    from noderr_deploy.health.sources import read_source

    latest = Latest()
    problems = Problems()
    for source in sources:
        read_source(source, latest, problems, workers=workers, stdin=stdin, meanwhile=once)
    once()
    latest.normalise()
    names = [str(s) for s in sources]
    check_read(problems, latest.records, names, skip_invalid=skip_invalid)
    return HealthRead(latest.by_node, latest.records, problems, names)


def read_folded(
    paths: Sequence[str | Path],
    make_fold: Callable[[], F],
    *,
    skip_invalid: bool = False,
    workers: int | None = None,
    stdin: object = None,
    while_reading: Callable[[], None] | None = None,
) -> FoldedRead[F]:
    """Read health exports as :func:`read_latest` does, and fold the latest report of each
    node into ``make_fold()``, called once in this process after ``while_reading`` (which
    may compute its settings).

    One large JSON Lines file is read, merged and folded by several processes, each
    folding its share of the nodes (:func:`noderr_deploy.health_parallel.fold_lines_parallel`):
    no process ever holds every node. Anything else is read here and folded at once.
    """
    from noderr_deploy.health.sources import expand, parallel_share, unreadable

    sources = expand(paths)
    once = Once(while_reading)
    parts, size = parallel_share(sources[0], workers) if len(sources) == 1 else (1, 0)
    if parts == 1:
        read = _read_all(sources, skip_invalid, workers, stdin, once)
        fold = make_fold()
        fold.add(read.latest)
        return FoldedRead(fold, read.records, len(read.latest), read.problems, read.sources)
    from noderr_deploy.health.parallel import fold_lines_parallel

    path = Path(sources[0])

    def check(problems: Problems, records: int) -> None:
        check_read(problems, records, [str(path)], skip_invalid=skip_invalid)

    try:
        return fold_lines_parallel(
            path, size, parts, Problems(), make_fold, meanwhile=once, check=check
        )
    except OSError as exc:
        raise unreadable(path, exc) from exc


def check_read(problems: Problems, records: int, names: list[str], *, skip_invalid: bool) -> None:
    """Raise :class:`InputError` for malformed records (unless ``skip_invalid``), or for an
    input without a single valid record."""
    if problems.count and not skip_invalid:
        noun = "record" if problems.count == 1 else "records"
        raise InputError(
            f"{problems.count} malformed health {noun} (use --skip-invalid to leave them out)",
            details=problems.lines(),
        )
    if records == 0:
        where = ", ".join(names)
        if problems.count:
            raise InputError(
                f"no valid health report in {where}: all {problems.count} records were invalid",
                details=problems.lines(5),
            )
        raise InputError(f"no health reports in {where}: the input is empty")
