"""Structured (JSON-schema-constrained) model output: the schema as grammar converters take it, and parsing."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import ModelError

T = TypeVar("T", bound=BaseModel)
_CLASS_ESCAPES = {r"\d": "[0-9]", r"\w": "[A-Za-z0-9_]", r"\s": "[ \t\n]"}


def grammar_safe(node: Any) -> Any:
    """The JSON schema ``node`` with regex class escapes spelled out, which llama.cpp's grammar converter needs
    (the same patterns for every other converter)."""
    if isinstance(node, dict):
        return {k: _spell_out(v) if k == "pattern" else grammar_safe(v) for k, v in node.items()}
    if isinstance(node, list):
        return [grammar_safe(v) for v in node]
    return node


def _spell_out(pattern: str) -> str:
    for escape, klass in _CLASS_ESCAPES.items():
        pattern = pattern.replace(escape, klass)
    return pattern


def parse_structured(schema: type[T], content: Any) -> T:
    """Validate model output against ``schema``; a truncated or invalid answer is a :class:`ModelError`."""
    try:
        return schema.model_validate_json(str(content))
    except ValidationError as exc:
        raise ModelError(f"model output does not match {schema.__name__}: {exc.error_count()} error(s)") from exc
