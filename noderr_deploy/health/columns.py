"""Which column of an export (or of a PostgreSQL table) holds which field of a report.

Our fields are ``nodeId, version, uptime, cpu, memory, errors, timestamp, healthStatus``.
The network's telemetry table, ``node_telemetry``, names them ``node_id, version, uptime,
cpu_usage, memory_usage, errors, timestamp`` (and has no status column): a CSV header may
use either spelling, in any case. ``--columns nodeId=host,cpu=load`` (or tiers.yaml's
``health.columns``) names the column of any other export; a field mapped so is looked for
under that name alone.

Pure functions: nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

FIELDS = ("nodeId", "version", "uptime", "cpu", "memory", "errors", "timestamp", "healthStatus")
"""Every field a column can hold, in the order messages list them."""

NEEDED = ("nodeId", "version", "timestamp", "cpu", "memory", "errors")
"""Fields a header must have: the status rule needs cpu, memory and errors (a row may still
leave them empty: it is then incomplete). ``uptime`` and ``healthStatus`` are optional."""

TELEMETRY_NAMES: dict[str, str] = {
    "nodeId": "node_id",
    "version": "version",
    "uptime": "uptime",
    "cpu": "cpu_usage",
    "memory": "memory_usage",
    "errors": "errors",
    "timestamp": "timestamp",
    "healthStatus": "health_status",
}
"""The ``node_telemetry`` spelling of each field (``health_status`` is used if a table or an
export has it; the network's table does not)."""

DEFAULT_TABLE = "node_telemetry"

_BY_FOLDED = {name.casefold(): name for name in FIELDS}


class ColumnError(ValueError):
    """A mapping or a header that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ColumnMap:
    """Per field, the names its column may have (our spelling, then the table's), or the
    one name the operator chose (``mapped``)."""

    mapped: Mapping[str, str] = field(default_factory=dict)
    """Field -> column name, from ``--columns`` or tiers.yaml ``health.columns``."""

    origins: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Field -> where its mapping came from (``--columns``, ``health.columns``), for
    messages."""

    @classmethod
    def of(cls, *mappings: Mapping[str, str] | None, origins: Sequence[str] = ()) -> ColumnMap:
        """The map given by ``mappings``, later ones winning field by field (pass tiers.yaml's
        first, then the flag's); ``origins`` names where each mapping came from. Raises
        :class:`ColumnError` for an unknown field, an empty name, a field given twice in one
        mapping (``nodeid`` and ``nodeId``), or two fields given the same column."""
        merged: dict[str, str] = {}
        where: dict[str, str] = {}
        for n, mapping in enumerate(mappings):
            origin = origins[n] if n < len(origins) else ""
            these: dict[str, str] = {}
            for key, name in (mapping or {}).items():
                _put(these, field_name(key), column_name(name, key))
            merged.update(these)
            where.update(dict.fromkeys(these, origin))
        _check_distinct(merged, where)
        return cls(merged, where)

    def origin(self, field_: str) -> str:
        """Where the mapping of ``field_`` came from, as messages say it (may be empty)."""
        return self.origins.get(field_, "")

    def candidates(self, field_: str) -> tuple[str, ...]:
        """The names a column of ``field_`` may have in a file header."""
        if field_ in self.mapped:
            return (self.mapped[field_],)
        # A column mapped to another field is that field's alone.
        taken = {name.casefold() for name in self.mapped.values()}
        return tuple(
            name for name in (field_, TELEMETRY_NAMES[field_]) if name.casefold() not in taken
        )

    def table_column(self, field_: str) -> str:
        """The column of ``field_`` in a table: the mapped name, else ``node_telemetry``'s."""
        return self.mapped.get(field_, TELEMETRY_NAMES[field_])


def field_name(key: str) -> str:
    """Our name of a field as an operator may type it (``nodeid`` is ``nodeId``)."""
    if not key.strip():
        raise ColumnError(f"empty field name (fields: {', '.join(FIELDS)})")
    found = _BY_FOLDED.get(key.strip().casefold())
    if found is None:
        raise ColumnError(f"unknown field {key!r} (fields: {', '.join(FIELDS)})")
    return found


def column_name(name: object, key: str = "") -> str:
    """A column name as given: non-empty text without control characters."""
    if not isinstance(name, str) or not name.strip():
        raise ColumnError(f"{key or 'column'}: the name must be non-empty text")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ColumnError(f"{key or 'column'}: the name holds control characters")
    return name.strip()


def _put(out: dict[str, str], key: str, name: str) -> None:
    """Add ``key -> name``, refusing a key given twice (the last would silently win)."""
    if key in out:
        raise ColumnError(
            f"{key} is mapped twice (to {out[key]!r} and to {name!r}): give each field once"
        )
    out[key] = name


def _check_distinct(mapped: Mapping[str, str], origins: Mapping[str, str] | None = None) -> None:
    seen: dict[str, str] = {}
    for key, name in mapped.items():
        folded = name.casefold()
        if folded in seen:
            other = seen[folded]
            where = {(origins or {}).get(k, "") for k in (other, key)} - {""}
            given = f" ({' and '.join(sorted(where))})" if where else ""
            raise ColumnError(f"{other} and {key} are both mapped to column {name!r}{given}")
        seen[folded] = key


def parse_columns(specs: Iterable[str]) -> dict[str, str]:
    """``--columns`` values (each ``field=column,field=column``; the flag may repeat) as a
    map. Blank items beside others are ignored (``cpu=a,``); a value that maps nothing
    (``''``, ``,``) is an error. Raises :class:`ColumnError` for an item without ``=``, an
    unknown or empty field name, an empty column name, a field given twice (in any case, in
    one value or across repeated flags: the last would silently win) and a column given to
    two fields."""
    out: dict[str, str] = {}
    for spec in specs:
        if not spec.replace(",", "").strip():
            raise ColumnError(f"{spec!r} maps no field: give FIELD=COLUMN, e.g. cpu=cpu_usage")
        for item in spec.split(","):
            if not item.strip():
                continue
            key, sep, name = item.partition("=")
            if not sep:
                raise ColumnError(f"{item.strip()!r}: expected FIELD=COLUMN, e.g. cpu=cpu_usage")
            _put(out, field_name(key), column_name(name, key.strip()))
    _check_distinct(out)
    return out


def header_index(header: Sequence[str], columns: ColumnMap) -> dict[str, int]:
    """Field -> index of its column in a CSV header, matching names case-insensitively.

    Raises :class:`ColumnError` when a field of :data:`NEEDED` has no column (naming every
    missing field and the names looked for), or when two columns could hold one field.
    Columns for no field (``id``, ``requests``, ``metrics``, ...) are ignored.
    """
    by_name: dict[str, list[int]] = {}
    for i, cell in enumerate(header):
        by_name.setdefault(cell.strip().casefold(), []).append(i)
    index: dict[str, int] = {}
    missing: list[str] = []
    unmatched: list[str] = []
    for name in FIELDS:
        found = [
            (candidate, i)
            for candidate in dict.fromkeys(c.casefold() for c in columns.candidates(name))
            for i in by_name.get(candidate, [])
        ]
        if len(found) > 1:
            cells = " and ".join(f"{header[i].strip()!r} (column {i + 1})" for _, i in found)
            raise ColumnError(
                f"columns {cells} could both be {name}: choose one with --columns {name}=NAME"
            )
        if found:
            index[name] = found[0][1]
        elif name in columns.mapped:
            # Asked for by name: never silently unread, even for an optional field.
            origin = columns.origin(name)
            unmatched.append(
                f"{columns.mapped[name]!r} ({name}{', from ' + origin if origin else ''})"
            )
        elif name in NEEDED:
            missing.append(name)
    problems = []
    if unmatched:
        problems.append(f"CSV header has no column {', '.join(unmatched)}")
    if missing:
        looked = "; ".join(f"{m}: {' or '.join(columns.candidates(m))}" for m in missing)
        problems.append(
            f"CSV header lacks column(s) {', '.join(missing)} (looked for {looked}, in any"
            " case; name another column with --columns FIELD=COLUMN or health.columns in"
            " tiers.yaml)"
        )
    if problems:
        raise ColumnError(f"{'; '.join(problems)}; the header: {shown_header(header)}")
    return index


def shown_header(header: Sequence[str], limit: int = 20) -> str:
    """A header's cells for a message: quoted (so control characters show escaped), the
    first ``limit`` of them."""
    cells = ", ".join(repr(cell.strip()) for cell in header[:limit])
    more = len(header) - limit
    return cells + (f" and {more} more" if more > 0 else "") if header else "(empty)"
