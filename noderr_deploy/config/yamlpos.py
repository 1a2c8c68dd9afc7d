"""Load YAML while remembering where every key and value stands, for file:line:column errors."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from noderr_deploy.errors import ConfigError
from noderr_deploy.text import printable

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Located:
    """A YAML document's data plus the position of each key path in it."""

    data: Any
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)
    duplicates: list[tuple[Path_, Mark]] = field(default_factory=list)

    def mark_for(self, path: Path_, *, prefer_key: bool = False) -> Mark:
        """The position of ``path``, or of its nearest ancestor present in the file."""
        probe = tuple(path)
        while True:
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if probe in first:
                return first[probe]
            if probe in second:
                return second[probe]
            if not probe:
                return Mark(1, 1)
            probe = probe[:-1]


# libyaml's parser where PyYAML was built with it: the same documents and marks, faster.
# This is the one YAML parser of tiers.yaml: the full validator and the fast readers of
# the rollout and rollback sections both read through load_located.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


# Bounds on what a tiers.yaml may ask of the parser: a real one is a few kB, a few levels
# deep, with a few hundred values. Past these it is refused at once (exit 2), never a hang,
# a memory blow-up (an alias bomb) or a crash of the C parser's recursion.
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_BYTES = 1 << 20
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")


class Unsupported(yaml.YAMLError):
    """Valid YAML that tiers.yaml does not accept (a merge key): ``problem`` says what and
    what to write instead, ``problem_mark`` where; the message is ours, not "malformed"."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


MERGE_KEYS_REFUSED = "merge keys (<<) are not supported: write the keys out in full"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Longest first: a UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def wide_encoding_hint(raw: bytes) -> str | None:
    """For bytes that start with a UTF-16 or UTF-32 byte order mark (Windows editors and
    PowerShell's ``>`` write them): what the file is and how to save it as UTF-8."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return (
                f"the file is {name} (it starts with a {name} byte order mark);"
                f" save it as UTF-8 (iconv -f {name} -t UTF-8)"
            )
    return None


def read_yaml_text(path: Path) -> str:
    """The text of the YAML file ``path``, read as UTF-8: the one reader of tiers.yaml.

    Raises :class:`ConfigError` (``path: cannot read: ...``) for a file that does not
    read or decode, with the hint of :func:`wide_encoding_hint` for a UTF-16/32 one, so
    that every command that reads the file says the same; FileNotFoundError is left to
    the caller (which says "not found" its own way).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode_yaml(raw, path)


def decode_yaml(raw: bytes, path: Path) -> str:
    """The text of the YAML file ``path`` from its bytes ``raw``, as :func:`read_yaml_text`
    reads it (for a caller that must parse exactly the bytes it has read)."""
    hint = wide_encoding_hint(raw)
    if hint is not None:
        raise ConfigError(f"{path}: cannot read: {hint}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[start : exc.start].decode("utf-8", "replace")) + 1
        raise ConfigError(
            f"{path}:{line}:{column}: cannot read: byte 0x{raw[exc.start]:02x} is not UTF-8"
            " (save the file as UTF-8)"
        ) from None
    odd = _NOT_YAML.search(text)
    if odd is not None:
        # PyYAML refuses the controls too, but places them all at 1:1; it reads NEL and the
        # Unicode separators as line breaks, which no editor or grep shows: text after one
        # in a comment would be live configuration.
        line = text.count("\n", 0, odd.start()) + 1
        start = text.rfind("\n", 0, odd.start()) + 1
        column = len(text[start : odd.start()].removeprefix("\ufeff")) + 1
        why = "is not allowed in YAML" if odd[0] not in _BREAKS else "breaks YAML's lines unseen"
        raise ConfigError(
            f"{path}:{line}:{column}: cannot read: the character {printable(odd[0])} {why}"
            " (remove it)"
        )
    return text


# What PyYAML's reader refuses anywhere in a document (its NON_PRINTABLE), and the line
# breaks it knows beside LF and CR: NEL, LINE and PARAGRAPH SEPARATOR.
_BREAKS = "\x85\u2028\u2029"
_NOT_YAML = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class TooComplex(yaml.YAMLError):
    """A document past the bounds above: ``problem`` says which, ``problem_mark`` where."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def _check_shape(text: str) -> None:
    """Refuse, before libyaml sees it, nesting it would recurse into too deeply."""
    if len(text) > MAX_BYTES:
        raise TooComplex(f"the file is larger than {MAX_BYTES // 1024} kB")
    depth = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        if len(line) - len(line.lstrip(" ")) > 2 * MAX_DEPTH * 8:
            raise TooComplex(f"line {line_no} is indented too deeply")
        if "[" not in line and "{" not in line and depth == 0:
            continue
        for char in line:
            if char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise TooComplex(f"nested more than {MAX_DEPTH} levels deep (line {line_no})")
            elif char in "]}":
                depth = max(0, depth - 1)


def _no_nul(node: yaml.Node) -> None:
    # A NUL ("\0" in a quoted string) is in no path, tag or setting, and the OS refuses a
    # path holding one: refused where it stands, for both config paths.
    if isinstance(node, yaml.ScalarNode) and "\0" in str(node.value):
        raise Unsupported(
            "a NUL character (\\x00) in a value: no setting holds one", node.start_mark
        )


def load_located(text: str) -> Located:
    """Parse one YAML document (safe types only) with positions.

    Raises ``yaml.YAMLError`` (with ``problem_mark``) when the text is not valid YAML,
    :class:`TooComplex` past the bounds above, or :class:`Unsupported` for a merge key
    (``<<: *base``). An integer written in another form than
    decimal (``010``, ``0x19``, ``1:00``, ``1_000``: YAML 1.1 reads them as 8, 25, 60 and
    1000) is kept as its text, so that it is never silently read as another number.
    """
    _check_shape(text)
    root = yaml.compose(text, Loader=_LOADER)
    located = Located(data=None)
    if root is None:
        return located
    constructor = yaml.SafeLoader("")
    budget = [MAX_VALUES]

    def walk(node: yaml.Node, path: Path_) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise TooComplex(
                f"the document holds more than {MAX_VALUES} values once its aliases are expanded",
                node.start_mark,
            )
        if len(path) > MAX_DEPTH:
            raise TooComplex(f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        located.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    # PyYAML's safe constructor would merge; ours would not: refused, in
                    # one place for the full validator and the fast section readers.
                    raise Unsupported(MERGE_KEYS_REFUSED, key_node.start_mark)
                _no_nul(key_node)
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
                child = (*path, key)
                if key in out:
                    located.duplicates.append((child, _mark(key_node)))
                located.keys[child] = _mark(key_node)
                out[key] = walk(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, (*path, i)) for i, item in enumerate(node.value)]
        _no_nul(node)
        if node.tag == "tag:yaml.org,2002:int" and not _DECIMAL.fullmatch(str(node.value)):
            return node.value  # as text: the validators say what is wrong with it
        try:
            return constructor.construct_object(node, deep=True)
        except ValueError:  # an integer of more digits than Python converts
            return node.value

    located.data = walk(root, ())
    return located
