"""The build context of a tier image: exactly the files its Dockerfile needs, as a tar stream.

The context is assembled here, not by the Docker SDK (which applies ``.dockerignore`` only when it
builds the tar itself from a directory, and would send the whole workspace):

- the workspace's root files (``package.json``, the lock file, ``pnpm-workspace.yaml``,
  ``tsconfig.base.json`` ...), not its root directories;
- ``packages/<name>/`` for each of the tier's resolved packages, and no other package;
- the Dockerfile as ``.noderr/Dockerfile``, with the files beside it (its helper scripts) under
  ``.noderr/``.

The workspace's ``.dockerignore`` is honoured with Docker's semantics (last matching pattern
wins, ``!`` re-includes, ``**`` spans directories, a pattern matching a directory excludes what
is under it). Whatever it says, ``.git/``, ``node_modules/``, ``.env*`` and key files are never
sent. The tar is deterministic (sorted, mtime 0, owner root), so an unchanged workspace gives
the engine identical input and every layer cache hit.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from noderr_deploy.errors import ConfigError

DOCKERFILE_DIR = ".noderr"
DOCKERFILE_PATH = f"{DOCKERFILE_DIR}/Dockerfile"
NEVER_SENT_DIRS = frozenset({".git", "node_modules"})
# Secrets that must never reach an engine (or an image layer), whatever .dockerignore says.
NEVER_SENT_NAMES = (
    ".env*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
)


def never_sent(name: str) -> str | None:
    """Why a file or directory named ``name`` is never sent, or None."""
    if name in NEVER_SENT_DIRS:
        return f"{name}/ is never sent"
    for pattern in NEVER_SENT_NAMES:
        if fnmatch.fnmatchcase(name, pattern):
            return f"matches {pattern} (secrets are never sent)"
    return None


# -- .dockerignore -------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    """One .dockerignore line, compiled as moby's patternmatcher does."""

    text: str
    exclusion: bool
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    regex = "^"
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if in_class:
            # Character classes pass through, as in Go's filepath.Match ("[a-c]", "[^/]").
            regex += ch
            in_class = ch != "]"
        elif ch == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    i += 1  # "**/" is "**": it may match no directory at all
                regex += ".*" if i >= len(pattern) else "(.*/)?"
                continue
            regex += "[^/]*"
        elif ch == "?":
            regex += "[^/]"
        elif ch == "\\":
            i += 1
            regex += re.escape(pattern[i]) if i < len(pattern) else r"\\"
        elif ch == "[":
            regex += ch
            in_class = True
        else:
            regex += re.escape(ch)
        i += 1
    return re.compile(regex + "$")


def parse_dockerignore(text: str) -> list[IgnorePattern]:
    """Patterns of a .dockerignore, cleaned as ``docker build`` cleans them."""
    patterns = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if not line:
            continue
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/") or "/"
        try:
            regex = _compile(line)
        except re.error:
            continue  # docker rejects the file; a broken line must not widen the context
        patterns.append(IgnorePattern(("!" if exclusion else "") + line, exclusion, regex))
    return patterns


@dataclass(frozen=True)
class DockerIgnore:
    """A .dockerignore's patterns; :meth:`excludes` answers as Docker's builder does."""

    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        return cls(tuple(parse_dockerignore(text)))

    @property
    def has_exceptions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excludes(self, path: str) -> bool:
        """True when ``path`` (relative, '/'-separated) or one of its parents is ignored."""
        matched = False
        parents = path.split("/")[:-1]
        for pattern in self.patterns:
            # An exception can only re-include what is excluded, and vice versa.
            if pattern.exclusion != matched:
                continue
            match = pattern.regex.match(path) is not None
            if not match:
                for depth in range(1, len(parents) + 1):
                    if pattern.regex.match("/".join(parents[:depth])):
                        match = True
                        break
            if match:
                matched = not pattern.exclusion
        return matched


# -- the context ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextFile:
    """One member of the context tar."""

    path: str
    """Its path inside the tar ('/'-separated)."""
    source: Path
    size: int
    executable: bool = False
    link: str | None = None
    """The target, when the member is a symbolic link."""


@dataclass(frozen=True)
class Excluded:
    """A file or directory of the workspace left out of the context, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class BuildContext:
    """What will be sent to the engine for one tier."""

    files: tuple[ContextFile, ...]
    excluded: tuple[Excluded, ...] = ()
    dockerfile: str = DOCKERFILE_PATH
    _size: list[int] = field(default_factory=list, compare=False, repr=False)

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    @property
    def tar_bytes(self) -> int:
        """Size of the uncompressed tar stream, i.e. the bytes sent to the engine."""
        if not self._size:
            self._size.append(self.write())
        return self._size[0]

    def write(self, fileobj: IO[bytes] | None = None) -> int:
        """Write the deterministic tar stream to ``fileobj``; return the bytes written."""
        sink = _Counter(fileobj)
        with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for member in self.files:
                info = tarfile.TarInfo(member.path)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if member.link is not None:
                    info.type = tarfile.SYMTYPE
                    info.linkname = member.link
                    info.mode = 0o777
                    tar.addfile(info)
                    continue
                info.mode = 0o755 if member.executable else 0o644
                info.size = member.size
                with member.source.open("rb") as handle:
                    tar.addfile(info, handle)
        return sink.count


class _Counter:
    """Counts the bytes written, passing them on to ``target`` if there is one."""

    def __init__(self, target: IO[bytes] | None) -> None:
        self.target = target
        self.count = 0

    def write(self, data: bytes) -> int:
        if self.target is not None:
            self.target.write(data)
        self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()


def _member(path: str, source: Path) -> ContextFile | None:
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        return ContextFile(path, source, 0, link=str(source.readlink()))
    if not stat.S_ISREG(info.st_mode):
        return None  # sockets, fifos, devices: nothing a build can use
    return ContextFile(path, source, info.st_size, bool(info.st_mode & 0o111))


def _walk(root: Path, prefix: str, ignore: DockerIgnore) -> Iterable[ContextFile | Excluded]:
    """Members under ``root`` at ``prefix`` in the tar, minus never-sent and ignored paths."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        relative = here.relative_to(root).as_posix()
        base = prefix if relative == "." else f"{prefix}/{relative}"
        kept = []
        for name in sorted(dirnames):
            path = f"{base}/{name}"
            reason = never_sent(name)
            if reason is None and (here / name).is_symlink():
                member = _member(path, here / name)
                if member is not None and not ignore.excludes(path):
                    yield member
                continue
            if reason is None and ignore.excludes(path) and not ignore.has_exceptions:
                reason = ".dockerignore"
            if reason is not None:
                yield Excluded(path + "/", reason)
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = f"{base}/{name}"
            reason = never_sent(name)
            if reason is None and ignore.excludes(path):
                reason = ".dockerignore"
            if reason is not None:
                yield Excluded(path, reason)
                continue
            member = _member(path, here / name)
            if member is not None:
                yield member


def assemble_context(workspace: Path, packages: Sequence[str], dockerfile: Path) -> BuildContext:
    """The context of an image holding ``packages`` of ``workspace``, built by ``dockerfile``.

    Raises :class:`ConfigError` (exit 2) naming a missing workspace, package directory or
    Dockerfile.
    """
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} not found (tiers.yaml key 'workspace')")
    if not dockerfile.is_file():
        raise ConfigError(f"Dockerfile {dockerfile} not found")
    missing = [
        f"{workspace / 'packages' / name}: no package.json"
        for name in packages
        if not (workspace / "packages" / name / "package.json").is_file()
    ]
    if missing:
        first = missing[0].split(":")[0]
        raise ConfigError(f"package directory {first} missing or incomplete", details=missing)
    ignore = DockerIgnore.read(workspace / ".dockerignore")
    files: list[ContextFile] = []
    excluded: list[Excluded] = []

    for entry in sorted(workspace.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and not entry.is_symlink():
            continue  # root directories are not part of a tier's context, packages/ aside
        reason = never_sent(entry.name)
        if reason is None and ignore.excludes(entry.name):
            reason = ".dockerignore"
        if reason is not None:
            excluded.append(Excluded(entry.name, reason))
            continue
        member = _member(entry.name, entry)
        if member is not None:
            files.append(member)

    for name in packages:
        for item in _walk(workspace / "packages" / name, f"packages/{name}", ignore):
            (files if isinstance(item, ContextFile) else excluded).append(item)  # type: ignore[arg-type]

    # The Dockerfile and its helper scripts: ours, so .dockerignore does not apply to them.
    files.append(ContextFile(DOCKERFILE_PATH, dockerfile, dockerfile.stat().st_size))
    for entry in sorted(dockerfile.parent.iterdir(), key=lambda p: p.name):
        if entry == dockerfile or not entry.is_file():
            continue
        path = f"{DOCKERFILE_DIR}/{entry.name}"
        reason = never_sent(entry.name)
        if reason is not None:
            excluded.append(Excluded(path, reason))
            continue
        member = _member(path, entry)
        if member is not None:
            files.append(member)

    files.sort(key=lambda f: f.path)
    return BuildContext(tuple(files), tuple(excluded))
