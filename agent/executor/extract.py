"""Facts pulled out of what the customer wrote, by code (patterns and matching against store data)."""

from __future__ import annotations

import re
from typing import Literal

_YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|confirm(ed)?|go ahead|please do|do it|correct|"
                  r"that'?s (right|correct|fine)|sounds good|absolutely|y|s[iíì]|oui|ja|sim|claro|certo|vale|"
                  r"d'accord|genau|va bene|bien s[uû]r)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(no|nope|nah|don'?t|do not|stop|never ?mind|wait|hold on|not now|n|non|nein|n[aã]o)\b",
                 re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ZIP = re.compile(r"(?<![\d#W])\d{5}(?!\d)")
_NAME = re.compile(r"\b(my name is|my name's|name:?|i am|i'm|im|this is)\s+([a-z][a-z'-]+)\s+([a-z][a-z'-]+)",
                   re.IGNORECASE)
_NAMING_ONLY_MAYBE = {"i am", "i'm", "im", "this is"}
"""Words that come before a name and before much else ("I am angry and...", "this is ridiculous and...")."""
_REASONS = {
    "no longer needed": re.compile(r"\b(no longer|don'?t|do not|not) (need|want)|changed my mind|not needed|"
                                   r"ya no (lo |la )?(necesito|quiero)|plus besoin|n'en ai plus besoin|"
                                   r"nicht mehr (brauche|nötig|gebraucht)|brauche (es|sie|ihn) nicht mehr|"
                                   r"não (preciso|quero) mais|já não preciso|non (mi )?serve più|non ne ho più bisogno",
                                   re.IGNORECASE),
    "ordered by mistake": re.compile(r"\b(by mistake|mistakenly|accident|accidentally|wrong order|ordered twice|"
                                     r"didn'?t mean to|por error|por equivocación|par erreur|aus versehen|"
                                     r"versehentlich|per errore|por engano)\b", re.IGNORECASE),
}


def confirmation(text: str) -> Literal["yes", "no"] | None:
    """A plain yes or no at the start of the message."""
    if _NO.match(text):
        return "no"
    return "yes" if _YES.match(text) else None


_ACKNOWLEDGEMENTS = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "k", "no", "nope", "nah", "please", "pls",
                     "sí", "si", "sì", "oui", "ja", "sim", "claro", "vale", "non", "nein", "não", "nao", "gracias",
                     "merci", "danke", "obrigado", "obrigada", "grazie", "por", "favor", "bitte", "s'il", "vous",
                     "plaît",
                     "thanks", "thank", "you", "thx", "ty", "fine", "alright", "right", "correct", "go", "ahead",
                     "do", "it", "that's", "thats", "that", "absolutely", "confirm", "confirmed", "for", "sounds",
                     "good", "great", "perfect", "lets", "let's", "yea", "ya", "course", "of", "definitely"}


def bare_acknowledgement(text: str) -> bool:
    """A message of only yes, no, okay and the like ("yes please", "ok sure"), which states no detail."""
    words = [w.strip(".,!?") for w in text.lower().split()]
    return bool(words) and all(w in _ACKNOWLEDGEMENTS for w in words)


def email(text: str) -> str | None:
    found = _EMAIL.search(text)
    return found.group().rstrip(".") if found else None


def zip_code(text: str) -> str | None:
    found = _ZIP.search(text)
    return found.group() if found else None


def full_name(text: str) -> tuple[str, str] | None:
    """``(first, last)`` from "my name is Jane Doe" and similar; after "I'm" or "this is", only words written as a
    name ("I'm Jane Doe") or beside a zip code or an email ("im jane doe 12345"): "I am angry and..." is no name."""
    for found in _NAME.finditer(text):
        cue, first, last = found.groups()
        if (cue.lower() not in _NAMING_ONLY_MAYBE or (first[0].isupper() and last[0].isupper())
                or zip_code(text) or email(text)):
            return first.title(), last.title()
    return None


_STREET = re.compile(
    r"\b\d+\s+(?:[A-Za-z][\w.'-]*\s+){0,3}(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|way|"
    r"court|ct|place|pl|terrace|parkway|pkwy|highway|hwy)\b\.?", re.IGNORECASE)


def street(text: str) -> str | None:
    """A street line ("21 Oak Street") in the message, if any."""
    found = _STREET.search(text)
    return found.group().rstrip(".") if found else None


_ADDING = re.compile(r"\b(also|too|as well|in addition|additionally|plus)\b", re.IGNORECASE)


def adds(text: str) -> bool:
    """The message adds to what was said before ("I also want to return the smart watch"), not instead of it."""
    return bool(_ADDING.search(text))


def cancel_reason(text: str) -> str | None:
    """One of the policy's cancellation reasons, if the message states one."""
    return next((reason for reason, pattern in _REASONS.items() if pattern.search(text)), None)


OPTION_WORDS = r"options?|colou?rs?|sizes?|variants?|versions?|models?|materials?"
"""Words that ask about the options of an item (a regular expression's alternatives)."""
_ITEM_DETAILS = re.compile(
    rf"\b({OPTION_WORDS}|made (of|from)|fabric|specs?|details"
    r"|what (kind|type|items?|things?|products?) (of|did|do|are|is|have|were)"
    r"|which (\w+ )?(items?|ones?|things?|products?)"
    r"|(what|which)\b[^?.,]{0,30}\b((did|have) i|i (have|had)?) ?(order|ordered|buy|bought|get|got)"
    r"|what(s|'s| is| was) in (it|them|my|that|the))\b", re.IGNORECASE)


def asks_item_details(text: str) -> bool:
    """The message asks what exactly the items are ("which two t-shirts did I order, and what material?")."""
    return bool(_ITEM_DETAILS.search(text))

