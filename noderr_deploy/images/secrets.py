"""What never reaches an engine (or an image layer), whatever ``.dockerignore`` says.

Names are matched case-insensitively: ``.ENV``, ``Deploy.PEM`` and ``ID_RSA`` are the same
secrets on a case-insensitive filesystem, and on any other they are still secrets.

Package-manager files (``.npmrc``, ``.yarnrc.yml``) are different: the network's Dockerfiles
copy them on purpose (``COPY .npmrc* ./``) for registry settings, so a token-free one is sent
and one holding an auth token is refused, naming the file and line, rather than dropped
silently (the build would then fail later, or install from the wrong registry).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NEVER_SENT_DIRS = (".git", "node_modules", ".aws")
NEVER_SENT_NAMES = (
    ".env*",
    "id_*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".git-credentials",
    "*credentials*.json",
)


# `id_*` is for SSH keys (id_rsa, id_ed25519.pub, id_ecdsa.old); a source file such as
# `id_generator.ts` is not one, and dropping it would break the build in silence.
_SOURCE_SUFFIXES = frozenset(
    [
        "js",
        "cjs",
        "mjs",
        "jsx",
        "ts",
        "cts",
        "mts",
        "tsx",
        "json",
        "map",
        "md",
        "css",
        "scss",
        "html",
        "sql",
        "yml",
        "yaml",
        "toml",
        "sh",
        "py",
        "go",
        "rs",
        "sol",
        "txt",
    ]
)


def never_sent(name: str, *, is_dir: bool = False) -> str | None:
    """Why a file or directory named ``name`` is never sent, or None."""
    folded = name.casefold()
    if folded in NEVER_SENT_DIRS:
        return f"{name}/ is never sent" if is_dir else f"{name} is never sent"
    for pattern in NEVER_SENT_NAMES:
        if fnmatch.fnmatchcase(folded, pattern):
            if pattern == "id_*" and (is_dir or folded.rpartition(".")[2] in _SOURCE_SUFFIXES):
                continue
            return f"matches {pattern} (secrets are never sent)"
    return None


def never_sent_path(path: str, *, is_dir: bool = False) -> str | None:
    """Why the context path ``path`` (``a/b/c``) is never sent, or None: its own name, and
    every directory above it (``.aws/credentials`` named by a COPY or ``context.include``
    is inside ``.aws/`` however it was reached)."""
    *parents, name = path.split("/")
    for parent in parents:
        reason = never_sent(parent, is_dir=True)
        if reason is not None:
            return reason
    return never_sent(name, is_dir=is_dir)


# `//registry.example/:_authToken=...`, `_auth=...`, `_password=...`, `email`-less `username`
# is harmless; npm's inline `key=`/`cert=` hold PEM text. Values that only refer to an
# environment variable (`${NPM_TOKEN}`) hold no secret.
_NPMRC_SECRET = re.compile(
    r"^\s*(?:[^=\s]*:)?(_authtoken|_auth|_password|password|token|key|cert)\s*=\s*(.*)$",
    re.IGNORECASE,
)
# Anywhere in a line: YAML's flow style puts several keys on one (`npmScopes: {noderr:
# {npmAuthToken: abc}}`); the value ends at a comma, a brace or a comment.
_YARNRC_SECRET = re.compile(
    r"(?:^|[\s{,])[\"']?(npmauthtoken|npmauthident|npmpassword)[\"']?\s*:\s*"
    r"(\"[^\"]*\"|'[^']*'|[^,}\s#][^,}#]*)?",
    re.IGNORECASE,
)
# A registry URL with user:password in it is a credential whatever the key.
_URL_CREDENTIALS = re.compile(r"^\s*[\"']?([^=:\s\"']+)[\"']?\s*[=:].*?://[^/\s@]+@", re.IGNORECASE)
_REFERENCE = re.compile(r"^[\"']?\$\{[A-Za-z_][A-Za-z0-9_]*\}[\"']?$")


def is_registry_config(name: str) -> bool:
    """Whether ``name`` is an npm or yarn settings file (``.npmrc``, ``.npmrc.ci``,
    ``.yarnrc.yml``)."""
    folded = name.casefold()
    return folded.startswith((".npmrc", ".yarnrc"))


@dataclass(frozen=True)
class TokenLine:
    """A line of a registry settings file that holds a credential."""

    path: str
    """The file, as it would appear in the context."""
    line: int
    key: str


def token_lines(path: str, text: str) -> list[TokenLine]:
    """The lines of settings file ``text`` that hold a credential (not a ``${VAR}`` reference)."""
    yarn = path.rsplit("/", 1)[-1].casefold().startswith(".yarnrc")
    pattern = _YARNRC_SECRET if yarn else _NPMRC_SECRET
    found = []
    if yarn:
        return _yarn_tokens_parsed(path, text)
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("#", ";")):
            continue
        match = pattern.match(line)
        if not match:
            url = _URL_CREDENTIALS.match(line)
            if url:
                found.append(TokenLine(path, number, url.group(1)))
            continue
        value = match.group(2).strip()
        if not value or value in ('""', "''") or _REFERENCE.match(value):
            continue
        found.append(TokenLine(path, number, match.group(1)))
    return found


_YARN_KEYS = frozenset({"npmauthtoken", "npmauthident", "npmpassword"})


def _yarn_tokens_parsed(path: str, text: str) -> list[TokenLine]:
    """The credentials of a yarnrc as YAML reads it (a key and its value may be spread over
    lines, quoted with escapes, or an explicit ``? key``), with the line-by-line scan for a
    file that does not parse (it is still sent: its tokens must still be found)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        root = None
    if root is None:
        found: list[TokenLine] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.lstrip().startswith("#"):
                found += _yarn_tokens(path, number, line)
        return found
    found, pending, seen = [], [root], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:  # an alias points back at a node already walked
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                value_text = value.value if isinstance(value, yaml.ScalarNode) else ""
                if (
                    isinstance(key, yaml.ScalarNode)
                    and key.value.casefold() in _YARN_KEYS
                    and str(value_text).strip()
                    and not _REFERENCE.match(str(value_text).strip())
                ) or (isinstance(key, yaml.ScalarNode) and _URL_USERINFO.search(str(value_text))):
                    found.append(TokenLine(path, key.start_mark.line + 1, key.value))
                pending += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value
    return sorted(found, key=lambda t: t.line)


_URL_USERINFO = re.compile(r"://[^/\s@]+@")


def _yarn_tokens(path: str, number: int, line: str) -> list[TokenLine]:
    found = []
    for match in _YARNRC_SECRET.finditer(line):
        value = (match.group(2) or "").strip()
        if value and value not in ('""', "''") and not _REFERENCE.match(value):
            found.append(TokenLine(path, number, match.group(1)))
    url = _URL_CREDENTIALS.match(line)
    if url and not found:
        found.append(TokenLine(path, number, url.group(1)))
    return found


def scan_registry_configs(files: Iterable[tuple[str, Path]]) -> list[TokenLine]:
    """Every credential line of the registry settings files among ``files`` (context path, source).

    Only these files are read: the rest of the context is not opened before the build.
    """
    found: list[TokenLine] = []
    for path, source in files:
        if not is_registry_config(path.rsplit("/", 1)[-1]):
            continue
        try:
            text = source.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue  # reported as unreadable by the context's own check
        found.extend(token_lines(path, text))
    return found
