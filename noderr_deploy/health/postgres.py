"""Health straight from the network's PostgreSQL: ``--health postgresql://user@host/db``.

The latest report per node is chosen by the server (:mod:`noderr_deploy.health.tablesql`),
so one row per node crosses the network, streamed through a server-side cursor. Counts
come from one aggregate over the same snapshot (a read-only repeatable-read transaction):
records, malformed, incomplete and future rows are the numbers a read of a ``\\copy``
export of the same rows gives.

psycopg 3 is an optional extra (``pip install 'noderr-deploy[postgres]'``), imported only
here and only when a DSN is given. The DSN's password appears in no message: every text
from the driver or the server is scrubbed of it (and of the DSN) before it is shown, and
the driver's exceptions are never chained to ours (``--debug`` prints those chains).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from noderr_deploy.errors import DatabaseError, TableError, UsageError
from noderr_deploy.health.columns import DEFAULT_TABLE, ColumnMap
from noderr_deploy.health.incomplete import IncompletePolicy
from noderr_deploy.health.problems import MAX_LISTED, Problems
from noderr_deploy.health.report import HealthReport, Metrics
from noderr_deploy.health.stamps import TimestampUnit, UnitTally
from noderr_deploy.health.tablesql import (
    Column,
    TableProblem,
    TableSql,
    resolve,
    row_reason,
)
from noderr_deploy.redact import REDACTED, redact_url
from noderr_deploy.text import printable

if TYPE_CHECKING:
    import psycopg

DSN_SCHEMES = ("postgresql://", "postgres://")

DSN_ENV = "NODERR_HEALTH_DSN"

DEFAULT_TIMEOUT = 30.0
"""Seconds for connecting, and for each statement, when ``--timeout`` is not given."""

WORK_MEM = "64MB"
"""The server memory one read's sort may use (``work_mem``, for its transaction only)."""

FETCH = 5000
"""Rows fetched from the server-side cursor at a time."""

INSTALL_HINT = "pip install 'noderr-deploy[postgres]'"


def is_dsn(text: str) -> bool:
    """Whether ``--health`` names a PostgreSQL database rather than a file."""
    return text[:13].lower().startswith(DSN_SCHEMES)


def redact_dsn(dsn: str) -> str:
    """The DSN as messages show it: no password (nor user), no secret parameter."""
    if is_dsn(dsn):
        return redact_url(dsn)
    # key=value form (NODERR_HEALTH_DSN may use it): mask the password's value.
    return _KV_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}", dsn)


_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def _secrets_of(dsn: str) -> list[str]:
    """The texts that must never be shown: the DSN itself and its password, raw and
    percent-decoded."""
    found = [dsn]
    if is_dsn(dsn):
        try:
            password = urlsplit(dsn).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
        query = urlsplit(dsn).query if "?" in dsn else ""
        for item in query.split("&"):
            key, _, value = item.partition("=")
            if key.lower() == "password" and value:
                found += [value, unquote(value)]
    else:
        for match in _KV_PASSWORD.finditer(dsn):
            value = match.group(2)
            found += [value, value.strip("'")]
    # Longest first: the DSN before the password it contains.
    return sorted({s for s in found if len(s) >= 1}, key=len, reverse=True)


def scrub(text: str, dsn: str) -> str:
    """A driver or server message fit to show: the password and DSN replaced, control
    characters escaped, whitespace runs (libpq's multi-line messages) joined."""
    for secret in _secrets_of(dsn):
        text = text.replace(secret, REDACTED if secret != dsn else redact_dsn(dsn))
    return printable(" ".join(text.split()))


@dataclass(frozen=True)
class TableQuery:
    """What to read: the table, its columns, the window, and the read rules."""

    table: str = DEFAULT_TABLE
    columns: ColumnMap = field(default_factory=ColumnMap)
    since: datetime | None = None
    """Rows before this are not read (``--since``)."""
    horizon: datetime | None = None
    """Rows after this are counted as future and never kept (``--at`` + skew)."""
    unit: TimestampUnit = "auto"
    incomplete: IncompletePolicy = "complete"
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class TableRead:
    """What a DSN read produced, in the terms of a file read."""

    latest: dict[str, HealthReport]
    records: int
    """Valid rows in the window (every report a file read of them would count)."""
    incomplete_records: int
    future: int
    problems: Problems
    units: UnitTally
    source: str
    """The table as messages name it (``postgresql://***@host/db node_telemetry``)."""
    fetched: int = 0
    """Rows that came through the cursor (one per node)."""


Connect = Callable[..., Any]


def read_table(dsn: str, query: TableQuery, *, connect: Connect | None = None) -> TableRead:
    """Read the latest report per node from ``query.table`` at ``dsn``.

    Raises :class:`UsageError` without psycopg or for a DSN it cannot parse,
    :class:`TableError` for a missing table or column or one of the wrong type (exit 2),
    and :class:`DatabaseError` when the server cannot be reached, refuses the login, or a
    statement fails or runs over ``query.timeout`` (exit 1). Malformed rows go to the
    result's ``problems`` (up to :data:`MAX_LISTED` listed, all counted), as a file's do.
    """
    psycopg = _psycopg()
    if connect is None:
        connect = psycopg.connect
    shown = f"{redact_dsn(dsn)} {query.table}"
    try:
        with _connect(connect, dsn, query.timeout) as conn:
            return _read(conn, dsn, query, shown)
    except (TableError, DatabaseError, UsageError):
        raise
    except psycopg.Error as exc:
        raise _database_error(psycopg, exc, dsn, query) from None


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UsageError(
            f"reading health from PostgreSQL needs psycopg 3: {INSTALL_HINT}"
        ) from None
    return psycopg


def _connect(connect: Connect, dsn: str, timeout: float) -> Any:
    import psycopg

    try:
        # libpq's connect_timeout is whole seconds, at least 2.
        return connect(
            dsn,
            connect_timeout=max(2, math.ceil(timeout)),
            application_name="noderr-deploy",
        )
    except psycopg.ProgrammingError as exc:  # the DSN does not parse
        raise UsageError(
            f"invalid PostgreSQL DSN {redact_dsn(dsn)}: {scrub(str(exc), dsn)}"
        ) from None
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"cannot connect to {redact_dsn(dsn)}: {scrub(str(exc), dsn)}"
        ) from None


def _database_error(psycopg: Any, exc: Exception, dsn: str, query: TableQuery) -> Exception:
    where = f"{redact_dsn(dsn)} {query.table}"
    message = scrub(str(exc), dsn)
    errors = psycopg.errors
    if isinstance(exc, errors.QueryCanceled):
        return DatabaseError(
            f"{where}: the query ran over --timeout {query.timeout:g}s and was cancelled"
        )
    if isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn | errors.InvalidName):
        return TableError(f"{where}: {message}")
    if isinstance(exc, errors.InsufficientPrivilege):
        return DatabaseError(f"{where}: {message}")
    return DatabaseError(f"{where}: {message}")


def _read(conn: psycopg.Connection[Any], dsn: str, query: TableQuery, shown: str) -> TableRead:
    import psycopg

    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    with conn.transaction():
        ms = max(1, round(query.timeout * 1000))
        conn.execute("SELECT set_config('statement_timeout', %s, true)", [f"{ms}ms"])
        # Room to sort the window in memory (DISTINCT ON sorts it), for this transaction.
        conn.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])
        # Every row of the cursor is fetched: plan for all of them, not a fast start.
        conn.execute("SELECT set_config('cursor_tuple_fraction', '1', true)", [])
        # Times as ISO text, whatever the role's or the server's DateStyle (psycopg parses
        # only ISO timestamptz; 'German' was an internal error), and text casts alike.
        conn.execute("SELECT set_config('DateStyle', 'ISO, YMD', true)", [])
        sql = TableSql(
            _resolve(conn, query), query.unit, query.incomplete, query.since, query.horizon
        )
        text, params = sql.counts()
        row = conn.execute(text.encode(), params).fetchone()
        assert row is not None
        total, malformed, incomplete, future, seconds, millis = (int(v) for v in row)
        problems = Problems()
        if malformed:
            _list_malformed(conn, sql, query, malformed, problems)
        latest: dict[str, HealthReport] = {}
        fetched = 0
        text, params = sql.latest()
        with conn.cursor(name="noderr_latest_per_node") as cursor:
            cursor.itersize = FETCH
            cursor.execute(text.encode(), params)
            for values in cursor:
                fetched += 1
                report = _report(values)
                latest[report.node_id] = report
    return TableRead(
        latest=latest,
        records=total - malformed,
        incomplete_records=incomplete,
        future=future,
        problems=problems,
        units=UnitTally(seconds, millis),
        source=shown,
        fetched=fetched,
    )


def _resolve(conn: psycopg.Connection[Any], query: TableQuery) -> Any:
    import psycopg

    try:
        found = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            [query.table],
        ).fetchone()
    except psycopg.ProgrammingError as exc:  # not a table name (syntax, too many dots)
        raise TableError(f"table {query.table!r}: {' '.join(str(exc).split())}") from None
    if found is None:
        raise TableError(
            f"no table {query.table!r} in the database (set health.table in tiers.yaml;"
            " the network's is node_telemetry)"
        )
    schema, table = found
    catalog = [
        Column(name, type_name, shown)
        for name, type_name, shown in conn.execute(
            "SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum",
            [query.table],
        )
    ]
    try:
        return resolve(schema, table, repr(query.table), catalog, query.columns)
    except TableProblem as exc:
        raise TableError(str(exc)) from None


def _list_malformed(
    conn: psycopg.Connection[Any],
    sql: TableSql,
    query: TableQuery,
    count: int,
    problems: Problems,
) -> None:
    text, params = sql.malformed(MAX_LISTED)
    rows = conn.execute(text.encode(), params).fetchall()
    has_id = sql.resolved.id_column is not None
    for key, *values in rows:
        reason = row_reason(sql, values)
        if has_id:
            problems.add(query.table, int(key), reason)
        else:
            problems.add(query.table, 0, f"row {key}: {reason}")
    # The rest are counted, as a file read counts malformed records past the listed ones.
    problems.count += count - len(rows)


def _report(values: tuple[Any, ...]) -> HealthReport:
    node, version, stamp, uptime, cpu, memory, errors, status = values
    moment = stamp.astimezone(UTC) if stamp.tzinfo is not UTC else stamp
    health = status or None
    return HealthReport(
        node_id=node,
        version=version,
        metrics=Metrics(uptime=uptime, cpu=cpu, memory=memory, errors=errors),
        timestamp=moment,
        health_status=health,
    )
