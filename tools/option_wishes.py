"""What a customer asks of an option relative to the one they have ("a bigger one", "less bright", "the same
size", "the cheapest"), read as constraints on the catalogue's values. A wish that names no option the product
has, or values that have no order, constrains nothing: it never guesses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SCALES = (("xs", "s", "m", "l", "xl", "xxl"), ("small", "medium", "large"), ("low", "medium", "high"),
          ("basic", "professional"), ("beginner", "intermediate", "expert"))
"""Option values with an order but no number, smallest first."""
LETTER_SIZES = {"extra small": "xs", "small": "s", "medium": "m", "large": "l", "extra large": "xl"}
"""Sizes in words, for options whose sizes are letters ("a medium sized helmet")."""

_SIZE_WORDS = ("size", "capacity", "piece", "diameter")
_ADJECTIVES: dict[str, tuple[int, tuple[str, ...]]] = {
    "bigger": (1, _SIZE_WORDS), "larger": (1, _SIZE_WORDS), "smaller": (-1, _SIZE_WORDS),
    "longer": (1, ("length", "height")), "shorter": (-1, ("length", "height")), "taller": (1, ("height",)),
    "brighter": (1, ("bright",)), "dimmer": (-1, ("bright",)), "thicker": (1, ("thick",)),
    "thinner": (-1, ("thick",)), "heavier": (1, ("weight",)), "higher": (1, ()), "lower": (-1, ())}
"""Comparatives: the way they move an option, and the options they are about when no noun follows."""
_COMPARATIVE = re.compile(rf"\b(?:(more|less)\s+([a-z]+)|({'|'.join(_ADJECTIVES)})(?:\s+([a-z]+))?)", re.IGNORECASE)
_BY_AMOUNT = re.compile(rf"\b(\d+(?:\.\d+)?)\s*([a-z]+)?\s+(less|fewer|more|{'|'.join(_ADJECTIVES)})\b", re.IGNORECASE)
"""An option moved by an amount ("500 pieces less", "2 inches longer")."""
_BY_AMOUNT_BEFORE = re.compile(r"\b(\d+(?:\.\d+)?)\s+(less|fewer|more)\s+([a-z]+)", re.IGNORECASE)
"""The same, the noun after ("1000 more pieces")."""
_SAME = re.compile(r"\b(?:same|keep(?:ing)?\s+(?:the|its|my))\s+([a-z0-9-]+(?:\s+(?!and\b)[a-z0-9-]+)?"
                   r"(?:\s*(?:,|and|&)\s*[a-z0-9-]+(?:\s+[a-z0-9-]+)?)*)", re.IGNORECASE)
"""Options kept as they are ("the same size", "the same material and color", "keep the capacity and type")."""
_CHEAPEST = re.compile(r"\b(cheapest|least expensive|lowest[ -]price[d]?|cheaper)\b", re.IGNORECASE)
_DEAREST = re.compile(r"\b(most expensive|priciest|highest[ -]price[d]?|pricier|more expensive)\b", re.IGNORECASE)
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(k\b)?")
"""A leading number, "k" for thousands ("4K" is more than "1080p")."""
_EXTREMES = {"maximum": 1, "max": 1, "maximal": 1, "highest": 1, "most": 1, "greatest": 1, "minimum": -1, "min": -1,
             "minimal": -1, "lowest": -1, "least": -1, "fewest": -1}
_EXTREME_ADJECTIVES: dict[str, tuple[int, tuple[str, ...]]] = {
    "biggest": (1, _SIZE_WORDS), "largest": (1, _SIZE_WORDS), "smallest": (-1, _SIZE_WORDS),
    "longest": (1, ("length", "height")), "shortest": (-1, ("length", "height")), "tallest": (1, ("height",)),
    "brightest": (1, ("bright",)), "dimmest": (-1, ("bright",)), "thickest": (1, ("thick",)),
    "thinnest": (-1, ("thick",)), "heaviest": (1, ("weight",)), "lightest": (-1, ("weight",)),
    "easiest": (-1, ("difficulty", "level")), "hardest": (1, ("difficulty", "level"))}
"""Superlatives: the end of an option's values they ask for, and the options they are about when no noun follows."""
_SUPERLATIVE = re.compile(
    rf"\b(?:({'|'.join(_EXTREMES)})\s+([a-z]+)|({'|'.join(_EXTREME_ADJECTIVES)})(?:\s+([a-z]+))?)", re.IGNORECASE)
_NOT_OPTIONS = {"one", "ones", "but", "with", "item", "thing", "product", "kind", "as", "the", "and", "&", ","}
_PHRASE = r"[a-z0-9][a-z0-9-]*(?:\s+[a-z0-9][a-z0-9-]*)?"
_RANKED_CHOICES = re.compile(rf"{_PHRASE}(?:\s*>\s*{_PHRASE})+", re.IGNORECASE)
"""Choices in order of preference, best first ("prefer battery > USB > AC")."""
_PREFER_OVER = re.compile(rf"\bprefer\w*\s+(?:an?\s+|the\s+)?({_PHRASE})\s+(?:over|to|(?:rather\s+)?than)\s+"
                          rf"(?:an?\s+|the\s+)?({_PHRASE})", re.IGNORECASE)
"""Two choices, the first preferred ("prefer AC over battery", "prefer animal than art theme")."""
_NOT_CHOICES = {"prefer", "preferably", "i", "a", "an", "the", "then", "else", "or"}


def rank(value: Any) -> float | None:
    """Where a value stands among its option's values: its leading number ("750ml", "28 inch"), or its place on
    a scale ("M", "medium"); None when values like it have no order ("black", "A4")."""
    text = str(value).strip().lower()
    if number := _NUMBER.match(text):
        return float(number.group(1)) * (1000 if number.group(2) else 1)
    for scale in SCALES:
        if text in scale:
            return float(scale.index(text))
    return None


@dataclass
class Wishes:
    """The relative wishes a message states about one item's options."""

    moves: list[tuple[str, int]] = field(default_factory=list)
    """(option, direction): the option must be larger (1) or smaller (-1) than the current one."""
    kept: set[str] = field(default_factory=set)
    """Options that must stay as they are."""
    targets: dict[str, float] = field(default_factory=dict)
    """Options moved by an amount: the value they must have ("500 pieces less" than 1500: 1000)."""
    amount_words: set[str] = field(default_factory=set)
    """The words that state those amounts ("500"): not option values the customer names."""
    extremes: list[tuple[str, int]] = field(default_factory=list)
    """(option, end): the option should be the largest (1) or the smallest (-1) there is ("the maximum zoom")."""
    price: int = 0
    """1: the most expensive that fits; -1: the cheapest; 0: no wish."""
    preferred: list[set[str]] = field(default_factory=list)
    """Choices in the customer's order of preference, best first, each as its words."""

    def __bool__(self) -> bool:
        return bool(self.moves or self.targets or self.extremes or self.price or self.preferred)

    def extremity(self, options: dict[str, Any]) -> tuple[float, ...]:
        """How far toward the ends asked for a variant's options are (larger is better; unranked values last)."""
        ranks = ((rank(options.get(key)), end) for key, end in self.extremes)
        return tuple(float("-inf") if value is None else value * end for value, end in ranks)

    def preference(self, options: dict[str, Any]) -> int:
        """How far down the customer's preferences a variant's best choice is (0: their first choice; as many
        as they named: none of them)."""
        values = {w.rstrip("s") for value in options.values() for w in re.findall(r"[a-z0-9]+", str(value).lower())}
        return next((place for place, words in enumerate(self.preferred) if {w.rstrip("s") for w in words} <= values),
                    len(self.preferred))

    def allow(self, options: dict[str, Any], current: dict[str, Any]) -> bool:
        """Whether a variant with these options grants every wish."""
        if any(options.get(key) != current.get(key) for key in self.kept):
            return False
        if any(rank(options.get(key)) != value for key, value in self.targets.items()):
            return False
        for key, direction in self.moves:
            now, then = rank(current.get(key)), rank(options.get(key))
            if now is None or then is None or (then - now) * direction <= 0:
                return False
        return True


def _keys_about(words: tuple[str, ...], current: dict[str, Any]) -> list[str]:
    """The item's orderable options that ``words`` are about ("bright" is about "brightness")."""
    return [key for key in current if rank(current[key]) is not None
            and any(word in key.lower() or key.lower().rstrip("s") in word for word in words)]


def _choices(phrase: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", phrase.lower()) if w not in _NOT_CHOICES}


def preferences(text: str) -> list[set[str]]:
    """The choices ``text`` ranks ("prefer battery > USB > AC", "prefer AC over battery"), best first."""
    chains = [*(chain.split(">") for chain in _RANKED_CHOICES.findall(text)), *_PREFER_OVER.findall(text)]
    return [words for chain in chains for phrase in chain if (words := _choices(phrase))]


def _by_amounts(text: str, current: dict[str, Any], found: Wishes) -> None:
    """Options moved by an amount ("500 pieces less"), each the value it must then have."""
    before = [(amount, noun, way) for amount, way, noun in _BY_AMOUNT_BEFORE.findall(text)]
    for amount, noun, way in [*_BY_AMOUNT.findall(text), *before]:
        direction, about = (1 if way.lower() == "more" else -1, ()) if way.lower() in ("less", "fewer", "more") else (
            _ADJECTIVES[way.lower()])
        keys = _keys_about((noun.lower().rstrip("s"),), current) if noun else []
        keys = keys or (_keys_about(about, current) if about else [])
        if len(keys) == 1 and (now := rank(current[keys[0]])) is not None:
            found.targets[keys[0]] = now + direction * float(amount)
            found.amount_words.add(amount)


def outright(text: str) -> str:
    """``text`` without what names no value outright: amounts options move by ("500 pieces less" is no 500-piece
    option) and choices ranked ("prefer AC over battery" does not ask for a battery)."""
    for relative in (_BY_AMOUNT, _BY_AMOUNT_BEFORE, _RANKED_CHOICES, _PREFER_OVER):
        text = relative.sub(" ", text)
    return text


def _superlatives(text: str, current: dict[str, Any], found: Wishes) -> None:
    """Options asked for at an end of their range ("the maximum zoom", "the largest one")."""
    for word, noun, adjective, following in _SUPERLATIVE.findall(text):
        end, about = (_EXTREMES[word.lower()], (noun.lower().rstrip("s"),)) if word else (
            _EXTREME_ADJECTIVES[adjective.lower()])
        if adjective and following and _keys_about((following.lower().rstrip("s"),), current):
            about = (following.lower().rstrip("s"),)
        if len(keys := _keys_about(about, current)) == 1:
            found.extremes.append((keys[0], end))


def wishes(text: str, current: dict[str, Any]) -> Wishes:
    """The relative wishes ``text`` states about an item with options ``current``."""
    found = Wishes(price=1 if _DEAREST.search(text) else -1 if _CHEAPEST.search(text) else 0,
                   preferred=preferences(text))
    for more_less, noun, adjective, following in _COMPARATIVE.findall(text):
        if more_less:
            direction, about = (1 if more_less.lower() == "more" else -1), (noun.lower().rstrip("s"),)
        else:
            direction, about = _ADJECTIVES[adjective.lower()]
            if following and (keys := _keys_about((following.lower().rstrip("s"),), current)):
                about = (following.lower().rstrip("s"),)
        keys = _keys_about(about, current) if about else []
        if len(keys) == 1:
            found.moves.append((keys[0], direction))
    _by_amounts(text, current, found)
    _superlatives(text, current, found)
    for said in _SAME.findall(text):
        words = [w.rstrip("s") for w in re.findall(r"[a-z0-9-]+", said.lower()) if w not in _NOT_OPTIONS]
        for key, value in current.items():
            key_words = {k.rstrip("s") for k in key.lower().split()}
            if set(words) & key_words or f" {value} ".lower() in f" {said} ".lower():
                found.kept.add(key)
    return found
