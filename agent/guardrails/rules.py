"""Guardrail rules loaded once from ``rules.yaml`` and ``profanity.txt`` beside this module."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


class RuleSet(BaseModel):
    """Compiled patterns by rail and rule name."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    input: dict[str, list[re.Pattern[str]]]
    output: dict[str, list[re.Pattern[str]]]
    profanity: frozenset[str]

    def first_match(self, rail: dict[str, list[re.Pattern[str]]], text: str) -> str | None:
        """Name of the first rule in ``rail`` whose pattern matches ``text``."""
        for name, patterns in rail.items():
            if any(p.search(text) for p in patterns):
                return name
        return None

    def has_profanity(self, text: str) -> bool:
        """True when a listed word appears in ``text`` (whole words, leetspeak folded)."""
        words = re.findall(r"[a-z]+", text.lower().translate(_LEET))
        return any(w in self.profanity for w in words)


def _compile(section: dict[str, list[str]]) -> dict[str, list[re.Pattern[str]]]:
    return {name: [re.compile(p, re.IGNORECASE) for p in patterns] for name, patterns in section.items()}


@lru_cache(maxsize=1)
def load_rules() -> RuleSet:
    """The bundled rule set (a bad pattern fails here, at start-up)."""
    here = resources.files("agent.guardrails")
    data = yaml.safe_load(here.joinpath("rules.yaml").read_text())
    words = here.joinpath("profanity.txt").read_text().splitlines()
    return RuleSet(
        input=_compile(data["input"]),
        output=_compile(data["output"]),
        profanity=frozenset(w.strip() for w in words if w.strip() and not w.startswith("#")),
    )
