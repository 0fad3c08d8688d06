"""Prompt and reply text, kept as data beside the code that uses it."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, cast

import yaml


@cache
def prompt_text(name: str) -> str:
    """The text of ``agent/prompts/<name>``."""
    return resources.files(__package__).joinpath(name).read_text()


@cache
def prompt_data(name: str) -> Any:
    """The YAML data of ``agent/prompts/<name>``."""
    return yaml.safe_load(prompt_text(name))


def replies() -> dict[str, Any]:
    """The fixed reply wording from ``replies.yaml``."""
    return cast(dict[str, Any], prompt_data("replies.yaml"))
