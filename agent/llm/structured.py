"""Parsing of structured (JSON-schema-constrained) model output."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import ModelError

T = TypeVar("T", bound=BaseModel)


def parse_structured(schema: type[T], content: Any) -> T:
    """Validate model output against ``schema``; a truncated or invalid answer is a :class:`ModelError`."""
    try:
        return schema.model_validate_json(str(content))
    except ValidationError as exc:
        raise ModelError(f"model output does not match {schema.__name__}: {exc.error_count()} error(s)") from exc
