"""The workspace dependencies of a tier's packages: the closure of their ``workspace:`` links.

A package of the pnpm monorepo names another through ``"@noderr/core": "workspace:*"`` in its
package.json. The tier's context must hold every package so reached, or the image's
``pnpm install`` fails. Only the ``workspace:`` protocol counts: other ranges come from the
registry. ``package.json`` is untrusted text: a broken one is a problem, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEPENDENCY_FIELDS = ("dependencies", "optionalDependencies")
DEV_FIELD = "devDependencies"
_MAX_PACKAGE_JSON = 1 << 20  # bytes; a package.json is a few kB


@dataclass(frozen=True)
class Closure:
    """Declared packages, then the workspace packages they pull in (sorted)."""

    packages: tuple[str, ...]
    dependency_of: dict[str, str] = field(default_factory=dict)
    """Each pulled-in package -> the package whose package.json named it."""
    problems: tuple[str, ...] = ()
    """A ``workspace:`` dependency outside the workspace, or an unreadable package.json."""


def _read_json(path: Path) -> tuple[dict[str, object] | None, str | None]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_PACKAGE_JSON + 1)
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror or exc}"
    if len(raw) > _MAX_PACKAGE_JSON:
        return None, f"{path}: larger than {_MAX_PACKAGE_JSON} bytes"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"{path}: not valid JSON: {str(exc)[:200]}"
    return (data, None) if isinstance(data, dict) else (None, f"{path}: not a JSON object")


def _index(packages_dir: Path) -> dict[str, str]:
    """package.json ``name`` -> directory name, for every package of the workspace."""
    names: dict[str, str] = {}
    try:
        entries = sorted(p for p in packages_dir.iterdir() if p.is_dir())
    except OSError:
        return names
    for directory in entries:
        data, _ = _read_json(directory / "package.json")
        name = data.get("name") if data else None
        if isinstance(name, str):
            names.setdefault(name, directory.name)
    return names


def dependency_closure(
    workspace: Path, declared: Sequence[str], *, dev_dependencies: bool = False
) -> Closure:
    """The closure of ``declared`` (directory names under ``workspace/packages``) over their
    ``workspace:`` dependencies, breadth first so ``dependency_of`` names the nearest one."""
    packages_dir = workspace / "packages"
    fields = (*DEPENDENCY_FIELDS, DEV_FIELD) if dev_dependencies else DEPENDENCY_FIELDS
    index: dict[str, str] | None = None
    seen = dict.fromkeys(declared)
    dependency_of: dict[str, str] = {}
    problems: list[str] = []
    queue = list(declared)
    while queue:
        package = queue.pop(0)
        path = packages_dir / package / "package.json"
        if not path.is_file():
            continue  # a missing declared package is check_workspace's message
        data, problem = _read_json(path)
        if problem:
            problems.append(problem)
            continue
        assert data is not None
        for field_name in fields:
            deps = data.get(field_name)
            if not isinstance(deps, dict):
                continue
            for name, spec in deps.items():
                if not (isinstance(spec, str) and spec.startswith("workspace:")):
                    continue
                if index is None:
                    index = _index(packages_dir)
                target = index.get(name)
                if target is None:
                    problems.append(
                        f"{path}: {field_name}: {name!r} ({spec!r}) is not a package of the"
                        f" workspace {workspace}"
                    )
                    continue
                if target not in seen:
                    seen[target] = None
                    dependency_of[target] = package
                    queue.append(target)
    pulled = sorted(p for p in seen if p not in set(declared))
    return Closure((*dict.fromkeys(declared), *pulled), dependency_of, tuple(problems))
