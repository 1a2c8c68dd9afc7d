"""A Dockerfile's instructions as the classic builder splits them, and whether one builds.

The lexer (parser directives such as ``# escape=``, line continuations, comments inside
continued lines) is shared by the preflight (:mod:`noderr_deploy.images.dockerfile`) and by
tiers.yaml's ``dev_dependencies: auto``, which follows devDependencies only when the
Dockerfile runs a build step inside the image.
"""

from __future__ import annotations

import re
from pathlib import Path

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
# A command of a RUN that compiles the workspace: a package manager or task runner running
# its `build` script (`pnpm -r build`, `npm run build`, `pnpm --filter x build`, `turbo run
# build`, `nx build`), or the TypeScript compiler itself.
_BUILDS = re.compile(
    r"\b(?:pnpm|npm|yarn|bun|turbo|nx|lerna)\b[^\n]*?(?<![\w-])build(?![\w-])"
    r"|(?:^|\s|/)tsc(?:\s|$)"
)
_SEGMENTS = re.compile(r"&&|\|\||;|\|")
_MAX_DOCKERFILE = 1 << 20


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) of each instruction."""
    lines = text.splitlines()
    escape = "\\"
    start = 0
    for number, raw in enumerate(lines):  # parser directives come first, or not at all
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
        start = number + 1
    result: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number in range(start, len(lines)):
        raw = lines[number]
        stripped = raw.strip()
        if pending and (not stripped or stripped.startswith("#")):
            continue  # comments and empty lines inside a continued instruction are dropped
        if not pending:
            if not stripped or stripped.startswith("#"):
                continue
            first = number + 1
        body = raw.rstrip()
        if body.endswith(escape):
            pending.append(body[: -len(escape)])
            continue
        pending.append(body)
        result.append((first, " ".join(part.strip() for part in pending)))
        pending = []
    if pending:
        result.append((first, " ".join(part.strip() for part in pending)))
    return result


def build_step(text: str) -> tuple[int, str] | None:
    """(line, instruction) of the first ``RUN`` that builds the workspace, or None."""
    for line, instruction in logical_lines(text):
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() != "RUN":
            continue
        command = rest
        if command.lstrip().startswith("["):  # exec form: the words, as one command
            command = " ".join(re.findall(r'"((?:[^"\\]|\\.)*)"', command))
        if any(_BUILDS.search(segment.strip()) for segment in _SEGMENTS.split(command)):
            return line, instruction
    return None


def dockerfile_builds(path: Path) -> bool:
    """Whether the Dockerfile at ``path`` runs a build step (False when it cannot be read:
    the preflight then says why)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_DOCKERFILE)
    except OSError:
        return False
    return build_step(data.decode("utf-8", errors="replace").removeprefix("\ufeff")) is not None
