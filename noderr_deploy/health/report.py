"""The health report: the record a node sends, its metrics, and the status they derive.

A node reports ``{"nodeId", "version", "metrics": {"uptime", "cpu", "memory", "errors"},
"timestamp", "healthStatus"?}``, the schema the deployment engine accepts on
``POST /api/v1/health``.

Records are msgspec structs: typed decoding validates every field while it parses,
which is what makes a million reports fit in about a second (see
``benchmarks/rollback_check.py``). They are created with ``gc=False`` because they hold
no cycles, and a million tracked objects would make the cyclic collector run over and
over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec.structs import astuple

from noderr_deploy.health.stamps import MAX_MILLISECONDS

HealthStatus = Literal["healthy", "degraded", "unhealthy"]


STATUSES: tuple[HealthStatus, ...] = ("healthy", "degraded", "unhealthy")


MAX_FLOAT = 1.7976931348623157e308
"""The largest finite float: ``1e999`` (infinity) is no count."""


class Metrics(msgspec.Struct, kw_only=True, gc=False):
    """A report's metrics, with the ranges the engine's schema allows (finite numbers).

    Each may be missing (absent or ``null`` in JSON, an empty field in CSV, NULL in SQL),
    never defaulted: a report without cpu, memory or errors is *incomplete*
    (:attr:`missing`, :mod:`noderr_deploy.health.incomplete`), counted and never judged.
    ``uptime`` is used by no rule.
    """

    uptime: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)] | None = None
    cpu: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    memory: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    errors: Annotated[float, msgspec.Meta(ge=0, le=MAX_FLOAT)] | None = None

    def __eq__(self, other: object) -> bool:
        # Metrics and reports are values, equal when their fields are, whichever decoder
        # made them (the reader decodes the common shape into stricter subclasses).
        if not isinstance(other, Metrics):
            return NotImplemented
        return astuple(self) == astuple(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like every struct

    @property
    def missing(self) -> tuple[str, ...]:
        """The metrics the status rule needs that this report lacks (empty: complete)."""
        return tuple(n for n in ("cpu", "memory", "errors") if getattr(self, n) is None)


# Numbers up to the last millisecond of 9999: the unit rule (noderr_deploy.health.stamps)
# turns them into datetimes right after decoding.
Timestamp = datetime | Annotated[float, msgspec.Meta(ge=0, le=MAX_MILLISECONDS)]


class HealthReport(msgspec.Struct, rename="camel", kw_only=True, gc=False):
    """One health report. Unknown fields in the input are ignored.

    ``timestamp`` is an aware UTC ``datetime`` once the reader has normalised it (see
    :func:`~noderr_deploy.health.stamps.utc`); straight out of the decoder it may also be
    naive (meaning UTC) or a number of unix seconds.
    """

    node_id: Annotated[str, msgspec.Meta(min_length=1)]
    version: Annotated[str, msgspec.Meta(min_length=1)]
    metrics: Metrics = msgspec.field(default_factory=Metrics)
    timestamp: Timestamp
    health_status: HealthStatus | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HealthReport):  # values, as Metrics are
            return NotImplemented
        return astuple(self) == astuple(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def incomplete(self) -> bool:
        """Whether the report lacks a metric the status rule needs."""
        m = self.metrics
        return m.cpu is None or m.memory is None or m.errors is None


def derived_status(metrics: Metrics) -> HealthStatus:
    """The deployment engine's status from metrics: errors > 10 or cpu > 95 is unhealthy,
    cpu > 90 or memory > 90 degraded, anything else healthy. Only for complete metrics:
    an incomplete report is never judged (:class:`ValueError`)."""
    cpu, memory, errors = metrics.cpu, metrics.memory, metrics.errors
    if cpu is None or memory is None or errors is None:
        raise ValueError(f"an incomplete report is not judged (missing {metrics.missing})")
    if errors > 10 or cpu > 95:
        return "unhealthy"
    if cpu > 90 or memory > 90:
        return "degraded"
    return "healthy"


def status_of(report: HealthReport) -> HealthStatus:
    """The report's own ``healthStatus`` when it carries one, else the derived status."""
    return report.health_status or derived_status(report.metrics)
