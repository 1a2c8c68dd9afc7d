"""What a read found wrong: malformed records and lost data, listed and counted, and where
the first records stamped after the horizon are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from noderr_deploy.health.stamps import utc

if TYPE_CHECKING:
    from noderr_deploy.health.report import HealthReport

MAX_LISTED = 20
"""Malformed records listed one per line in an error; the rest are counted."""


FUTURE_LISTED = 5
"""Future records named one per line on stderr; the rest are counted."""


@dataclass
class Problem:
    """A malformed record, or data that could not be read at all (``lost``): where it is
    and why."""

    source: str
    line: int
    reason: str
    lost: bool = False

    def __str__(self) -> str:
        if not self.line:  # a reader that does not number its records
            return f"{self.source}: {self.reason}"
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Problems:
    """Malformed records and lost data: the first :data:`MAX_LISTED` kept, all counted.

    A malformed record is one record left out (``count``). Lost data is a part of a file
    that could not be read at all (a cut-off or corrupt gzip stream, a quote that swallows
    the rest of a CSV file): it is counted in bytes, and in records where they can be
    known, never as one malformed record.
    """

    listed: list[Problem] = field(default_factory=list)
    count: int = 0
    """Malformed records."""
    losses: int = 0
    """Places where data was lost."""
    lost_bytes: int = 0
    lost_records: int = 0
    """Records known to be in the lost data (they may be more)."""
    incomplete: int = 0
    """Valid records lacking cpu, memory or errors (not a problem: counted for the verdict;
    kept here because these counts travel with a worker's problems)."""
    seconds: int = 0
    """Numeric timestamps read as unix seconds."""
    milliseconds: int = 0
    """Numeric timestamps read as unix milliseconds."""
    damaged: int = 0
    """Places where records already read may be wrong (a gzip member whose CRC or length
    check failed): they cannot be told apart from good ones, so nothing is judged."""
    ahead: list[Problem] = field(default_factory=list)
    """Where the first :data:`FUTURE_LISTED` future records are (not problems: counted in
    the read's ``future``; kept here because they travel with a worker's problems)."""

    def sight(self, source: str, line: int, report: HealthReport) -> None:
        """A record stamped after the horizon, at ``line`` of ``source``."""
        if len(self.ahead) < FUTURE_LISTED:
            stamp = utc(report.timestamp).isoformat().replace("+00:00", "Z")
            self.ahead.append(Problem(source, line, f"node {report.node_id!r} stamped {stamp}"))

    def sight_unnumbered(self, source: str, count: int) -> None:
        """``count`` records of ``source`` stamped after the horizon, read by a reader that
        does not number its records (CSV)."""
        if len(self.ahead) < FUTURE_LISTED:
            noun = "record" if count == 1 else "records"
            self.ahead.append(Problem(source, 0, f"{count} {noun} stamped after the horizon"))

    @property
    def sighted(self) -> bool:
        """Whether the future records named are as many as are listed."""
        return len(self.ahead) >= FUTURE_LISTED

    def add(self, source: str, line: int, reason: str) -> None:
        """A malformed record."""
        self.count += 1
        self._list(Problem(source, line, reason))

    def lose(self, source: str, line: int, reason: str, *, size: int, records: int = 0) -> None:
        """Data lost from ``line`` on: ``size`` bytes, holding at least ``records`` records."""
        self.losses += 1
        self.lost_bytes += size
        self.lost_records += records
        if size or records:
            amount = f"{size} byte{'' if size == 1 else 's'}"
            if records:
                amount += f", {records} record{'' if records == 1 else 's'} or more"
            note = f"{amount} lost"
        else:  # a stream cut off: what it lacks was never there to count
            note = "the rest is lost"
        self._list(Problem(source, line, f"{reason} ({note})", lost=True))

    @property
    def failed(self) -> bool:
        """Whether anything was malformed or lost."""
        return bool(self.count or self.losses)

    def _list(self, problem: Problem) -> None:
        # Lost data is rare and matters most: it is listed even after the malformed
        # records have filled the list.
        if len(self.listed) < MAX_LISTED or (
            problem.lost and sum(p.lost for p in self.listed) < MAX_LISTED
        ):
            self.listed.append(problem)

    def extend(self, other: Problems, line_offset: int = 0) -> None:
        """Append problems found further on (``line_offset`` lines into the same file)."""
        for problem in other.listed:
            self._list(
                Problem(problem.source, problem.line + line_offset, problem.reason, problem.lost)
            )
        self.count += other.count
        self.losses += other.losses
        self.lost_bytes += other.lost_bytes
        self.lost_records += other.lost_records
        self.incomplete += other.incomplete
        self.seconds += other.seconds
        self.milliseconds += other.milliseconds
        self.damaged += other.damaged
        for seen in other.ahead[: FUTURE_LISTED - len(self.ahead)]:
            self.ahead.append(
                Problem(seen.source, seen.line and seen.line + line_offset, seen.reason)
            )

    def lines(self, limit: int = MAX_LISTED) -> list[str]:
        """One line per problem, up to ``limit``, then how many more there were."""
        lost = [p for p in self.listed if p.lost][:limit]
        others = [p for p in self.listed if not p.lost][: max(0, limit - len(lost))]
        chosen = {id(p) for p in (*lost, *others)}
        out = [str(p) for p in self.listed if id(p) in chosen]
        total = self.count + self.losses
        if total > len(out):
            out.append(f"... and {total - len(out)} more")
        return out


def future_lines(problems: Problems, future: int) -> list[str]:
    """Where the first future records are, one per line, then how many more there were."""
    out = [str(p) for p in problems.ahead]
    named = sum(1 if p.line else int(p.reason.split(" ", 1)[0]) for p in problems.ahead)
    if future > named:
        out.append(f"... and {future - named} more")
    return out
