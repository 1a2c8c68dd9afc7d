"""What can be told of a JSON record from its text, without decoding it into a report:
how deeply it nests, whether it is UTF-8, and whether a field a report is read from
stands twice (:mod:`noderr_deploy.health.decode` asks before or after a bulk decode,
:mod:`noderr_deploy.health.record` after decoding one record)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate
from operator import attrgetter

from noderr_deploy.health.report import HealthReport

# The keys of a record (as JSON spells them) and how to tell, from a decoded record,
# whether it had one: a key standing more often in the text than in the records is there
# twice somewhere (or inside a string, or set to null: then the exact check below runs).
# msgspec, like json, keeps the last of duplicated keys, and a second "metrics" or
# "timestamp" could turn an unhealthy report into a healthy one.
_REQUIRED_KEYS = (b'"nodeId"', b'"version"', b'"timestamp"')
_OPTIONAL_KEYS = (
    (b'"metrics"', None),
    (b'"healthStatus"', attrgetter("health_status")),
    (b'"uptime"', attrgetter("metrics.uptime")),
    (b'"cpu"', attrgetter("metrics.cpu")),
    (b'"memory"', attrgetter("metrics.memory")),
    (b'"errors"', attrgetter("metrics.errors")),
)


def maybe_duplicated(text: bytes, reports: list[HealthReport]) -> bool:
    """Whether ``text`` (holding ``reports``) may hold a record with a key twice. Keys are
    counted as they are spelled: a ``\\u`` escape can spell one (``"error\\u0073"``) that
    no count sees, so text holding one is always checked exactly."""
    if b"\\u" in text:
        return True
    n = len(reports)
    for key in _REQUIRED_KEYS:
        if text.count(key) > n:
            return True
    for key, present in _OPTIONAL_KEYS:
        found = text.count(key)
        if not found:
            continue
        if present is None:
            # "metrics": absent and {} decode alike, so only a report holding some metric
            # certainly had the key; more copies of it than those is a key twice somewhere
            # (a record with it twice beside one without it made exactly n).
            if found > n - list(map(_no_metric, reports)).count(True):
                return True
            continue
        if found > n - list(map(present, reports)).count(None):
            return True
    return False


def _no_metric(report: HealthReport) -> bool:
    m = report.metrics
    return m.uptime is None and m.cpu is None and m.memory is None and m.errors is None


_FIELDS = frozenset({"nodeId", "version", "metrics", "timestamp", "healthStatus"})
_METRICS = frozenset({"uptime", "cpu", "memory", "errors"})


def duplicate_key(raw: bytes) -> str | None:
    """The first field of a report that stands twice in ``raw`` (a JSON record), or None.

    Only the fields a report is read from count (at the top, and inside ``metrics``):
    JSON leaves it open which copy of a key twice wins, and that choice could turn an
    unhealthy report into a healthy one. Any other field is ignored, however often it
    stands, so that whether a record is kept never depends on anything that changes
    nothing (nor on the records around it: the bulk paths count only these keys too).
    """
    try:
        try:
            document = json.loads(raw, object_pairs_hook=_Pairs, parse_int=str, parse_float=str)
        except RecursionError:  # json's bound depends on the stack: ours is MAX_DEPTH
            if too_deep(raw):
                return None
            with room_to_nest():
                document = json.loads(raw, object_pairs_hook=_Pairs, parse_int=str, parse_float=str)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, _Pairs):  # not an object (never a report)
        return None
    twice = _first_twice(document, _FIELDS)
    if twice is not None:
        return twice
    for key, value in document:
        if key == "metrics" and isinstance(value, _Pairs):
            return _first_twice(value, _METRICS)
    return None


class _Pairs(list[tuple[str, object]]):
    """A JSON object's members in order, as ``json`` gives them to a hook (told apart
    from a JSON array, which is a plain list)."""


def _first_twice(pairs: list[tuple[str, object]], names: frozenset[str]) -> str | None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in names:
            if key in seen:
                return key
            seen.add(key)
    return None


MAX_DEPTH = 1000
"""The deepest nesting a record may have, the record itself being level 1 (in a JSON
array file too: the array around the records is not counted). msgspec and json count
nesting against the interpreter's recursion budget, so their own bound depends on how
deep the caller's stack is: a record they refuse is measured (:func:`nesting`) and, when
within this bound, decoded again with room to spare (:func:`room_to_nest`)."""

TOO_DEEP = f"bad JSON: nested too deeply (more than {MAX_DEPTH} levels)"

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")  # depth does not depend on the kind
_STEP = [0] * 256
_STEP[ord("[")] = 1
_STEP[ord("]")] = -1


def nesting(raw: bytes) -> int:
    """How deeply the JSON text ``raw`` nests (``{}`` is 1; brackets in strings do not
    count), in bulk: strings and all but brackets dropped, then each pass of
    ``replace(b"[]", b"")`` removes the innermost level everywhere (one level, as the pairs
    it makes are not removed by the same pass), and what is left is walked bracket by
    bracket. A long line with a few deep parts costs a few passes, not a Python step per
    character."""
    # Without a backslash no quote is escaped: strings are every other piece between quotes.
    text = _STRING.sub(b"", raw) if b"\\" in raw else b"".join(raw.split(b'"')[::2])
    brackets = text.translate(_ONE_KIND, _NOT_BRACKETS)
    passes = 0
    while len(brackets) > 4096 and passes <= MAX_DEPTH:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):  # not balanced: walk what is left
            break
        brackets, passes = shorter, passes + 1
    return passes + max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` nests deeper than :data:`MAX_DEPTH`."""
    if raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:  # not even that many brackets
        return False
    return nesting(raw) > MAX_DEPTH


@contextmanager
def room_to_nest() -> Iterator[None]:
    """Room on the recursion budget for :data:`MAX_DEPTH` levels from here, whatever the
    depth of the stack (a C decoder's levels cost no Python stack)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + MAX_DEPTH + 64)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 (checked in bulk; ASCII, the usual case, at once)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
