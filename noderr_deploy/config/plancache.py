"""The rollout plan a tiers.yaml sets, remembered between runs.

``noderr cohort <id>`` is a command people and scripts run thousands of times, and
reading its plan from tiers.yaml costs more than the rest of the command: importing and
running the YAML parser is about a quarter of the run (``benchmarks/startup.py``). So the
values the ``rollout`` section sets are kept in a small file in the user's cache
directory (:meth:`noderr_deploy.environment.Environment.cache_dir`), one per tiers.yaml
path, with the Keccak-256 of the bytes they were read from and the version of this
package. A run whose tiers.yaml has exactly those bytes uses them without parsing.

What an entry may hold is limited on purpose: the three numbers of the plan, never the
file or anything else from it (a tiers.yaml may hold credentials). An entry is trusted no
more than the file: anything that is not exactly the format below, or whose plan the
rules refuse, is ignored and the file is read again. Only a section the fast reader
accepted is remembered; a file with a problem is read (and its error reported) every run.
Failing to read or write the cache never fails the command.

An entry (text, one ``key=value`` per line)::

    noderr-deploy plan 1 <package version>
    source=<keccak-256 of tiers.yaml's bytes, hex>
    canary_percentage=5
    cohort_delay_hours=24.0
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from noderr_deploy import __version__
from noderr_deploy.cohorts import PLAN_KEYS, RolloutPlan, plan_problems
from noderr_deploy.keccak import keccak256

PlanValues = dict[str, int | float]

HEADER = f"noderr-deploy plan 1 {__version__}"

MAX_ENTRY = 1024
"""Bytes of an entry read at most: a real one is about 150."""


Read = Callable[[Path, bytes], tuple[PlanValues, bool]]
"""Reads the rollout values of a file from its bytes: the values, and whether they came
from exactly those bytes (:func:`noderr_deploy.config.sections.rollout_of_bytes`)."""


def remembered_rollout(path: Path, cache_dir: Path | None, read: Read) -> PlanValues:
    """The rollout values ``path`` sets: remembered for its exact bytes, else read from
    those bytes (then remembered). The file is read once: what is parsed is what is hashed,
    however the file changes meanwhile. ``cache_dir`` None: no cache."""
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if cache_dir is None or data is None:  # (a file that does not read: the reader says so)
        return read(path, data or b"")[0]
    source = keccak256(data).hex()
    entry = cache_dir / "plans" / keccak256(os.fsencode(path.resolve())).hex()[:32]
    values = _load(entry, source)
    if values is not None:
        return values
    values, exact = read(path, data)
    if exact:
        _store(entry, source, values)
    return values


def _load(entry: Path, source: str) -> PlanValues | None:
    try:
        # Never blocks (a FIFO put there) and reads only a regular file.
        fd = os.open(entry, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, MAX_ENTRY + 1).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)
    lines = text.split("\n")
    if len(text) > MAX_ENTRY or lines[:2] != [HEADER, f"source={source}"] or lines[-1] != "":
        return None
    values: PlanValues = {}
    for line in lines[2:-1]:
        key, _, value = line.partition("=")
        if key not in PLAN_KEYS or key in values:
            return None
        number = _number(key, value)
        if number is None:
            return None
        values[key] = number
    plan = {key: getattr(RolloutPlan(), key) for key in PLAN_KEYS} | values
    problems = plan_problems(
        int(plan["canary_percentage"]),
        int(plan["cohort_percentage"]),
        float(plan["cohort_delay_hours"]),
    )
    return None if problems else values


def _number(key: str, text: str) -> int | float | None:
    """The value as the reader gives it: an int percentage, a float delay (as ``repr``
    writes it); None for anything else."""
    if not text.isascii():
        return None
    try:
        if key == "cohort_delay_hours":
            delay = float(text)
            return delay if repr(delay) == text else None
        number = int(text)
        return number if str(number) == text else None
    except ValueError:
        return None


def _store(entry: Path, source: str, values: PlanValues) -> None:
    lines = [HEADER, f"source={source}"]
    for key, value in values.items():
        if key not in PLAN_KEYS or _number(key, repr(value)) != value:
            return  # not a value an entry can hold exactly: nothing is remembered
        lines.append(f"{key}={value!r}")
    text = "\n".join(lines) + "\n"
    temporary = entry.with_name(f".{entry.name}.{os.getpid()}")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created here and now (O_EXCL): never through a link or a FIFO planted at its name.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        temporary.replace(entry)  # a reader sees the old entry or the new one, whole
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
