"""What a model-worded reply about orders may state: the statuses, items and days of the facts it was written from.
Numbers and ids are the number and id checks' job; this one reads the words a wrong fact hides in ("it's on its
way" for an order still being packed, the customer's other item, "tomorrow")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

FactKind = Literal["status", "item", "day", "count"]

STATUSES: dict[str, str] = {
    "pending": r"pending",
    "processed": r"processed|being (?:picked|packed|prepared)|picking and packing|packing it",
    "shipped": r"shipped|on (?:its|the|their) way|in transit|with the carrier|out for delivery|dispatched",
    "delivered": r"delivered|arrived",
    "cancelled": r"cancell?ed",
    "return requested": r"return(?: for [^.,;]{1,30}?)? (?:is |was |has been )?(?:requested|started)",
    "exchange requested": r"exchange(?: for [^.,;]{1,30}?)? (?:is |was |has been )?(?:requested|started)",
}
"""Each order status and the words a reply may say it with."""
_STATUS = re.compile(r"\b(" + "|".join(f"(?P<s{i}>{v})" for i, v in enumerate(STATUSES.values())) + r")\b",
                     re.IGNORECASE)
_NEGATED = re.compile(r"(\bnot|n't|\bno longer|\bnever|\byet to)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)
_HYPOTHETICAL = re.compile(
    r"\b(will|would|should|once|when|after|until|before|if|can|could|usually|may)\W+(?:\w+\W+){0,3}$", re.IGNORECASE)
"""Words before a status that make it no claim about the order now ("once it has shipped", "will be delivered")."""
_DAYS = re.compile(
    r"\b(today|tonight|tomorrow|yesterday|this (?:morning|afternoon|evening|week|weekend)|next (?:week|month)|"
    r"(?:on|by|this|next) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|the weekend)|"
    r"(?:within|in) (?:a|one|two|three|a few|several|\d+) (?:hours?|days?|weeks?))\b",
    re.IGNORECASE,
)

NUMBER_WORDS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"])}
_COUNT = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\s+(?:\w+\s+)?(?:items?|orders?|products?|packages?|"
                    r"parcels?|pieces?|units?|(?:business )?days?|weeks?|months?)\b", re.IGNORECASE)
"""A count in words ("two items", "five business days"): the number check reads digits only."""

_ORDER = re.compile(r"#W\d+", re.IGNORECASE)


def status_claims(text: str) -> set[tuple[str, bool]]:
    """(status, said negatively) for every status ``text`` states ("it hasn't shipped yet": shipped, True)."""
    names = list(STATUSES)
    claims = set()
    for match in _STATUS.finditer(text):
        before = text[: match.start()]
        if _HYPOTHETICAL.search(before):
            continue
        status = names[next(int(k[1:]) for k, v in match.groupdict().items() if v)]
        claims.add((status, bool(_NEGATED.search(before))))
    return claims


def item_terms(names: Iterable[str]) -> frozenset[str]:
    """How a reply may name each item: its whole name and its last word ("wireless earbuds", "earbuds")."""
    return frozenset(t for n in names if n.strip() for t in (n.lower().strip(), n.lower().split()[-1]) if len(t) > 2)


def terms_in(text: str, terms: Iterable[str]) -> set[str]:
    """The ``terms`` ``text`` uses (a plural s allowed)."""
    lowered = text.lower()
    return {t for t in terms if re.search(rf"(?<![\w-]){re.escape(t)}s?(?![\w-])", lowered)}


class OrderFacts(BaseModel):
    """The statuses, item names and days a reworded reply may state."""

    model_config = ConfigDict(frozen=True)

    statuses: frozenset[str]
    """Statuses the facts state (positively)."""
    items: frozenset[str]
    """How the items of the facts and of the customer's own message may be named (:func:`item_terms`)."""
    vocabulary: frozenset[str]
    """How every item a reply could name wrongly may be named (the store's products, the customer's items)."""
    days: frozenset[str]
    """Day and time-span words the facts use (lower case)."""
    numbers: frozenset[int]
    """Whole numbers the facts state in digits."""
    orders: frozenset[str]
    """Order ids the facts state (upper case)."""

    @classmethod
    def of(cls, facts: str, *, customer_said: str, vocabulary: Iterable[str]) -> OrderFacts:
        names = list(vocabulary)
        said = f"{facts}\n{customer_said}"
        named = [n for n in names if terms_in(said, item_terms([n])) & {n.lower().strip()}]
        return cls(statuses=frozenset(s for s, negated in status_claims(facts) if not negated),
                   items=item_terms(named) | terms_in(said, item_terms(names)), vocabulary=item_terms(names),
                   days=frozenset(m.lower() for m in _DAYS.findall(facts)),
                   numbers=frozenset(int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", facts)),
                   orders=frozenset(o.upper() for o in _ORDER.findall(facts)))

    def answered_by(self, reply: str) -> bool:
        """``reply`` still says what the facts answer: the status they give, and every order they name (one order
        may be named by its item instead: "your coffee maker")."""
        said = {s for s, negated in status_claims(reply) if not negated}
        named = {o.upper() for o in _ORDER.findall(reply)} >= self.orders or (
            len(self.orders) == 1 and bool(terms_in(reply, self.items)))
        return named and said >= self.statuses

    def wrong(self, sentence: str) -> FactKind | None:
        """The kind of fact ``sentence`` gets wrong, or None: a status the facts don't state (saying an order
        is not in a status is fine unless the facts say it is), an item they don't name, a day they don't give,
        a count in words they don't state."""
        for status, negated in status_claims(sentence):
            if (status in self.statuses) == negated:
                return "status"
        if not terms_in(sentence, self.vocabulary) <= self.items:
            return "item"
        if any(day.lower() not in self.days for day in _DAYS.findall(sentence)):
            return "day"
        if any(NUMBER_WORDS[word.lower()] not in self.numbers for word in _COUNT.findall(sentence)):
            return "count"
        return None
