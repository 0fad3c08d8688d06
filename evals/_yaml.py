"""YAML that remembers where things are: mappings and lists keep the line of every key and item, so a
validation error can say ``suites/orders.yaml:42``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class MarkedDict(dict[Any, Any]):
    """A mapping that knows the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class MarkedList(list[Any]):
    """A list that knows the line of each item (1-based)."""

    line: int = 0
    lines: list[int]


class FormatError(ValueError):
    """A file that is not a valid eval file; the message names file, line and field of every problem."""


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line, result.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.MarkedYAMLError("while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                                       key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load(path: Path) -> Any:
    """Parse ``path``; a syntax error becomes a :class:`FormatError` with the file and line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise FormatError(f"{path}:{line}: {exc.problem or exc}") from exc


def line_of(data: Any, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest part of ``loc`` found in ``data`` (pydantic's error location)."""
    line = getattr(data, "line", 0)
    node = data
    for part in loc:
        if _has(node, part):
            line, node = node.lines[part], node[part]
    return line


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, MarkedDict):
        return part in node
    return isinstance(node, MarkedList) and isinstance(part, int) and 0 <= part < len(node)


def explain(path: Path, data: Any, error: ValidationError, *, prefix: tuple[int | str, ...] = ()) -> FormatError:
    """One line per problem: ``file:line: field.path: message``."""
    lines = []
    for problem in error.errors():
        loc = (*prefix, *problem["loc"])
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[")
        lines.append(f"{path}:{line_of(data, loc)}: {field or '(file)'}: {problem['msg']}")
    return FormatError("\n".join(lines))
