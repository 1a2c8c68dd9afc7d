"""A tier's context checked against its Dockerfile before anything is sent.

Every ``COPY``/``ADD`` source (not ``--from=``; globs matched as the classic builder matches
them, optional when another source of the same instruction matches; build args expanded
where their value is known) must be in the assembled context. A missing one is exit 2 naming
``Dockerfile:line``, the source and the nearest fix. ``noderr build`` (with or without
``--dry-run``) and ``noderr tiers --check`` run the same check through :func:`tier_context`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from noderr_deploy.errors import ConfigError
from noderr_deploy.images.context import Readable, assemble_context
from noderr_deploy.images.dockerfile import (
    DockerfileFacts,
    Source,
    glob_regex,
    read_dockerfile,
)
from noderr_deploy.images.tarball import BuildContext


@dataclass(frozen=True)
class TierContext:
    """A tier's checked context, and what an operator should be told about it."""

    context: BuildContext
    facts: DockerfileFacts
    notes: tuple[str, ...] = ()
    """E.g. that ``base_image`` has no effect on a Dockerfile with a hard-coded ``FROM``."""


def _show(path: Path) -> str:
    return os.path.normpath(str(path))


def tier_context(
    *,
    workspace: Path,
    tier: str,
    packages: Sequence[str],
    dockerfile: Path,
    build_args: Mapping[str, str],
    include: Iterable[str] = (),
    dependency_of: Mapping[str, str] | None = None,
    readable: Readable | None = None,
) -> TierContext:
    """Assemble the context of ``tier`` (``packages``: its closure) and preflight it.

    Raises :class:`ConfigError` with every missing source at once.
    """
    facts = read_dockerfile(dockerfile, build_args)
    copied = [
        s.path for c in facts.copies for s in c.sources if s.path is not None and not s.is_glob
    ]
    extra = {"readable": readable} if readable is not None else {}
    context = assemble_context(
        workspace, packages, dockerfile, include=include, copied=copied, **extra
    )
    problems = check_sources(context, facts, workspace=workspace, tier=tier, packages=packages)
    if problems:
        count = len(problems)
        raise ConfigError(
            problems[0]
            if count == 1
            else f"tier {tier}: {count} sources of {_show(dockerfile)} are not in its context",
            details=problems if count > 1 else (),
        )
    note = facts.base_image_note(tier)
    del dependency_of  # the closure's reasons are shown by `noderr tiers`
    return TierContext(context, facts, (note,) if note else ())


def check_sources(
    context: BuildContext,
    facts: DockerfileFacts,
    *,
    workspace: Path,
    tier: str,
    packages: Sequence[str],
) -> list[str]:
    """One line per ``COPY``/``ADD`` source the context cannot satisfy."""
    paths = context.all_paths
    problems: list[str] = []
    where = _show(facts.path)
    for copy in facts.copies:
        matched = False
        missing: list[tuple[Source, str]] = []
        globs: list[Source] = []
        for source in copy.sources:
            if source.path is None or source.path == ".":
                matched = True  # not known here (or the whole context): the builder decides
            elif source.path == ".." or source.path.startswith("../"):
                missing.append((source, "it is outside the build context"))
            elif source.is_glob:
                regex = glob_regex(source.path)
                if any(regex.match(p) for p in paths):
                    matched = True
                else:
                    globs.append(source)
            elif source.path in paths:
                matched = True
            else:
                missing.append((source, _fix(source.path, context, workspace, tier, packages)))
        for source, fix in missing:
            problems.append(
                f"{where}:{source.line}: {copy.instruction} source {source.written!r} is not in"
                f" the context of tier {tier}: {fix}"
            )
        if not matched and not missing:
            written = " ".join(s.written for s in globs)
            problems.append(
                f"{where}:{copy.line}: {copy.instruction} {written}: no file of the context of"
                f" tier {tier} matches (the builder fails with 'no source files were"
                f" specified'): {_glob_fix(globs, workspace, context)}"
            )
    return problems


def _fix(
    path: str, context: BuildContext, workspace: Path, tier: str, packages: Sequence[str]
) -> str:
    parts = path.split("/")
    if parts[0] == "packages" and len(parts) > 1 and parts[1] not in packages:
        name = parts[1]
        if (workspace / "packages" / name / "package.json").is_file():
            return f"package {name} is not in tier {tier} (add it to the tier's packages)"
        return f"there is no package {name} in the workspace {_show(workspace)}"
    reason = context.excluded_reason(path)
    if reason is not None:
        return f"it is left out ({reason})"
    if (workspace / path).exists():
        return "add it to context.include in tiers.yaml"
    return f"{_show(workspace / path)} does not exist"


def _glob_fix(globs: Sequence[Source], workspace: Path, context: BuildContext) -> str:
    for source in globs:
        assert source.path is not None
        directory, _, name = source.path.rpartition("/")
        if any(c in directory for c in "*?["):
            continue
        try:
            names = [p.name for p in (workspace / directory if directory else workspace).iterdir()]
        except OSError:
            continue
        regex = glob_regex(name)
        for found in sorted(names):
            if regex.match(found):
                relative = f"{directory}/{found}" if directory else found
                reason = context.excluded_reason(relative)
                if reason is not None:
                    return f"{relative} is left out ({reason})"
                return f"add {relative} to context.include in tiers.yaml"
    return "make one of the files exist, or drop the instruction"
