"""A streaming reader for a JSON array of health reports.

A whole-document decoder would hold the file in memory; this scanner finds each
top-level object (skipping strings, tracking brace depth) in a sliding buffer and
decodes them one by one, so memory stays at one chunk plus one record.
"""

from __future__ import annotations

import re
import zlib
from typing import IO

from noderr_deploy.health.jsonl import read1
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.report import HealthReport
from noderr_deploy.health.stamps import utc

_STRUCTURE = re.compile(rb'[{}\[\]"]')
# The rest of a string after its opening quote, up to and including the closing quote.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SPACE = b" \t\r\n"


class _Buffer:
    """A window on the stream that tracks line numbers and can grow on demand."""

    def __init__(self, stream: IO[bytes], chunk: int) -> None:
        self.stream = stream
        self.chunk = chunk
        self.data = b""
        self.line = 1  # line number of data[0]
        self._seen = (0, 1)  # (position, its line): line numbers are counted incrementally
        self.eof = False
        self.failure: BaseException | None = None

    def more(self) -> bool:
        if self.eof:
            return False
        try:
            piece = read1(self.stream, self.chunk)
        except (EOFError, OSError, zlib.error) as exc:
            self.failure = exc
            piece = b""
        if not piece:
            self.eof = True
            return False
        self.data += piece
        return True

    def drop(self, upto: int) -> None:
        """Forget data before ``upto``, keeping the line count right."""
        self.line = self.line_of(upto)
        self.data = self.data[upto:]
        self._seen = (0, self.line)

    def line_of(self, pos: int) -> int:
        seen, line = self._seen
        if pos < seen:
            seen, line = 0, self.line
        line += self.data.count(b"\n", seen, pos)
        self._seen = (pos, line)
        return line

    def skip_space(self, pos: int) -> int:
        """The position of the next non-blank byte (reading more as needed), or len(data)."""
        while True:
            while pos < len(self.data) and self.data[pos] in _SPACE:
                pos += 1
            if pos < len(self.data) or not self.more():
                return pos


def read_array(
    stream: IO[bytes], name: str, latest: Latest, problems: Problems, *, chunk_size: int
) -> None:
    """Read ``[ {report}, {report}, ... ]`` from ``stream``, reading ``chunk_size`` bytes at
    a time. Arrays one after the other (``cat a.json b.json``) are read as such."""

    batch = _Batch(name, latest, problems)
    try:
        _scan(stream, name, latest, problems, batch, chunk_size=chunk_size)
    finally:
        batch.flush()


class _Batch:
    """Records on their way to :class:`Latest`, which is fastest on batches, with their
    lines (to say where the first future records are)."""

    def __init__(self, name: str, latest: Latest, problems: Problems) -> None:
        self.name = name
        self.latest = latest
        self.problems = problems
        self.reports: list[HealthReport] = []
        self.lines: list[int] = []

    def append(self, report: HealthReport, line: int) -> None:
        self.reports.append(report)
        self.lines.append(line)
        if len(self.reports) >= 4096:
            self.flush()

    def flush(self) -> None:
        latest = self.latest
        future = latest.future
        latest.add_many(self.reports)
        if latest.future > future and not self.problems.sighted:  # the first ones: where
            horizon = latest.horizon
            for report, line in zip(self.reports, self.lines, strict=True):
                if utc(report.timestamp) > horizon:
                    self.problems.sight(self.name, line, report)
        self.reports = []
        self.lines = []


def _scan(
    stream: IO[bytes],
    name: str,
    latest: Latest,
    problems: Problems,
    batch: _Batch,
    *,
    chunk_size: int,
) -> None:
    buf = _Buffer(stream, chunk_size)
    pos = buf.skip_space(0)
    if pos >= len(buf.data):
        return  # empty input
    at: int | None = pos
    while at is not None:
        at = _scan_array(buf, at, name, latest, problems, batch=batch)


def _scan_array(
    buf: _Buffer,
    pos: int,
    name: str,
    latest: Latest,
    problems: Problems,
    *,
    batch: _Batch,
) -> int | None:
    """Read the array starting at ``pos``; return where the next one starts, if one does."""
    from noderr_deploy.health.losses import gzip_reason, unread_bytes
    from noderr_deploy.health.record import decode_record, finish

    if buf.data[pos : pos + 1] != b"[":
        problems.lose(
            name,
            buf.line_of(pos),
            "expected a JSON array of reports ('['): the rest of the file is not read",
            size=len(buf.data) - pos + unread_bytes(buf.stream),
        )
        return None
    pos += 1
    expect_element = True
    first = True
    while True:
        if pos > buf.chunk:  # forget what was read, but not after every record
            buf.drop(pos)
            pos = 0
        pos = buf.skip_space(pos)
        if pos >= len(buf.data):
            reason = (
                gzip_reason(buf.failure)
                if buf.failure
                else "the JSON array is not closed with ']' (file cut off?)"
            )
            problems.lose(name, buf.line_of(pos), reason, size=unread_bytes(buf.stream))
            return None
        char = buf.data[pos : pos + 1]
        if char == b"]" and (not expect_element or first):
            return _after(buf, pos + 1, name, problems)
        if char == b"," and not expect_element:
            expect_element = True
            pos += 1
            continue
        if expect_element and char == b"{":
            end = _object_end(buf, pos)
            if end is None:
                reason = (
                    gzip_reason(buf.failure) if buf.failure else "bad JSON: the record is cut off"
                )
                problems.lose(
                    name,
                    buf.line_of(pos),
                    reason,
                    size=len(buf.data) - pos + unread_bytes(buf.stream),
                    records=1,
                )
                return None
            report, why = decode_record(buf.data[pos:end], latest.rules.unit)
            if report is not None:
                why = finish(report, latest.rules.unit, problems)
            if report is None or why:
                problems.add(name, buf.line_of(pos), why)
            else:
                batch.append(report, buf.line_of(pos))
            pos = end
            expect_element = False
            first = False
            continue
        # Anything else: report it, then resume after the next comma at this level.
        wanted = "a report object" if expect_element else "',' or ']'"
        problems.add(name, buf.line_of(pos), f"bad JSON array: expected {wanted}")
        pos = _skip_value(buf, pos)
        expect_element = False
        first = False


def _object_end(buf: _Buffer, start: int) -> int | None:
    """The position just past the object starting at ``start`` (reading more as needed)."""
    depth = 0
    pos = start
    while True:
        match = _STRUCTURE.search(buf.data, pos)
        if match is None:
            pos = len(buf.data)
            if not buf.more():
                return None
            continue
        at = match.start()
        char = buf.data[at]
        if char == 0x22:  # a string: jump past its closing quote
            rest = _STRING_REST.match(buf.data, at + 1)
            while rest is None:
                if not buf.more():
                    return None
                rest = _STRING_REST.match(buf.data, at + 1)
            pos = rest.end()
            continue
        depth += 1 if char in b"{[" else -1
        pos = at + 1
        if depth == 0:
            return pos


def _skip_value(buf: _Buffer, pos: int) -> int:
    """Skip a stray value up to (not including) the next top-level ',' or ']'."""
    while True:
        while pos < len(buf.data):
            char = buf.data[pos : pos + 1]
            if char in (b",", b"]"):
                return pos
            if char in (b"{", b"["):
                end = _object_end(buf, pos)
                if end is None:
                    return len(buf.data)
                pos = end
                continue
            pos += 1
        if not buf.more():
            return pos


def _after(buf: _Buffer, pos: int, name: str, problems: Problems) -> int | None:
    """After an array: where the next array starts (``cat a.json b.json``), else None;
    anything else there is lost data."""
    from noderr_deploy.health.losses import gzip_reason, unread_bytes

    pos = buf.skip_space(pos)
    if pos < len(buf.data):
        if buf.data[pos : pos + 1] == b"[":
            return pos
        problems.lose(
            name,
            buf.line_of(pos),
            "unexpected data after the JSON array",
            size=len(buf.data) - pos + unread_bytes(buf.stream),
        )
    elif buf.failure is not None:
        problems.lose(
            name, buf.line_of(pos), gzip_reason(buf.failure), size=unread_bytes(buf.stream)
        )
    return None
