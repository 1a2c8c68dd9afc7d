"""The throwaway PostgreSQL of ``scripts/services`` and the network's telemetry table.

``scripts/services start`` (or ``start-postgres``) runs a cluster on 127.0.0.1 and writes its
DSN to ``$NODERR_SERVICES_DIR/postgres.dsn``; ``NODERR_TEST_POSTGRES_DSN`` names another
server instead (it must be on 127.0.0.1: test traffic stays on this machine).

Each test gets a schema of its own (:class:`TelemetryDb`), reached through a DSN whose
``options`` set the search path: the code under test sees a plain ``node_telemetry``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# The network's table (auth API, Supabase), with the columns its insert also writes and its
# indexes (FIELD-NOTES: "The network as it runs now").
NODE_TELEMETRY_DDL = """
CREATE TABLE node_telemetry (
  id SERIAL PRIMARY KEY,
  node_id TEXT NOT NULL,
  timestamp TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  uptime INTEGER DEFAULT 0,
  requests INTEGER DEFAULT 0,
  errors INTEGER DEFAULT 0,
  cpu_usage NUMERIC(5,2),
  memory_usage NUMERIC(5,2),
  metrics JSONB,
  version TEXT,
  disk_usage NUMERIC(5,2),
  network_rx BIGINT,
  network_tx BIGINT
);
CREATE INDEX node_telemetry_node_id ON node_telemetry (node_id);
CREATE INDEX node_telemetry_timestamp ON node_telemetry (timestamp DESC);
"""

COLUMNS = (
    "node_id",
    "timestamp",
    "uptime",
    "requests",
    "errors",
    "cpu_usage",
    "memory_usage",
    "metrics",
    "version",
)


def services_dir() -> Path:
    return Path(os.environ.get("NODERR_SERVICES_DIR", "/tmp/noderr-services"))


def server_dsn() -> tuple[str | None, str]:
    """The test server's DSN, or None and why there is none."""
    dsn = os.environ.get("NODERR_TEST_POSTGRES_DSN")
    if dsn:
        host = urlsplit(dsn).hostname
        if host not in ("127.0.0.1", "localhost"):
            return None, f"NODERR_TEST_POSTGRES_DSN must name 127.0.0.1, not {host!r}"
        return dsn, ""
    path = services_dir() / "postgres.dsn"
    try:
        return path.read_text(encoding="utf-8").strip(), ""
    except OSError as exc:
        return None, f"{path}: {exc.strerror} (start it with `scripts/services start-postgres`)"


def with_options(dsn: str, **params: str) -> str:
    """``dsn`` with query parameters added (e.g. ``options=-csearch_path=x``)."""
    parts = urlsplit(dsn)
    extra = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def with_password(dsn: str, password: str) -> str:
    """``dsn`` with another password (for the wrong-password test)."""
    parts = urlsplit(dsn)
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def password_of(dsn: str) -> str:
    password = urlsplit(dsn).password
    assert password, "the test server's DSN carries a password"
    return password


@dataclass
class TelemetryDb:
    """A schema holding ``node_telemetry``, and a connection to fill it."""

    admin_dsn: str
    schema: str
    conn: Any

    @property
    def dsn(self) -> str:
        """The DSN the code under test is given: search path set to this schema."""
        return with_options(self.admin_dsn, options=f"-csearch_path={self.schema}")

    @classmethod
    def create(cls, admin_dsn: str, ddl: str = NODE_TELEMETRY_DDL) -> TelemetryDb:
        import psycopg

        schema = f"t_{secrets.token_hex(6)}"
        conn = psycopg.connect(admin_dsn, autocommit=True)
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path = {schema}")
        conn.execute(ddl)
        return cls(admin_dsn, schema, conn)

    def insert(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows (dicts by column name; columns left out take their defaults)."""
        for row in rows:
            names = ", ".join(row)
            marks = ", ".join(["%s"] * len(row))
            self.conn.execute(
                f"INSERT INTO node_telemetry ({names}) VALUES ({marks})", list(row.values())
            )

    def copy_in(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Load many rows with COPY FROM (what the benchmark uses for a million)."""
        with self.conn.cursor() as cur:
            sql = f"COPY node_telemetry ({', '.join(columns)}) FROM STDIN"
            with cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

    def drop(self) -> None:
        self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
        self.conn.close()
