"""Reports that lack a metric the status rule needs: *incomplete*, never judged.

Heartbeat metrics are optional on the network since 2026-03 (NULL in ``node_telemetry``,
absent or ``null`` in the updater's JSON). The status rule needs ``cpu``, ``memory`` and
``errors`` (and the error rate ``errors``): a report without one of them says nothing about
the node's health, so it is not defaulted to 0 (which would read as healthy). It is counted
(``reports.incomplete`` in the JSON verdict) and left out of the cohorts. ``uptime`` is used
by no rule: a report missing only that is complete.

Which report of a node is kept (``--incomplete``):

- ``complete`` (the default): the latest *complete* report; an incomplete report is kept
  only for a node that has no complete one. A heartbeat that lost its metrics must not
  hide the node's last real measurement (staleness still applies to that one).
- ``latest``: the latest report, complete or not, as for any other field: a node whose
  latest report is incomplete is counted incomplete and not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

IncompletePolicy = Literal["complete", "latest"]

POLICIES: tuple[IncompletePolicy, ...] = ("complete", "latest")

RULE_METRICS = ("cpu", "memory", "errors")
"""The metrics the status rule (and the error rate) needs."""


def parse_policy(text: str) -> IncompletePolicy:
    """``complete`` or ``latest``; raises :class:`ValueError` otherwise."""
    word = text.strip().lower()
    for policy in POLICIES:
        if word == policy:
            return policy
    raise ValueError(f"unknown --incomplete policy {text!r} (use complete or latest)")


def missing_metrics(metrics: Mapping[str, object] | None) -> tuple[str, ...]:
    """The rule's metrics absent or ``None`` in a decoded ``metrics`` object."""
    if not isinstance(metrics, Mapping):
        return RULE_METRICS
    return tuple(name for name in RULE_METRICS if metrics.get(name) is None)
