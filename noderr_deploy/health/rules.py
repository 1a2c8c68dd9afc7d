"""How a read interprets what it reads: column names, numeric timestamps, incomplete
reports. One frozen value, carried by the read's :class:`~noderr_deploy.health.latest.Latest`
to every reader (and, through the fork, to worker processes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from noderr_deploy.health.columns import ColumnMap
from noderr_deploy.health.incomplete import IncompletePolicy
from noderr_deploy.health.stamps import TimestampUnit


@dataclass(frozen=True)
class ReadRules:
    """``--columns``/``health.columns``, ``--timestamp-unit``/``health.timestamp_unit`` and
    ``--incomplete``, resolved."""

    columns: ColumnMap = field(default_factory=ColumnMap)
    unit: TimestampUnit = "auto"
    incomplete: IncompletePolicy = "complete"


DEFAULT_RULES = ReadRules()
