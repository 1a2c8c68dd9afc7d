"""What a Dockerfile asks of its build context, read as the classic builder reads it.

Only what the preflight needs: the ``COPY``/``ADD`` sources with their line (``--from=``
copies and URLs left out), and the ``FROM`` lines, each with build args expanded where the
value is known. Parser directives (``# escape=``), line continuations, comments inside
continued lines and JSON-array sources are handled as Docker handles them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from noderr_deploy.config.dockerlines import logical_lines
from noderr_deploy.errors import ConfigError

_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^git@")
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Source:
    """One source of a ``COPY``/``ADD``, as written and as expanded (None: not known here)."""

    line: int
    instruction: str
    written: str
    path: str | None
    """Expanded and cleaned as the builder cleans it, relative to the context root."""

    @property
    def is_glob(self) -> bool:
        return self.path is not None and any(c in GLOB_CHARS for c in self.path)


@dataclass(frozen=True)
class Copy:
    """A ``COPY``/``ADD`` from the context; Docker fails it when no source matches at all."""

    line: int
    instruction: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class From:
    line: int
    image: str
    """As written."""
    uses_base_image: bool


@dataclass(frozen=True)
class DockerfileFacts:
    """What the preflight needs from one Dockerfile."""

    path: Path
    copies: tuple[Copy, ...]
    froms: tuple[From, ...]

    @property
    def uses_base_image(self) -> bool:
        """True when a ``FROM`` reads the ``BASE_IMAGE`` build arg."""
        return any(f.uses_base_image for f in self.froms)

    def base_image_note(self, tier: str) -> str | None:
        """``tier X: base_image has no effect: ...`` when no ``FROM`` reads BASE_IMAGE."""
        if not self.froms or self.uses_base_image:
            return None
        first = self.froms[0]
        return (
            f"tier {tier}: base_image has no effect: {os.path.normpath(self.path)} does not use"
            f" the BASE_IMAGE build arg (FROM {first.image} at line {first.line})"
        )


def read_dockerfile(path: Path, build_args: Mapping[str, str]) -> DockerfileFacts:
    """Parse the Dockerfile at ``path``; :class:`ConfigError` naming it when it is unreadable."""
    if not path.is_file():  # a missing file, a directory, a FIFO that would block the read
        raise ConfigError(f"Dockerfile {os.path.normpath(path)} not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Dockerfile {path}: cannot read: {exc.strerror or exc}") from None
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return parse_dockerfile(text, path, build_args)


def expand(word: str, scope: Mapping[str, str | None]) -> str | None:
    """``word`` with ``$VAR``/``${VAR}``/``${VAR:-x}``/``${VAR:+x}`` expanded, or None when
    a variable's value is not known here (an ``ENV`` of the base image, say)."""
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(4)
        value = scope.get(name)
        operator, alternative = match.group(2), match.group(3) or ""
        if name not in scope or value is None:
            if operator == "-" and name not in scope:
                return alternative
            unknown = True
            return ""
        if operator == "-":
            return value or alternative
        if operator == "+":
            return alternative if value else ""
        return value

    expanded = _VARIABLE.sub(replace, word.replace("\\$", "\0"))
    return None if unknown else expanded.replace("\0", "$")


def clean_source(path: str) -> str:
    """A source as the builder resolves it: relative to the context root, ``.`` for the root."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append("..")
            continue
        parts.append(part)
    return "/".join(parts) or "."


def _arguments(rest: str) -> list[str] | None:
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return rest.split() or None


def _declare(
    tokens: list[str],
    scope: dict[str, str | None],
    args: Mapping[str, str],
    outer: Mapping[str, str | None],
) -> None:
    for token in tokens:
        name, sep, default = token.partition("=")
        if not name:
            continue
        if name in args:
            scope[name] = args[name]
        elif sep:
            scope[name] = expand(default.strip("\"'"), scope)
        else:
            # Redeclared in a stage without a value: the global value; never declared: empty.
            scope[name] = outer.get(name, "")


def parse_dockerfile(text: str, path: Path, build_args: Mapping[str, str]) -> DockerfileFacts:
    """The ``COPY``/``ADD`` sources and ``FROM`` lines of Dockerfile ``text`` (from ``path``)."""
    global_scope: dict[str, str | None] = {}
    scope: dict[str, str | None] = global_scope
    copies: list[Copy] = []
    froms: list[From] = []
    in_stage = False
    for line, instruction in logical_lines(text):
        keyword, _, rest = instruction.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "ARG":
            _declare(rest.split(), scope, build_args, global_scope)
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            image = words[0] if words else ""
            uses = bool(re.search(r"\$\{?BASE_IMAGE\b", image))
            froms.append(From(line, image, uses))
            in_stage = True
            scope = {}
        elif keyword == "ENV" and in_stage:
            tokens = rest.split()
            if tokens and "=" not in tokens[0]:
                scope[tokens[0]] = expand(" ".join(tokens[1:]), scope)
            else:
                for token in tokens:
                    name, _, value = token.partition("=")
                    scope[name] = expand(value.strip("\"'"), scope)
        elif keyword in ("COPY", "ADD"):
            copy = _copy(line, keyword, rest, scope)
            if copy is not None:
                copies.append(copy)
    return DockerfileFacts(path, tuple(copies), tuple(froms))


def _copy(line: int, keyword: str, rest: str, scope: Mapping[str, str | None]) -> Copy | None:
    words = rest.split()
    flags = []
    while words and words[0].startswith("--"):
        flags.append(words.pop(0))
    if any(flag.lower().startswith("--from=") for flag in flags):
        return None  # from another stage or image, not from the context
    arguments = _arguments(" ".join(words))
    if arguments is None or len(arguments) < 2:
        return None  # the builder rejects it with its own message
    sources = []
    for written in arguments[:-1]:
        if keyword == "ADD" and _URL.match(written):
            continue
        expanded = expand(written, scope)
        sources.append(
            Source(line, keyword, written, clean_source(expanded) if expanded is not None else None)
        )
    return Copy(line, keyword, tuple(sources)) if sources else None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` as a regex: ``*`` and ``?`` stay within one path segment."""
    regex = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            regex += "[^/]*"
        elif ch == "?":
            regex += "[^/]"
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                regex += re.escape(ch)
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                body = ("^" + body[1:]) if body.startswith("!") else body
                regex += "[" + body.replace("\\", "\\\\") + "]"
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            regex += re.escape(pattern[i])
        else:
            regex += re.escape(ch)
        i += 1
    try:
        return re.compile(regex + r"\Z")
    except re.error:
        return re.compile(re.escape(pattern) + r"\Z")
