"""A build context as the engine receives it: its members, and the deterministic tar of them.

Owners are root and mtimes 0, so an unchanged workspace gives identical bytes; the size is
known from the headers alone (no file read), and a file that changed or cannot be read when
the tar is written is an error naming it, never a context sent with a file missing.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from noderr_deploy.errors import ConfigError

DOCKERFILE_DIR = ".noderr"
_RECORD = tarfile.RECORDSIZE
_BLOCK = tarfile.BLOCKSIZE


def _show(path: Path) -> str:
    return os.path.normpath(str(path))


@dataclass(frozen=True)
class ContextFile:
    """One member of the context tar: a file, a directory or a symbolic link."""

    path: str
    """Its path inside the tar ('/'-separated)."""
    source: Path
    size: int
    mode: int = 0o644
    """Permission bits (and setuid/setgid/sticky), as the docker CLI sends them."""
    link: str | None = None
    """The target, when the member is a symbolic link."""
    is_dir: bool = False

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111) and not self.is_dir

    def tarinfo(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.path)
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = self.mode
        if self.link is not None:
            info.type = tarfile.SYMTYPE
            info.linkname = self.link
        elif self.is_dir:
            info.type = tarfile.DIRTYPE
        else:
            info.size = self.size
        return info


@dataclass(frozen=True)
class Excluded:
    """A file or directory of the workspace left out of the context, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class BuildContext:
    """What will be sent to the engine for one tier."""

    members: tuple[ContextFile, ...]
    excluded: tuple[Excluded, ...] = ()
    dockerfile: str = f"{DOCKERFILE_DIR}/Dockerfile"
    """The Dockerfile's path inside the tar."""
    _size: list[int] = field(default_factory=list, compare=False, repr=False)

    @property
    def files(self) -> tuple[ContextFile, ...]:
        """The members that are not directories."""
        return tuple(m for m in self.members if not m.is_dir)

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def paths(self) -> list[str]:
        """The paths of the files and links (directories left out)."""
        return [f.path for f in self.files]

    @property
    def all_paths(self) -> frozenset[str]:
        return frozenset(m.path for m in self.members)

    def excluded_reason(self, path: str) -> str | None:
        """Why ``path`` (or a directory above it) was left out, if it was."""
        for entry in self.excluded:
            stem = entry.path.rstrip("/")
            if path == stem or path.startswith(stem + "/"):
                return entry.reason
        return None

    @property
    def tar_bytes(self) -> int:
        """Size of the uncompressed tar stream, from the headers alone: no file is read."""
        if not self._size:
            total = 0
            for member in self.members:
                header = member.tarinfo().tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
                total += len(header)
                if member.link is None and not member.is_dir:
                    total += -(-member.size // _BLOCK) * _BLOCK
            total += 2 * _BLOCK  # the end-of-archive blocks
            self._size.append(-(-total // _RECORD) * _RECORD)
        return self._size[0]

    def write(self, fileobj: IO[bytes] | None = None) -> int:
        """Write the deterministic tar stream to ``fileobj``; return the bytes written.

        A file that cannot be read now (or changed size since the context was assembled) is
        :class:`ConfigError` naming it: a context is never sent with a file missing.
        """
        sink = _Counter(fileobj)
        with tarfile.open(  # type: ignore[call-overload]
            fileobj=sink, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8"
        ) as tar:
            for member in self.members:
                info = member.tarinfo()
                if member.link is not None or member.is_dir:
                    tar.addfile(info)
                    continue
                try:
                    with member.source.open("rb") as handle:
                        if os.fstat(handle.fileno()).st_size != member.size:
                            raise ConfigError(
                                f"{_show(member.source)}: changed while the context was sent"
                            )
                        tar.addfile(info, handle)
                except OSError as exc:
                    raise ConfigError(
                        f"{_show(member.source)}: cannot read: {exc.strerror or exc}"
                    ) from None
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
