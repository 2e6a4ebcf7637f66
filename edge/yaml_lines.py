"""Load YAML and remember where each value came from, so config errors can name the line.

`load_with_lines(text)` returns the plain data (dicts, lists, scalars) and a `LineMap` that turns
a pydantic error location such as `('cameras', 0, 'zones', 1, 'polygon')` into a line number: the
line of the deepest node of that path that exists in the file (a missing field points at the
mapping that should hold it). A key given twice in one mapping is an error with both lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import yaml

from streetwatch.errors import ConfigError


@dataclass(frozen=True)
class LineMap:
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest node on `loc` that exists; None for an empty document."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for key in loc:
            child = _child(node, key)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def load_with_lines(text: str, source: str = "<config>") -> tuple[object, LineMap]:
    """Parse YAML once into nodes (for lines) and data; a syntax error names its line and column."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
        raise ConfigError(f"{source}: {where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    duplicates = list(_duplicate_keys(root, set())) if root is not None else []
    if duplicates:
        raise ConfigError(f"{source}: {len(duplicates)} problem(s)\n" + "\n".join(duplicates))
    return data, LineMap(root)


def _duplicate_keys(node: yaml.Node, seen: set[int]) -> Iterator[str]:
    """A key given twice in one mapping: YAML loaders keep the last one silently, so whichever the
    installer meant, one of the two settings would be ignored. `seen`: nodes already visited (an
    alias repeats a node, and may even contain itself)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in first_line:
                    yield (
                        f"line {line}: duplicate key {key_node.value!r} (first at line {first_line[key_node.value]}); "
                        "expected each key once in a mapping (YAML would silently keep only the last)"
                    )
                else:
                    first_line[key_node.value] = line
            yield from _duplicate_keys(value_node, seen)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _duplicate_keys(child, seen)
