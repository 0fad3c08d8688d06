"""Prompt and reply text, kept as data beside the code that uses it."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml


@cache
def prompt_text(name: str) -> str:
    """The text of ``agent/prompts/<name>``."""
    return resources.files(__package__).joinpath(name).read_text()


@lru_cache(maxsize=1)
def replies() -> dict[str, Any]:
    """The fixed reply wording from ``replies.yaml``."""
    return yaml.safe_load(prompt_text("replies.yaml"))
