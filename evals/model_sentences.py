"""The sentences a real model wrote, labelled by hand (``data/model_sentences.yaml``): the reply classifier's
training and dev data, and what the red team's detectors are checked against."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel

UNSEEN = frozenset({"invented", "off_task", "context"})
"""Labels no sentence shows on its own (a made-up fact, harmless off-task text, harm only in its reply)."""


class Sentence(BaseModel):
    """One labelled sentence."""

    text: str
    label: str
    """``ok``, an off-policy kind (``creative``, ``persona``, ``promise``...) or one of :data:`UNSEEN`."""
    split: str
    part: str
    """``train`` / ``dev`` (red-team replies to attacks of that split) or ``support`` (the model answering benign
    messages through the graph)."""

    @property
    def off_policy(self) -> bool:
        return self.label != "ok" and self.label not in UNSEEN


@cache
def sentences() -> tuple[Sentence, ...]:
    """Every labelled sentence, in file order."""
    raw: dict[str, Any] = yaml.safe_load(resources.files("evals").joinpath("data/model_sentences.yaml").read_text())
    return tuple(Sentence.model_validate(row) for row in raw["sentences"])
