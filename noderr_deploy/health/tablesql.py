"""The SQL that reads the latest telemetry per node from a PostgreSQL table.

Pure text: the columns are resolved from the table's catalog rows (:func:`resolve`) and the
statements built from them (:class:`TableSql`); :mod:`noderr_deploy.health.postgres` runs
them. Identifiers are quoted here (never formatted in raw) and values are parameters.

Every rule a file read applies is applied in SQL, so that a DSN read and a ``\\copy`` export
of the same rows give the same verdict:

- a row is *valid* when its node id and version are non-empty text, its timestamp a date
  a report can carry, its metrics NULL or in range (cpu and memory 0..100, errors and
  uptime >= 0 and finite) and its status NULL, empty or a known one; the others are counted
  and listed as malformed;
- a valid row missing cpu, memory or errors is *incomplete*;
- rows stamped after the horizon (``--at`` plus the skew allowed) are counted as future and
  never kept;
- the latest row per node is chosen by ``DISTINCT ON (node) ... ORDER BY node, timestamp
  DESC``: one row per node leaves the server. With ``--incomplete complete`` complete rows
  sort first, so a node's latest complete row is kept over a newer incomplete one. A tie
  goes to the higher ``id`` (the later insert, as the later line of an export), where the
  table has one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from noderr_deploy.health.columns import FIELDS, NEEDED, ColumnMap
from noderr_deploy.health.incomplete import IncompletePolicy
from noderr_deploy.health.stamps import AUTO_MS_FROM, MAX_SECONDS, TimestampUnit, moment
from noderr_deploy.text import printable
from noderr_deploy.units import parse_time

STATUSES = ("healthy", "degraded", "unhealthy")

_INTEGER = frozenset({"int2", "int4", "int8"})
_NUMERIC = frozenset({*_INTEGER, "numeric", "float4", "float8"})
_TEXT = frozenset({"text", "varchar", "bpchar", "name", "citext"})
_TIME = frozenset({"timestamptz", "timestamp"})


class TableProblem(ValueError):
    """The table, or one of its columns, cannot be read as telemetry (exit 2)."""


@dataclass(frozen=True)
class Column:
    """A column of the table as the catalog describes it."""

    name: str
    type_name: str
    """``pg_type.typname``: ``int4``, ``numeric``, ``timestamptz``, ``text``..."""
    shown_type: str = ""
    """``format_type()``: what messages show (``numeric(5,2)``)."""


@dataclass(frozen=True)
class Resolved:
    """Field -> the table column that holds it (only fields the table has), plus ``id``."""

    table: str
    """The quoted, schema-qualified table name."""
    shown: str
    """The table as messages name it."""
    columns: dict[str, Column]
    id_column: Column | None


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier, ``%`` doubled: every statement here is run with
    parameters, so the driver reads ``%%`` as ``%``."""
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def resolve(
    schema: str, table: str, shown: str, catalog: Iterable[Column], columns: ColumnMap
) -> Resolved:
    """Find each field's column among the table's (``catalog``): the mapped or
    ``node_telemetry`` name, exactly or, failing that, in another case when that is unique.

    Raises :class:`TableProblem` naming every field whose column is missing, and every
    column whose type cannot hold its field.
    """
    have = list(catalog)
    exact = {c.name: c for c in have}
    folded: dict[str, list[Column]] = {}
    for c in have:
        folded.setdefault(c.name.casefold(), []).append(c)

    def find(name: str) -> Column | None:
        if name in exact:
            return exact[name]
        matches = folded.get(name.casefold(), [])
        return matches[0] if len(matches) == 1 else None

    found: dict[str, Column] = {}
    missing: list[str] = []
    for field_ in FIELDS:
        wanted = columns.table_column(field_)
        column = find(wanted)
        if column is not None:
            found[field_] = column
        elif field_ in NEEDED or field_ in columns.mapped:
            missing.append(f"{wanted!r} ({field_})")
    if missing:
        names = ", ".join(printable(c.name) for c in have) or "none"
        raise TableProblem(
            f"table {shown} has no column {', '.join(missing)}; its columns: {names}"
            " (map fields to columns with health.columns in tiers.yaml or --columns)"
        )
    wrong = [
        f"{printable(c.name)} ({field_}) is {c.shown_type or c.type_name}, expected {expected}"
        for field_, c in found.items()
        if (expected := _type_problem(field_, c.type_name))
    ]
    if wrong:
        raise TableProblem(f"table {shown}: column {'; '.join(wrong)}")
    id_column = find("id")
    if id_column is not None and id_column.type_name not in _NUMERIC:
        id_column = None
    table_sql = f"{quote_ident(schema)}.{quote_ident(table)}"
    return Resolved(table_sql, shown, found, id_column)


def _type_problem(field_: str, type_name: str) -> str | None:
    if field_ in ("nodeId", "version", "healthStatus"):
        return None if type_name in _TEXT else "text"
    if field_ == "timestamp":
        if type_name in _TIME or type_name in _NUMERIC:
            return None
        return "timestamptz, timestamp or a number of unix seconds or milliseconds"
    return None if type_name in _NUMERIC else "a number"


@dataclass(frozen=True)
class TableSql:
    """The statements of one read, with their parameters."""

    resolved: Resolved
    unit: TimestampUnit
    incomplete: IncompletePolicy
    since: datetime | None
    horizon: datetime | None

    def _col(self, field_: str) -> str | None:
        column = self.resolved.columns.get(field_)
        return quote_ident(column.name) if column else None

    @property
    def numeric_time(self) -> bool:
        return self.resolved.columns["timestamp"].type_name in _NUMERIC

    def seconds(self) -> str:
        """The timestamp as unix seconds (numeric columns only), by the unit rule."""
        ts = self._col("timestamp")
        if self.unit == "s":
            return f"({ts})::float8"
        if self.unit == "ms":
            return f"({ts})::float8 / 1000"
        return (
            f"(CASE WHEN {ts} >= {AUTO_MS_FROM!r}"
            f" THEN ({ts})::float8 / 1000 ELSE ({ts})::float8 END)"
        )

    def in_milliseconds(self) -> str:
        """The predicate of a numeric timestamp read as milliseconds."""
        if self.unit == "auto":
            return f"({self._col('timestamp')} >= {AUTO_MS_FROM!r})"
        return "TRUE" if self.unit == "ms" else "FALSE"

    def moment(self) -> str:
        """The timestamp as ``timestamptz`` (naive ``timestamp`` means UTC; a number is read
        by the unit rule; NULL when it means no date)."""
        ts = self._col("timestamp")
        kind = self.resolved.columns["timestamp"].type_name
        if kind == "timestamptz":
            return f"{ts}"
        if kind == "timestamp":
            return f"({ts} AT TIME ZONE 'UTC')"
        seconds = self.seconds()
        return (
            f"(CASE WHEN {seconds} BETWEEN 0 AND {MAX_SECONDS!r} THEN to_timestamp({seconds}) END)"
        )

    def valid(self) -> str:
        """The predicate of a row a file read would accept."""
        node, version = self._col("nodeId"), self._col("version")
        parts = [
            f"{node} IS NOT NULL",
            f"{node} <> ''",
            f"{version} IS NOT NULL",
            f"{version} <> ''",
            f"{self.moment()} BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'",
        ]
        for field_, high in (("cpu", "100"), ("memory", "100"), ("errors", None), ("uptime", None)):
            col = self._col(field_)
            if col is None:
                continue
            # Compared in the column's own type (a cast per row costs more than the
            # comparison). NaN and Infinity sort above every number, so one upper bound
            # excludes them; integers hold neither.
            integer = self.resolved.columns[field_].type_name in _INTEGER
            if high:
                upper = f" AND {col} <= {high}"
            else:
                upper = "" if integer else f" AND {col} < 'Infinity'"
            parts.append(f"({col} IS NULL OR ({col} >= 0{upper}))")
        status = self._col("healthStatus")
        if status is not None:
            known = ", ".join(f"'{s}'" for s in STATUSES)
            parts.append(f"({status} IS NULL OR {status} = '' OR {status} IN ({known}))")
        return "(" + " AND ".join(parts) + ")"

    def incomplete_row(self) -> str:
        """The predicate of a row missing a metric the status rule needs."""
        return (
            "(" + " OR ".join(f"{self._col(f)} IS NULL" for f in ("cpu", "memory", "errors")) + ")"
        )

    def window(self) -> tuple[str, list[object]]:
        """The ``--since`` window (rows at or after it), with its parameter."""
        if self.since is None:
            return "TRUE", []
        return f"{self.moment()} >= %s", [self.since]

    def future(self) -> tuple[str, list[object]]:
        if self.horizon is None:
            return "FALSE", []
        return f"{self.moment()} > %s", [self.horizon]

    def counts(self) -> tuple[str, list[object]]:
        """One row: rows in the window, malformed ones, valid incomplete ones, valid future
        ones, and valid numeric timestamps read as seconds and as milliseconds."""
        window, wp = self.window()
        future, fp = self.future()
        ms = self.in_milliseconds() if self.numeric_time else "NULL::boolean"
        # Each predicate once per row, in the inner query; the outer one only counts.
        inner = (
            f"SELECT {self.valid()} IS TRUE AS v, {self.incomplete_row()} AS i,"
            f" ({future}) IS TRUE AS f, {ms} AS ms"
            f" FROM {self.resolved.table} WHERE {window}"
        )
        text = (
            "SELECT count(*), count(*) FILTER (WHERE NOT v),"
            " count(*) FILTER (WHERE v AND i), count(*) FILTER (WHERE v AND f),"
            " count(*) FILTER (WHERE v AND NOT ms), count(*) FILTER (WHERE v AND ms)"
            f" FROM ({inner}) AS rows"
        )
        return text, [*fp, *wp]

    def output(self) -> list[str]:
        """The selected columns, in the order :meth:`latest` returns them: node, version,
        moment, uptime, cpu, memory, errors, status (NULL for a column the table lacks)."""
        out = [self._col("nodeId"), self._col("version"), self.moment()]
        for field_ in ("uptime", "cpu", "memory", "errors"):
            col = self._col(field_)
            out.append(f"({col})::float8" if col else "NULL::float8")
        out.append(self._col("healthStatus") or "NULL::text")
        return [c for c in out if c is not None]

    def latest(self) -> tuple[str, list[object]]:
        """The latest valid, not-future row of each node (one per node)."""
        window, wp = self.window()
        future, fp = self.future()
        # Byte-wise ("C"): node ids are compared exactly, as a file read compares them (a
        # linguistic collation may call two ids equal), and sorting bytes is the fastest.
        node = f'{self._col("nodeId")} COLLATE "C"'
        order = [f"{node}"]
        if self.incomplete == "complete":
            order.append(f"{self.incomplete_row()}")  # false (complete) sorts first
        order.append(f"{self.moment()} DESC")
        if self.resolved.id_column is not None:
            order.append(f"{quote_ident(self.resolved.id_column.name)} DESC")
        text = (
            f"SELECT DISTINCT ON ({node}) {', '.join(self.output())}"
            f" FROM {self.resolved.table}"
            f" WHERE {window} AND {self.valid()} AND NOT ({future})"
            f" ORDER BY {', '.join(order)}"
        )
        return text, [*wp, *fp]

    def malformed(self, limit: int) -> tuple[str, list[object]]:
        """Up to ``limit`` malformed rows (their id, or ctid, first), for the messages."""
        window, wp = self.window()
        key = (
            f"({quote_ident(self.resolved.id_column.name)})::text"
            if self.resolved.id_column is not None
            else "ctid::text"
        )
        cols = [key]
        names: list[str] = []
        for field_ in FIELDS:
            col = self._col(field_)
            if col is not None:
                cols.append(f"({col})::text")
                names.append(field_)
        order = quote_ident(self.resolved.id_column.name) if self.resolved.id_column else "ctid"
        text = (
            f"SELECT {', '.join(cols)} FROM {self.resolved.table}"
            f" WHERE {window} AND {self.valid()} IS NOT TRUE ORDER BY {order} LIMIT {int(limit)}"
        )
        return text, wp

    def malformed_fields(self) -> list[str]:
        """The fields :meth:`malformed` returns after the key, in order."""
        return [f for f in FIELDS if f in self.resolved.columns]

    def column_of(self, field_: str) -> str:
        return self.resolved.columns[field_].name


def row_reason(sql: TableSql, values: Sequence[str | None]) -> str:
    """Why a malformed row (as :meth:`TableSql.malformed` returns it, key left out) was
    refused, naming every field at fault."""
    reasons: list[str] = []
    for field_, text in zip(sql.malformed_fields(), values, strict=True):
        if field_ == "timestamp":
            reason = _time_reason(text, sql.unit, numeric=sql.numeric_time)
        else:
            reason = _field_reason(field_, text)
        if reason:
            reasons.append(f"{sql.column_of(field_)}: {reason}")
    return "; ".join(reasons) or "not a valid report"


def _field_reason(field_: str, text: str | None) -> str | None:
    if field_ in ("nodeId", "version"):
        return "NULL" if text is None else ("empty" if text == "" else None)
    if field_ == "healthStatus":
        if text in (None, "", *STATUSES):
            return None
        return f"{text!r} is not one of {', '.join(STATUSES)}"
    if text is None:
        return None  # a NULL metric makes a row incomplete, not malformed
    try:
        value = float(text)
    except ValueError:
        return f"not a number: {text!r}"
    if not math.isfinite(value):
        return f"not a finite number: {text!r}"
    if value < 0:
        return f"{text} is below 0"
    if field_ in ("cpu", "memory") and value > 100:
        return f"{text} is above 100"
    return None


def _time_reason(text: str | None, unit: TimestampUnit, *, numeric: bool) -> str | None:
    if text is None:
        return "NULL"
    if numeric:
        try:
            moment(float(text), unit)
        except ValueError as exc:
            return str(exc)
        return None
    # A date the server holds but a report cannot: BC, after 9999, infinity.
    if "BC" in text or "infinity" in text.lower():
        return f"{text!r} is no date between the years 1 and 9999"
    try:
        parse_time(text)
    except ValueError:
        return f"{text!r} is no date between the years 1 and 9999"
    return None
