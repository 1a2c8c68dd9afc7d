"""Rendering of ``noderr cohort`` results: where the plan came from, the warnings, and
rows and summaries in every output format.

Row formats stream in chunks, so a million ids never sit in memory as JSON or CSV text.
Everything but the id in a row depends only on the id's bucket (its cohort, activation
time and activity), so each format renders the 100 possible row tails once and a chunk of
rows is two C-level maps and a join; only ids that need escaping (quotes, commas, control
characters) take a per-id path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from itertools import chain, compress, repeat
from typing import IO, TYPE_CHECKING

from noderr_deploy.cohorts import COHORTS, Assignment, RolloutPlan, schedule
from noderr_deploy.keccak import marked
from noderr_deploy.text import printable
from noderr_deploy.ui.output import Output, to_json

if TYPE_CHECKING:
    from noderr_deploy.chain.cohort import CohortResult
    from noderr_deploy.chain.source import RolloutSource
    from noderr_deploy.ui.cohort_documents import CohortRow, CohortSummary

ROW_KEYS = ("nodeId", "bucket", "cohort", "activatesAt", "active")

TABLE_MAX_ROWS = 10_000
"""``--format table`` lays out whole columns: above this many ids it refuses (csv streams)."""

_CHUNK = 1 << 16
# An id needs the slow path in CSV when it holds a delimiter, a quote or a line break (a
# lone CR included: csv readers end a record there, and Python's writer quotes only the
# characters of its own line terminator); in JSON when it holds a quote, a backslash or a
# control character.
_CSV_SPECIAL = re.compile(rb'[,"\r\n]')
_JSON_SPECIAL = re.compile(rb'[\x00-\x1f"\\]')
_SEPARATOR = b"\x7f"  # special to neither format


def announce(out: Output, source: RolloutSource) -> None:
    """Where the plan (and publish time) came from, on stderr, when it is worth saying."""
    line = chain_line(source) if source.chain is not None else plan_line(source)
    if line:
        out.info(line)


def write_result(out: Output, fmt: str, result: CohortResult) -> None:
    """The warnings and the plan's notes (stderr), then the rows or the summary in ``fmt``
    (stdout). ``table`` refuses more than :data:`TABLE_MAX_ROWS` rows before writing."""
    from noderr_deploy.errors import UsageError

    source = result.source
    plan = source.plan
    if result.counts is None and fmt == "table" and result.total > TABLE_MAX_ROWS:
        raise UsageError(
            f"--format table shows at most {TABLE_MAX_ROWS:,} node ids and {result.origin}"
            f" holds {result.total:,}: use --format csv or jsonl (which stream), or --summary"
        )
    for warning in result.warnings:
        out.warn(warning)
    for note in plan.notes():
        out.info(note)
    if result.counts is not None:
        from noderr_deploy.ui.cohort_documents import summary_document

        write_summary(out, fmt, summary_document(result), plan)
        return
    assert result.ids is not None and result.buckets is not None  # rows were asked for
    write_rows(
        out,
        fmt,
        result.ids,
        result.buckets,
        plan=plan,
        published_at=source.published_at,
        at=result.at,
        single=result.single,
    )


def plan_line(source: RolloutSource) -> str | None:
    """Which tiers.yaml supplied (part of) the plan, for stderr; None when none did."""
    from noderr_deploy.chain.source import DEFAULT

    p = source.plan
    origins = list(dict.fromkeys(source.origins.values()))
    files = [o for o in origins if o != DEFAULT and not o.startswith(("-", "NODERR_"))]
    if not files:
        return None
    others = [o for o in origins if o not in files]
    line = (
        f"plan {p.canary_percentage}/{p.cohort_percentage}/{p.cohort_delay_hours:g}"
        f" (canary/cohort %/delay h) from {', '.join(files)}"
    )
    if others:
        line += " and " + ", ".join("defaults" if o == DEFAULT else o for o in others)
    return line


def chain_line(source: RolloutSource) -> str:
    """Where the plan (and publish time) came from on the VersionBeacon, for stderr."""
    from noderr_deploy.units import iso

    chain = source.chain
    assert chain is not None
    p = source.plan
    line = (
        f"plan {p.canary_percentage}/{p.cohort_percentage}/{p.cohort_delay_hours:g}"
        f" (canary/cohort %/delay h) from {chain.where}"
    )
    v = chain.version
    if v is not None:
        line += (
            f"; {printable(chain.tier or '')} version {v.version_id} {printable(v.version_string)}"
            f" published {iso(v.published_at)}"
        )
    return line


# -- rows -----------------------------------------------------------------------------------


def write_rows(
    out: Output,
    fmt: str,
    ids: Sequence[bytes],
    buckets: bytes,
    *,
    plan: RolloutPlan,
    published_at: datetime | None,
    at: datetime,
    single: bool,
) -> None:
    """Rows of UTF-8 ``ids`` and their ``buckets`` in ``fmt``; ``single`` makes JSON one
    object instead of a list of one. ``table`` takes at most :data:`TABLE_MAX_ROWS`."""
    if fmt == "table" or (fmt == "json" and single):
        from noderr_deploy.cohorts import assignments

        rows = assignments(ids, buckets, plan, published_at, at)
        if fmt == "json":
            out.json(row_json(next(iter(rows))))
        else:
            write_table(out, rows, with_times=published_at is not None)
        return
    tails = row_tails(fmt, plan, published_at, at)
    if fmt == "csv":
        chunks: Iterator[bytes] = _csv_chunks(ids, buckets, tails)
        head = ",".join(ROW_KEYS).encode() + b"\n"
    elif fmt == "jsonl":
        chunks = _json_chunks(ids, buckets, tails, b"\n")
        head = b""
    else:
        chunks = _json_list(ids, buckets, tails)
        head = b""
    _write_bytes(out.stdout, head, chunks)


_ROW_HEAD = '{"nodeId": "'
"""How a JSON row starts: the id follows (escaped), then its tail from :func:`row_tails`."""


def row_tails(
    fmt: str, plan: RolloutPlan, published_at: datetime | None, at: datetime
) -> list[bytes]:
    """What follows the id in a row of each bucket 0..99, in ``fmt`` (csv, or JSON)."""
    from noderr_deploy.units import iso

    table = plan.cohort_table()
    when: dict[str, tuple[str | None, bool | None]] = dict.fromkeys(COHORTS, (None, None))
    if published_at is not None:
        # A cohort that never activates (a delay too large to represent) has no time.
        when = {
            e.cohort: (iso(e.activates_at) if e.activates_at is not None else None, e.active)
            for e in schedule(plan, published_at, at)
        }
    tails = []
    for value in range(100):
        name = table[value]
        start, active = when[name]
        if fmt == "csv":
            flag = "" if active is None else ("true" if active else "false")
            tail = f",{value},{name},{start or ''},{flag}\n"
        else:
            # The row document with an empty id, encoded as every JSON row is: what
            # follows the id is the same bytes whatever the id.
            from noderr_deploy.ui.cohort_documents import CohortRow

            rest = to_json(CohortRow("", value, name, start, active), indent=None)
            tail = rest[len(_ROW_HEAD) + 1 :]
        tails.append(tail.encode())
    return tails


def csv_field(raw: bytes) -> bytes:
    """An id as a CSV field: quoted (quotes doubled) when :data:`_CSV_SPECIAL` says so."""
    if _CSV_SPECIAL.search(raw):
        return b'"' + raw.replace(b'"', b'""') + b'"'
    return raw


def _chunks(ids: Sequence[bytes], buckets: bytes) -> Iterator[tuple[Sequence[bytes], bytes]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK], buckets[start : start + _CHUNK]


@cache  # built when a batch first needs it: a run for one id never does
def _table(pattern: re.Pattern[bytes]) -> bytes:
    return bytes(1 if pattern.fullmatch(bytes([b])) else 0 for b in range(256))


def _special(part: Sequence[bytes], pattern: re.Pattern[bytes]) -> Sequence[int]:
    """Indices of the ids of ``part`` that hold a byte ``pattern`` (one class) matches."""
    if not pattern.search(_SEPARATOR.join(part)):
        return ()
    if marked is not None:  # the C extension: one pass over the bytes, no Python per id
        return marked(part, _table(pattern))
    return list(compress(range(len(part)), map(pattern.search, part)))


def _csv_chunks(ids: Sequence[bytes], buckets: bytes, tails: list[bytes]) -> Iterator[bytes]:
    for part, values in _chunks(ids, buckets):
        fields = part
        special = _special(part, _CSV_SPECIAL)
        if special:
            fields = list(part)
            for i in special:
                fields[i] = csv_field(part[i])
        # One join over (id, tail) pairs: no concatenated bytes object per row.
        yield b"".join(
            chain.from_iterable(zip(fields, map(tails.__getitem__, values), strict=True))
        )


def _json_inner(raw: bytes) -> bytes:
    """The id as the inside of a JSON string (escaped, without the quotes)."""
    import json

    return json.dumps(raw.decode("utf-8"), ensure_ascii=False).encode()[1:-1]


def _json_chunks(
    ids: Sequence[bytes], buckets: bytes, tails: list[bytes], end: bytes
) -> Iterator[bytes]:
    """Rows as JSON objects, each followed by ``end``, a chunk at a time."""
    prefix = repeat(_ROW_HEAD.encode())
    closed = [b'"' + tail + end for tail in tails]
    for part, values in _chunks(ids, buckets):
        inner = part
        special = _special(part, _JSON_SPECIAL)
        if special:
            inner = list(part)
            for i in special:
                inner[i] = _json_inner(part[i])
        yield b"".join(
            chain.from_iterable(zip(prefix, inner, map(closed.__getitem__, values), strict=False))
        )


def _json_list(ids: Sequence[bytes], buckets: bytes, tails: list[bytes]) -> Iterator[bytes]:
    """A JSON list, one object per line."""
    separator = b",\n  "
    first = True
    for block in _json_chunks(ids, buckets, tails, separator):
        yield (b"[\n  " if first else separator) + block[: -len(separator)]
        first = False
    yield b"[]\n" if first else b"\n]\n"


def _write_bytes(stream: IO[str], head: bytes, chunks: Iterable[bytes]) -> None:
    """Write UTF-8 bytes to a text stream: through its buffer when it has one."""
    binary = getattr(stream, "buffer", None)
    stream.flush()
    if binary is not None:
        binary.write(head)
        for chunk in chunks:
            binary.write(chunk)
        binary.flush()
        return
    stream.write(head.decode("utf-8"))
    for chunk in chunks:
        stream.write(chunk.decode("utf-8"))


def write_summary(out: Output, fmt: str, document: CohortSummary, plan: RolloutPlan) -> None:
    """The summary document in ``fmt`` (jsonl: the same document on one line)."""
    if fmt == "json":
        out.json(document)
    elif fmt == "jsonl":
        out.json(document, indent=None)
    elif fmt == "csv":
        write_summary_csv(out.stdout, document)
    else:
        write_summary_table(out, document, plan)


def row_json(row: Assignment) -> CohortRow:
    """One node's JSON document (:class:`~noderr_deploy.ui.cohort_documents.CohortRow`)."""
    from noderr_deploy.ui.cohort_documents import row_document

    return row_document(row)


def write_table(out: Output, rows: Iterable[Assignment], with_times: bool) -> None:
    if not with_times:
        out.table(["node id", "bucket", "cohort"], [(r.node_id, r.bucket, r.cohort) for r in rows])
        return
    from noderr_deploy.units import iso  # here: a plain lookup runs without it

    cells = [
        (r.node_id, r.bucket, r.cohort, iso(r.activates_at) if r.activates_at else None, r.active)
        for r in rows
    ]
    out.table(["node id", "bucket", "cohort", "activates at", "active"], cells)


# -- summaries ------------------------------------------------------------------------------


def write_summary_table(out: Output, document: CohortSummary, plan: RolloutPlan) -> None:
    from noderr_deploy.units import count

    bounds = plan.bounds()
    timed = isinstance(document.schedule, list)
    times = {e.cohort: e for e in document.schedule} if isinstance(document.schedule, list) else {}
    columns = ["cohort", "buckets", "nodes", "share"]
    if timed:
        columns += ["activates at", "active"]
    rows = []
    for name in COHORTS:
        low, high = bounds[name]
        row: list[str | int | bool | None] = [
            name,
            f"{low}-{high - 1}" if high > low else "none",
            document.cohorts[name],
            f"{document.percentages[name]:.2f}%",
        ]
        if timed:
            row += [times[name].activates_at, times[name].active]
        rows.append(row)
    share = "100.00%" if document.total else "0.00%"
    total_row: list[str | int | bool | None] = ["total", "0-99", document.total, share]
    rows.append(total_row + ([None, None] if timed else []))
    title = (
        f"{count(document.total, 'node id')}; canary {plan.canary_percentage}%,"
        f" cohort {plan.cohort_percentage}%, delay {plan.cohort_delay_hours:g} h"
    )
    if timed:
        title += f"; phase {document.phase} at {document.at}"
    out.table(columns, rows, title=title)


def write_summary_csv(stream: IO[str], document: CohortSummary) -> None:
    """``cohort,nodes,percent``; percentages always with two decimals (``25.00``)."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(("cohort", "nodes", "percent"))
    for name in COHORTS:
        percent = f"{document.percentages[name]:.2f}"
        writer.writerow((name, document.cohorts[name], percent))
