"""Which language a customer writes in (py3langid, offline), among the ones the agent understands."""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LANGUAGES = ("en", "es", "fr", "de", "pt", "it")
MIN_WORDS = 3
"""Shorter messages ("oui", "the shoes") say too little to tell: they count as English."""


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def language_of(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, one of :data:`LANGUAGES` (``en`` when it is too short)."""
    if len(text.split()) < MIN_WORDS:
        return "en"
    return str(_identifier().classify(text)[0])
