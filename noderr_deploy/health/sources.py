"""Which files to read, and which reader each one needs.

The format comes from the extension (``.jsonl``/``.ndjson``, ``.json``, ``.csv``, each
optionally ``.gz``), else from the content: gzip by its magic bytes, then ``[`` is a
JSON array, ``{`` JSON Lines, anything else CSV. Every reader streams: it holds one chunk
(or one record) at a time, feeds valid records to a
:class:`~noderr_deploy.health.latest.Latest`, and every malformed record to
:class:`~noderr_deploy.health.problems.Problems` as ``file:line: reason``.

Directories are read recursively, in name order, following symbolic links to
sub-directories (a link back to a directory already being read is not followed again).
Inside a directory, entries whose name starts with ``.`` are hidden and left out (editor
swap files, ``.DS_Store``, ``.git``); a hidden file given by name is read. Anything that
cannot be read (a file or sub-directory without permission, a broken link, a socket) is
an error naming it, never skipped. The same file reached twice (given twice, or through
a link) is read once, with a warning. FIFOs and character devices (process substitution,
``/dev/stdin``) are read serially, as stdin is.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noderr_deploy.errors import InputError, closed_stdin
from noderr_deploy.health.decode import BOM
from noderr_deploy.health.jsonl import read_lines
from noderr_deploy.health.latest import Latest
from noderr_deploy.health.losses import lose_rest, unread_bytes
from noderr_deploy.health.problems import Problems
from noderr_deploy.health.sizes import ReadSizes
from noderr_deploy.redact import mask_credentials

STDIN = "-"
STDIN_NAME = "<stdin>"


@dataclass
class Sources:
    """The inputs to read, in order, and what was noticed finding them."""

    paths: list[str | Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [STDIN_NAME if p == STDIN else str(p) for p in self.paths]


def expand(paths: Sequence[str | Path]) -> Sources:
    """Files to read in order (see the module's doc for directories, links and hidden
    files); ``-`` is stdin."""
    if not paths:
        raise InputError("no health export given (pass files, directories or - for stdin)")
    found = Sources()
    seen: dict[tuple[int, int], Path] = {}
    for raw in paths:
        if str(raw) == STDIN:
            if STDIN in found.paths:
                raise InputError("stdin (-) given more than once")
            found.paths.append(STDIN)
            continue
        path = Path(raw)
        info = _stat(path)
        if stat.S_ISDIR(info.st_mode):
            files = _walk(path)
            if not files:
                raise InputError(f"{path}: directory holds no files")
            for file, file_info in files:
                _add(found, seen, file, file_info)
        elif stat.S_ISREG(info.st_mode):
            _add(found, seen, path, info)
        elif stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
            found.paths.append(path)  # a pipe is read once, whatever it is called
        else:
            raise InputError(
                f"{mask_credentials(str(path))}: not a regular file, directory or pipe"
            )
    return found


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(f"{mask_credentials(str(path))}: broken symbolic link") from None
        raise InputError(f"{mask_credentials(str(path))}: no such file or directory") from None
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _add(
    found: Sources, seen: dict[tuple[int, int], Path], path: Path, info: os.stat_result
) -> None:
    key = (info.st_dev, info.st_ino)
    first = seen.get(key)
    if first is not None:
        found.warnings.append(f"{path}: the same file as {first}: read once")
        return
    seen[key] = path
    found.paths.append(path)


def _walk(top: Path) -> list[tuple[Path, os.stat_result]]:
    """Every regular file under ``top``, by name, links to sub-directories followed once."""
    out: list[tuple[Path, os.stat_result]] = []
    visiting: set[tuple[int, int]] = set()

    def visit(folder: Path, info: os.stat_result) -> None:
        key = (info.st_dev, info.st_ino)
        if key in visiting:  # a link back to a folder being read: a loop
            return
        visiting.add(key)
        try:
            names = sorted(entry.name for entry in folder.iterdir())
        except OSError as exc:
            raise unreadable(folder, exc) from exc
        for name in names:
            if name.startswith("."):
                continue  # hidden (see the module's doc)
            entry = folder / name
            entry_info = _stat(entry)
            if stat.S_ISDIR(entry_info.st_mode):
                visit(entry, entry_info)
            elif stat.S_ISREG(entry_info.st_mode):
                out.append((entry, entry_info))
            else:
                raise InputError(f"{entry}: not a regular file or directory")
        visiting.discard(key)

    visit(top, _stat(top))
    return out


def unreadable(path: Path, exc: OSError) -> InputError:
    return InputError(f"{mask_credentials(str(path))}: cannot read: {exc.strerror or exc}")


def read_source(
    source: str | Path,
    latest: Latest,
    problems: Problems,
    *,
    sizes: ReadSizes,
    stdin: Any = None,
) -> None:
    """Read one file (or stdin) in this process into ``latest``; malformed records and lost
    data go to ``problems``."""
    if source == STDIN:
        if stdin is None:
            raise closed_stdin()
        _read_stream(_buffered(stdin), STDIN_NAME, "", latest, problems, sizes=sizes)
        return
    path = Path(source)
    try:
        with path.open("rb") as stream:
            _read_stream(stream, str(path), path.name, latest, problems, sizes=sizes)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def parallel_size(source: str | Path, sizes: ReadSizes) -> int:
    """The size of ``source`` if it may be shared between processes, else 0: a regular
    plain (not gzipped) JSON Lines file of at least ``sizes.parallel_min`` bytes that does
    not start as an array or a pretty-printed record (the serial reader reports those)."""
    if source == STDIN:
        return 0
    path = Path(source)
    if _format_by_name(path.name) != "lines":
        return 0
    try:
        with path.open("rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size < sizes.parallel_min:
                return 0
            head = stream.peek(sizes.chunk)[: sizes.chunk].removeprefix(BOM)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    first = head.lstrip().split(b"\n", 1)[0].strip()
    if head[:2] == b"\x1f\x8b" or (_opens_array(first) and first.startswith(b"[")) or first == b"{":
        return 0
    return info.st_size


def _buffered(raw: Any) -> io.BufferedReader:
    if isinstance(raw, io.BufferedReader):
        return raw
    return io.BufferedReader(raw)


def _format_by_name(filename: str) -> str | None:
    lower = filename.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    if lower.endswith((".jsonl", ".ndjson")):
        return "lines"
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".json"):
        return "json"  # an array, or JSON Lines when it starts with "{"
    return None


def _read_stream(
    raw: io.BufferedReader,
    name: str,
    filename: str,
    latest: Latest,
    problems: Problems,
    *,
    sizes: ReadSizes,
) -> None:
    stream: Any = raw
    if raw.peek(2)[:2] == b"\x1f\x8b":
        # Read with read1() below: a truncated gzip then still yields everything
        # before the cut, where read(n) would drop the last partial buffer.
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    try:
        head = stream.peek(3)[:3]
    except (EOFError, OSError, zlib.error) as exc:
        lose_rest(problems, name, 1, exc, stream)
        return
    if head == BOM:
        stream.read(3)
    kind = _format_by_name(filename)
    first = _first_line(stream, sizes.chunk)
    if kind != "csv":
        start = first.lstrip()[:1]
        if start == b"[" and (kind != "lines" or _opens_array(first)):
            kind = "array"  # whatever the name says: the content is an array of records
        elif kind is None:
            kind = "lines" if start in (b"{", b"") else "csv"
        else:
            kind = "lines"
    if kind == "lines" and first.strip() == b"{":
        problems.lose(
            name,
            1,
            "this is not JSON Lines: a record spreads over several lines (pretty-printed"
            " JSON?); export one record per line, or a JSON array (.json)",
            size=unread_bytes(stream) or len(first),
        )
        return
    if kind == "lines":
        read_lines(
            stream, name, latest, problems, chunk_size=sizes.chunk, cr_lines=_cr_only(stream)
        )
    elif kind == "array":
        from noderr_deploy.health.array import read_array

        read_array(stream, name, latest, problems, chunk_size=sizes.chunk)
    else:
        from noderr_deploy.health.csvfile import read_csv

        read_csv(stream, name, latest, problems)


def _opens_array(first: bytes) -> bool:
    """Whether a first line opens an array of records (``[`` alone, as pretty-printed, or
    ``[{``), not a line that is itself a malformed record such as ``[]``."""
    rest = first.strip()[1:].lstrip()
    return not rest or rest.startswith(b"{")


def _cr_only(stream: Any) -> bool:
    """Whether the lines end with CR alone (old Mac line endings): the start of the file
    has CRs and no LF."""
    try:
        head: bytes = stream.peek(1)
    except (EOFError, OSError, zlib.error):
        return False
    return b"\r" in head and b"\n" not in head


def _first_line(stream: Any, chunk: int) -> bytes:
    """The start of the first line that is not blank (as much of it as a chunk holds)."""
    try:
        head: bytes = stream.peek(chunk)
    except (EOFError, OSError, zlib.error):
        return b""
    stripped = head.lstrip()
    return stripped.split(b"\n", 1)[0]
