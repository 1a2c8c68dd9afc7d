""".dockerignore, read and matched as Docker's builder does (moby's patternmatcher).

Last matching pattern wins, ``!`` re-includes, ``**`` spans directories, a pattern matching
a directory excludes what is under it; lines are cleaned like ``filepath.Clean``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from noderr_deploy.errors import ConfigError

# -- .dockerignore -------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    """One .dockerignore line, compiled as moby's patternmatcher does."""

    text: str
    exclusion: bool
    regex: re.Pattern[str]


def compile_pattern(pattern: str) -> re.Pattern[str]:
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
        if "\0" in line:  # no path holds one: the pattern would exclude nothing, unsaid
            raise BadPattern(number + 1, raw.strip(), "a NUL character matches no path")
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/") or "/"
        try:
            regex = compile_pattern(line)
        except re.error as exc:
            # Docker refuses the whole file; skipping the line would send what it excludes.
            raise BadPattern(number + 1, raw.strip(), exc.msg) from None
        patterns.append(IgnorePattern(("!" if exclusion else "") + line, exclusion, regex))
    return patterns


class BadPattern(ValueError):
    """A .dockerignore line that is not a pattern (``[`` never closed)."""

    def __init__(self, line: int, text: str, why: str) -> None:
        super().__init__(f"{line}: {text!r} is not a pattern ({why})")
        self.line = line


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
        try:
            return cls(tuple(parse_dockerignore(text)))
        except BadPattern as exc:
            raise ConfigError(f"{path}:{exc}: docker would refuse the file") from None

    @property
    def has_exceptions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excludes(self, path: str) -> bool:
        """True when ``path`` (relative, '/'-separated) or one of its parents is ignored."""
        matched = False
        parents: list[str] | None = None
        for pattern in self.patterns:
            # An exception can only re-include what is excluded, and vice versa.
            if pattern.exclusion != matched:
                continue
            match = pattern.regex.match(path) is not None
            if not match:
                if parents is None:  # sliced once: a deep path has many parents
                    parents = [path[:i] for i, c in enumerate(path) if c == "/"]
                match = any(pattern.regex.match(parent) for parent in parents)
            if match:
                matched = not pattern.exclusion
        return matched
