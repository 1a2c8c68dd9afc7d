"""What a read produced: the latest report per node (:class:`HealthRead`) or a fold of
them (:class:`FoldedRead`, folding with a :class:`Fold`), with the read's counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, Self, TypeVar

from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import HealthReport


@dataclass
class HealthRead:
    """What reading health exports produced: the latest report per node, and counts."""

    latest: dict[str, HealthReport]
    records: int
    """Valid records read."""
    problems: Problems
    sources: list[str]
    future: int = 0
    """Records stamped after the horizon, left out."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice, read once)."""


class Fold(Protocol):
    """A summary of the latest report of each node, built in parts that combine (such as
    :class:`noderr_deploy.rollback.CohortTally`). Parts may be built in other processes:
    a fold must pickle."""

    def prepare(self, nodes: Iterable[str]) -> None:
        """Work that can be done ahead for nodes likely to be added next (a worker calls this
        while it waits for the other processes' reports). It may do nothing."""

    def add(self, latest: Mapping[str, HealthReport]) -> None:
        """Fold in these nodes (every node is added once, to one part)."""

    def combine(self, other: Self) -> None:
        """Add another part, folded with the same settings."""


F = TypeVar("F", bound=Fold)


@dataclass
class FoldedRead(Generic[F]):
    """What :func:`read_folded` produced: the fold of every node's latest report, and counts."""

    fold: F
    records: int
    """Valid records read."""
    nodes: int
    """Distinct nodes."""
    problems: Problems
    sources: list[str]
    future: int = 0
    """Records stamped after the horizon, left out."""
    warnings: list[str] = field(default_factory=list)
    """What the reader noticed without failing (a file reached twice, read once)."""
