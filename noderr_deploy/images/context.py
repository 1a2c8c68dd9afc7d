"""The build context of a tier image: the files its Dockerfile needs, at their workspace paths.

The context is assembled here, not by the Docker SDK (which applies ``.dockerignore`` only when it
builds the tar itself from a directory, and would send the whole workspace). It holds:

- the workspace's root files a tier needs (:data:`ROOT_FILES`: ``package.json``, the lock and
  workspace files, ``.npmrc``, ``tsconfig*.json``), not every root file: tiers.yaml, build
  outputs and logs written beside them would change the context on every run;
- ``packages/<name>/`` for each package of the tier (its dependency closure);
- what the Dockerfile copies by workspace path (``COPY docker/all/start.sh ...``) and what
  ``context.include`` names, at the same paths;
- the Dockerfile itself at its workspace path; a Dockerfile outside the workspace goes under
  ``.noderr/`` with the files beside it.

Every path passes the same rules: the workspace's ``.dockerignore`` (Docker's semantics) and
the never-sent rules of :mod:`noderr_deploy.images.secrets`. Directories (empty ones too)
and permission bits are kept as the docker CLI keeps them; owners are root and mtimes 0, so
an unchanged workspace gives the engine identical input and every layer cache hit.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from noderr_deploy.errors import ConfigError
from noderr_deploy.images.ignore import DockerIgnore, compile_pattern
from noderr_deploy.images.secrets import never_sent, never_sent_path, scan_registry_configs
from noderr_deploy.images.tarball import DOCKERFILE_DIR, BuildContext, ContextFile, Excluded

ROOT_FILES = (
    "package.json",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    ".npmrc",
    ".yarnrc.yml",
    "tsconfig*.json",
)

Readable = Callable[[Path], bool]


def _readable(path: Path) -> bool:
    return os.access(path, os.R_OK)


def _show(path: Path) -> str:
    return os.path.normpath(str(path))


def _unreadable(path: Path, exc: OSError | None = None) -> ConfigError:
    reason = (exc.strerror if exc is not None else None) or os.strerror(errno.EACCES)
    return ConfigError(f"{_show(path)}: cannot read: {reason} (it would be left out of the image)")


class _Assembly:
    """Collects members and exclusions, each path once, with every parent directory."""

    def __init__(self, workspace: Path, ignore: DockerIgnore, readable: Readable) -> None:
        self.workspace = workspace
        self.ignore = ignore
        self.readable = readable
        self.members: dict[str, ContextFile] = {}
        self.excluded: dict[str, Excluded] = {}

    def exclude(self, path: str, reason: str) -> None:
        self.excluded.setdefault(path, Excluded(path, reason))

    def add_parents(self, path: str, root: Path) -> None:
        """A directory member for every parent of ``path`` not added yet (from ``root``)."""
        parent = path.rpartition("/")[0]
        while parent and parent not in self.members:
            source = root / parent
            self.members[parent] = ContextFile(
                parent, source, 0, stat.S_IMODE(source.lstat().st_mode), is_dir=True
            )
            parent = parent.rpartition("/")[0]

    def add(self, path: str, source: Path) -> None:
        """Add the file, link or directory tree at ``source`` as ``path`` (rules applied).

        Iterative, not recursive: a hostile workspace nested 3,000 deep is walked too.
        """
        pending = [(path, source)]
        while pending:
            current, origin = pending.pop()
            pending.extend(self._one(current, origin))

    def _one(self, path: str, source: Path) -> list[tuple[str, Path]]:
        """Add one entry; return the children of a directory to add next."""
        try:
            info = source.lstat()
        except OSError as exc:
            raise _unreadable(source, exc) from None
        is_dir = stat.S_ISDIR(info.st_mode)
        reason = never_sent_path(path, is_dir=is_dir)
        # An ignored directory is still walked when an exception may re-include under it.
        descend = is_dir and self.ignore.has_exceptions
        if reason is None and not descend and self.ignore.excludes(path):
            reason = ".dockerignore"
        if reason is not None:
            self.exclude(path + ("/" if is_dir else ""), reason)
            return []
        if stat.S_ISLNK(info.st_mode):
            self._put(ContextFile(path, source, 0, 0o777, link=str(source.readlink())))
        elif stat.S_ISREG(info.st_mode):
            if not self.readable(source):
                raise _unreadable(source)
            self._put(ContextFile(path, source, info.st_size, stat.S_IMODE(info.st_mode)))
        elif is_dir:
            if not self.readable(source) or not os.access(source, os.X_OK):
                raise _unreadable(source)
            try:
                names = sorted(p.name for p in source.iterdir())
            except OSError as exc:
                raise _unreadable(source, exc) from None
            if not self.ignore.excludes(path):  # else kept only for what an exception re-includes
                self._put(ContextFile(path, source, 0, stat.S_IMODE(info.st_mode), is_dir=True))
            return [(f"{path}/{name}", source / name) for name in names]
        # sockets, fifos, devices: nothing a build can use, and the CLI skips them too
        return []

    def _put(self, member: ContextFile) -> None:
        self.add_parents(member.path, self.workspace)
        self.members[member.path] = member


def _inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` ('/'-separated), or None when it is outside."""
    relative = os.path.relpath(path.absolute(), root.absolute())
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return Path(relative).as_posix()


def _glob_matches(workspace: Path, pattern: str) -> list[str]:
    """Workspace paths matching an include glob (``.dockerignore`` syntax, ``**`` too)."""
    try:
        regex = compile_pattern(pattern)
    except re.error as exc:
        raise ConfigError(f"context.include {pattern!r}: not a pattern ({exc.msg})") from None
    found = []
    for dirpath, dirnames, filenames in os.walk(workspace):
        here = Path(dirpath)
        relative = here.relative_to(workspace).as_posix()
        base = "" if relative == "." else relative + "/"
        # Never descend into what is never sent: node_modules alone can be huge.
        dirnames[:] = sorted(d for d in dirnames if never_sent(d, is_dir=True) is None)
        for name in [*dirnames, *sorted(filenames)]:
            if regex.match(base + name):
                found.append(base + name)
    return found


def _through_link(workspace: Path, relative: str) -> str | None:
    """The first parent of ``relative`` that is a symbolic link (the build would leave the
    workspace through it), or None."""
    current = workspace
    parts = relative.split("/")[:-1]
    for depth, part in enumerate(parts, start=1):
        current = current / part
        if current.is_symlink():
            return "/".join(parts[:depth])
    return None


def assemble_context(
    workspace: Path,
    packages: Sequence[str],
    dockerfile: Path,
    *,
    include: Iterable[str] = (),
    copied: Iterable[str] = (),
    readable: Readable = _readable,
) -> BuildContext:
    """The context of an image holding ``packages`` of ``workspace``, built by ``dockerfile``.

    ``include`` are ``context.include`` entries (paths or globs relative to the workspace),
    ``copied`` the literal ``COPY``/``ADD`` sources of the Dockerfile. Raises
    :class:`ConfigError` (exit 2) naming a missing workspace, package directory or Dockerfile,
    an unreadable file or directory, or a registry settings file holding a token.
    """
    if not workspace.is_dir():
        raise ConfigError(f"workspace {_show(workspace)} not found (tiers.yaml key 'workspace')")
    if not dockerfile.is_file():
        raise ConfigError(f"Dockerfile {_show(dockerfile)} not found")
    missing = [
        f"{_show(workspace / 'packages' / name)}: no package.json"
        for name in packages
        if not (workspace / "packages" / name / "package.json").is_file()
    ]
    if missing:
        first = missing[0].rsplit(":", 1)[0]
        raise ConfigError(f"package directory {first} missing or incomplete", details=missing)
    ignore = DockerIgnore.read(workspace / ".dockerignore")
    assembly = _Assembly(workspace, ignore, readable)

    for entry in sorted(p.name for p in workspace.iterdir()):
        source = workspace / entry
        if source.is_dir() and not source.is_symlink():
            continue
        if any(_fnmatch(entry, pattern) for pattern in ROOT_FILES):
            assembly.add(entry, source)

    for name in packages:
        assembly.add(f"packages/{name}", workspace / "packages" / name)

    wanted: list[str] = []
    for entry in include:
        cleaned = posixpath.normpath(entry.strip().lstrip("/")) if entry.strip() else "."
        if cleaned == "." or cleaned.startswith(".."):
            raise ConfigError(
                f"context.include {entry!r}: give a path inside the workspace, not"
                f" {'the workspace itself' if cleaned == '.' else 'one outside it'}"
            )
        if any(c in cleaned for c in "*?["):
            wanted.extend(_glob_matches(workspace, cleaned))
        elif (workspace / cleaned).exists() or (workspace / cleaned).is_symlink():
            wanted.append(cleaned)
        else:
            raise ConfigError(
                f"context.include {entry!r}: {_show(workspace / cleaned)} does not exist"
            )
    for copy_source in copied:
        automatic = copy_source not in (".", "packages") and not copy_source.startswith(
            ("..", "packages/")
        )
        path_in_ws = workspace / copy_source
        if automatic and (path_in_ws.exists() or path_in_ws.is_symlink()):
            wanted.append(copy_source)
    for relative in wanted:
        link = _through_link(workspace, relative)
        if link is not None:
            raise ConfigError(
                f"{_show(workspace / relative)}: reached through the symbolic link"
                f" {_show(workspace / link)}; name the path it points to instead"
            )
        assembly.add(relative, workspace / relative)

    inside = _inside(dockerfile, workspace)
    if inside is not None:
        # The builder always needs the Dockerfile, as `docker build` always sends it.
        path = inside
        assembly.add_parents(path, workspace)
        assembly.members[path] = ContextFile(
            path, dockerfile, dockerfile.stat().st_size, stat.S_IMODE(dockerfile.stat().st_mode)
        )
    else:
        path = f"{DOCKERFILE_DIR}/{dockerfile.name}"
        _add_outside(assembly, dockerfile, path)

    members = tuple(sorted(assembly.members.values(), key=lambda m: m.path))
    tokens = scan_registry_configs(
        (m.path, m.source) for m in members if not m.is_dir and m.link is None
    )
    if tokens:
        lines = [
            f"{_show(_source_of(members, t.path))}:{t.line}: {t.key} holds a credential"
            for t in tokens
        ]
        raise ConfigError(
            f"{lines[0].rsplit(': ', 1)[0]}: a registry credential would be sent to the engine"
            " and could end in an image layer: remove it (use ${NPM_TOKEN} and pass the token"
            " at run time) or list the file in .dockerignore",
            details=lines,
        )
    excluded = tuple(sorted(assembly.excluded.values(), key=lambda e: e.path))
    return BuildContext(members, excluded, path)


def _source_of(members: Sequence[ContextFile], path: str) -> Path:
    return next(m.source for m in members if m.path == path)


def _add_outside(assembly: _Assembly, dockerfile: Path, path: str) -> None:
    """A Dockerfile outside the workspace, under ``.noderr/``, with the files beside it."""
    directory = dockerfile.parent
    assembly.members[DOCKERFILE_DIR] = ContextFile(
        DOCKERFILE_DIR, directory, 0, stat.S_IMODE(directory.stat().st_mode), is_dir=True
    )
    assembly.members[path] = ContextFile(
        path, dockerfile, dockerfile.stat().st_size, stat.S_IMODE(dockerfile.stat().st_mode)
    )
    for name in sorted(p.name for p in directory.iterdir()):
        source = directory / name
        if source == dockerfile or not source.is_file() or source.is_symlink():
            continue
        sibling = f"{DOCKERFILE_DIR}/{name}"
        reason = never_sent(name)
        # The workspace's .dockerignore, read as if the Dockerfile's folder were the root too.
        if reason is None and (assembly.ignore.excludes(sibling) or assembly.ignore.excludes(name)):
            reason = ".dockerignore"
        if reason is not None:
            assembly.exclude(sibling, reason)
            continue
        if not assembly.readable(source):
            raise _unreadable(source)
        info = source.stat()
        assembly.members[sibling] = ContextFile(
            sibling, source, info.st_size, stat.S_IMODE(info.st_mode)
        )


def _fnmatch(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)
