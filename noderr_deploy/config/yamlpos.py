"""Load YAML while remembering where every key and value stands, for file:line:column errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

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


def load_located(text: str) -> Located:
    """Parse one YAML document (safe types only) with positions.

    Raises ``yaml.YAMLError`` (with ``problem_mark``) when the text is not valid YAML.
    """
    root = yaml.compose(text, Loader=_LOADER)
    located = Located(data=None)
    if root is None:
        return located
    constructor = yaml.SafeLoader("")

    def walk(node: yaml.Node, path: Path_) -> Any:
        located.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
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
        return constructor.construct_object(node, deep=True)

    located.data = walk(root, ())
    return located
