"""The policy history as people read it: each version with what it changed at a glance, the diff on request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class VersionSummary(BaseModel):
    """A version in the history: who, when and why, and what it changed (:class:`VersionDiff` holds the diff)."""

    version: int
    author: str
    reason: str
    source: str
    """``seed``, ``api``, ``file`` (a hand edit of the YAML file) or ``rollback``."""
    created_at: datetime
    fields: list[str]
    """Top-level fields of the document whose value this version changed (every field for the first one)."""
    added: int
    """Lines the diff adds."""
    removed: int
    """Lines the diff removes."""


class VersionDiff(BaseModel):
    """The unified diff of one version's YAML against the version before it."""

    version: int
    diff: str


def changed_fields(document: dict[str, Any], previous: dict[str, Any]) -> list[str]:
    """Top-level fields whose value differs between the two documents (``version`` aside)."""
    return sorted(key for key in document.keys() | previous.keys()
                  if key != "version" and document.get(key) != previous.get(key))


def line_counts(diff: str) -> tuple[int, int]:
    """Lines a unified diff adds and removes (its ``+++``/``---`` header aside)."""
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed
