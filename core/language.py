"""Which language a customer writes in (py3langid, offline), among the ones the agent understands."""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = ("en", "es", "fr", "de", "pt", "it")
OTHER = "other"
"""A language the agent does not write in."""
MIN_WORDS = 3
"""Shorter messages ("oui", "the shoes") say too little to tell: they count as English."""
SURE = 0.75
"""How sure the identifier must be before a message changes the conversation's language."""
_NOT_WORDS = re.compile(r"\S*\d\S*|\S+@\S+")
"""Order numbers, amounts, zip codes and email addresses: the same in every language."""
_INVERTED_MARKS = re.compile("[¿¡]")
"""Among the languages the agent writes in, only Spanish opens questions and exclamations with these."""


@cache
def _identifier(among: tuple[str, ...] | None = LANGUAGES) -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if among:
        identifier.set_languages(list(among))
    return identifier


def language_of(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, one of :data:`LANGUAGES` (``en`` when it is too short)."""
    if len(text.split()) < MIN_WORDS:
        return "en"
    return str(_identifier().classify(text)[0])


def reply_language(text: str, current: str = "en") -> str:
    """The language to answer ``text`` in: one of :data:`LANGUAGES` when the identifier is sure of it, :data:`OTHER`
    when it is sure of a language outside them, else ``current`` (short answers such as "sí" or an order number keep
    the conversation's language). A message the identifier reads as Spanish, however unsure, is Spanish when it has
    a "¿" or "¡"."""
    words = _NOT_WORDS.sub(" ", text)
    if len(words.split()) < MIN_WORDS:
        return current
    language, sure = _identifier().classify(words)
    if sure >= SURE or (language == "es" and _INVERTED_MARKS.search(text)):
        return str(language)
    anywhere, sure_anywhere = _identifier(None).classify(words)
    return OTHER if anywhere not in LANGUAGES and sure_anywhere >= SURE else current
