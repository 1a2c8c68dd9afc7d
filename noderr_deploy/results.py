"""The one result type of every ``--json`` document: msgspec structs.

A document is a :class:`Document` subclass: its fields, in order, are the JSON keys,
camelCase by msgspec's ``rename="camel"`` (``beacon_tier`` -> ``beaconTier``); a key
that no Python name can spell (``from``) is named with ``msgspec.field(name=...)``. A
field whose default is :data:`UNSET` is left out of the document until it is set (the
``health`` of a rollout status without health exports). Maps whose keys are data (build
args, an ABI call's arguments) stay plain dicts inside a document. One encoder writes
them all: :func:`noderr_deploy.ui.output.to_json`.

A core result is a document itself where its values are what the JSON shows (the rollback
verdict, a cohort's adoption, a saved image tarball). One that carries Python values the
JSON shows otherwise (datetimes as ISO 8601 UTC to the second, a timedelta as seconds, a
version's fields flattened into its tier's) keeps them for the code that computes and
renders with them, and is converted in one place: its ``document()`` method.

msgspec is cheap to import (a few milliseconds), so a command that prints a document
costs no more to start than one that prints text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import msgspec
from msgspec import UNSET, UnsetType

from noderr_deploy.units import iso

__all__ = ["UNSET", "Document", "ScheduleDocument", "UnsetType", "schedule_documents"]


class Document(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """Base of the result documents: camelCase keys in field order, immutable, no cycles
    (``gc=False``). msgspec checks no types on construction: mypy does (the few value
    rules a result has are in its ``__post_init__``, as in
    :class:`noderr_deploy.rollback.Thresholds`). Each subclass repeats ``frozen=True``,
    which msgspec inherits but mypy's dataclass rules ask to see."""


class ScheduleDocument(Document, frozen=True):
    """One cohort of a rollout's schedule, as ``cohort --summary`` and ``rollout status``
    show it."""

    cohort: str
    activates_at: str | None
    """ISO 8601 UTC (``2026-03-01T12:00:00Z``); None: never (past the year 9999)."""
    active: bool | None


class _Entry(Protocol):
    @property
    def cohort(self) -> str: ...
    @property
    def activates_at(self) -> datetime | None: ...
    @property
    def active(self) -> bool: ...


def schedule_documents(entries: Iterable[_Entry]) -> list[ScheduleDocument]:
    """The documents of schedule entries (:class:`noderr_deploy.cohorts.ScheduleEntry`)."""
    return [
        ScheduleDocument(
            e.cohort, iso(e.activates_at) if e.activates_at is not None else None, e.active
        )
        for e in entries
    ]
