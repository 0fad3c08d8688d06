"""What a model-worded reply about orders may state, read from the tool results it was written from: each order's
status, items and item count. Numbers, durations ("five business days") and ids are the number and id checks' job;
this one reads the words a wrong fact hides in ("it's on its way" for an order still being packed, the customer's
other item, "tomorrow", "two items")."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agent.guardrails._text import NUMBER_WORDS, ORDER_ID, sentence_key, split_sentences

FactKind = Literal["status", "item", "day", "count", "voice"]

STATUSES: dict[str, str] = {
    "pending": r"pending",
    "processed": r"processed|being (?:picked|packed|prepared)|picking and packing|packing it",
    "shipped": r"shipped|shipping now|is shipping|on (?:its|the|their) way|in transit|with the carrier|"
               r"out for delivery|dispatched|(?:been|was|were) sent|sent out|gone out|left (?:our|the) warehouse|"
               r"en route",
    "delivered": r"delivered|arrived",
    "cancelled": r"cancell?ed",
    "return requested": r"return(?: for [^.,;]{1,30}?)? (?:is |was |has been )?(?:requested|started)",
    "exchange requested": r"exchange(?: for [^.,;]{1,30}?)? (?:is |was |has been )?(?:requested|started)",
}
"""Each order status and the words a reply may say it with."""
_RANK = {"pending": 0, "processed": 1, "shipped": 2, "delivered": 3, "return requested": 4, "exchange requested": 4}
_MILESTONES = {"shipped", "delivered"}
"""Statuses an order that went further still passed ("it shipped on Nov 26" of a delivered order)."""
_STATUS = re.compile(r"\b(" + "|".join(f"(?P<s{i}>{v})" for i, v in enumerate(STATUSES.values())) + r")\b",
                     re.IGNORECASE)
_NEGATED = re.compile(r"(\bnot|n't|\bno longer|\bnever|\byet to)[ ']+(?:\w+[ ']+){0,2}$", re.IGNORECASE)
_NOT_NOW = re.compile(r"\b(will|would|should|may|might|once|when|after|until|before|if|usually|to)[ ']+"
                      r"(?:(?:it|its|it's|they|the|your|order|package|items?|be|been|has|have|get|gets)[ ']+){0,3}$|"
                      r"\b(?:can|could|cannot|can't)(?:[ ']+(?:still|no|longer|not|also))*[ ']+be[ ']+$", re.IGNORECASE)
"""Words before a status that make it no claim about the order now ("once it has shipped", "will be delivered",
"ready to be shipped", "it can still be cancelled")."""
_NOT_THE_ORDER = re.compile(r"\b(refunds?|cancellation|payment|request|money)[ ']+(?:\w+[ ']+){0,2}$", re.IGNORECASE)
"""Words before a status that make it about something else ("your refund has been processed")."""
_WEEKDAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DAYS = re.compile(
    rf"\b(today|tonight|tomorrow|yesterday|(?<!\bas )soon|shortly|any day now|"  # "as soon as": no time
    rf"this (?:morning|afternoon|evening|week|weekend)|next (?:week|month)|{_WEEKDAY}|the weekend|"
    r"(?:within|in|over|takes?|taking) (?:a |the next )?(?:few|several|couple of) (?:business )?"
    r"(?:hours|days|weeks))\b",
    re.IGNORECASE,
)
_COUNT = re.compile(r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(?:\w+\s+)?(items?|products?|things?|orders?)\b",
                    re.IGNORECASE)
"""A count of items or orders, in digits or words ("2 items", "two items"): a number the facts give elsewhere (a
"2" in "Dec 2") is still no count of them. Durations in words are the number check's."""
_VALUE = re.compile(r"\$\s?\d|\b\d{3,}\b")
"""A value a reply gives from the facts (an amount, a tracking number, a year): the number rules check it is one."""
_CHANGE = re.compile(r"\b(?:cancel\w*|chang\w*|modif\w*|(?:sen[dt]|ship|redirect)\w* (?:it |them )?to (?:another|a "
                     r"different|a new) address)\b", re.IGNORECASE)
_CANNOT = re.compile(r"\b(?:can't|cannot|can not|can no longer|no longer|too late to|unable to|not possible to)"
                     r"(?:[ ']+\w+){0,3}[ ']*$", re.IGNORECASE)
_CAN = re.compile(r"\b(?:can|could|still|able to)(?:[ ']+\w+){0,3}[ ']*$", re.IGNORECASE)


def change_claims(text: str) -> set[bool]:
    """Whether ``text`` says an order can (True) or can no longer (False) be cancelled or changed ("so you can't
    cancel it", "it can still be sent to another address"); a mention without "can" is no claim."""
    claims = set()
    for match in _CHANGE.finditer(text):
        before = text[: match.start()]
        if _CANNOT.search(before):
            claims.add(False)
        elif _CAN.search(before):
            claims.add(True)
    return claims


_CUSTOMER_VOICE = re.compile(
    r"^\W*(?:customer|user)\s*:|\bmy (?!apologies\b|pleasure\b|end\b|side\b|colleagues?\b|team\b|best\b)\w+|"
    r"\bI(?:'ve| have)? (?:ordered|bought|purchased|paid|been waiting|(?:still )?(?:haven't|have not|didn't|did not) "
    r"(?:received|got|gotten))\b", re.IGNORECASE)
"""A sentence in the customer's voice: a small model that echoes an upset message goes on as the customer ("My
order hasn't arrived and nobody answers me"), sometimes after their speaker label."""
_THE_ORDER = re.compile(r"\b(?:your|the|this) order\b(?! #)", re.IGNORECASE)
_COMMON_HEADS = frozenset({"card", "set", "kit", "pack", "case", "box", "bag", "order", "item"})
"""Last words of product names that a reply uses for other things ("back to your card")."""


def _ids(text: str) -> set[str]:
    """The order ids ``text`` names, without # and upper case."""
    return {m.lstrip("#").upper() for m in ORDER_ID.findall(text)}


def _status_of(text: str) -> str:
    """The status word a store status starts with ("pending (item modified)": pending)."""
    return text.split(" (")[0].strip().lower()


def status_claims(text: str) -> set[tuple[str, bool]]:
    """(status, said negatively) for every status ``text`` states about an order now ("it hasn't shipped yet":
    shipped, True); "once it has shipped" and "your refund is processed" are no such claims."""
    names = list(STATUSES)
    claims = set()
    for match in _STATUS.finditer(text):
        before = text[: match.start()]
        if _NOT_NOW.search(before) or _NOT_THE_ORDER.search(before):
            continue
        status = names[next(int(k[1:]) for k, v in match.groupdict().items() if v)]
        claims.add((status, bool(_NEGATED.search(before))))
    return claims


def item_terms(names: Iterable[str]) -> frozenset[str]:
    """How a reply may name each item: its whole name and its last word ("wireless earbuds", "earbuds")."""
    terms = set()
    for name in (n.lower().strip() for n in names if n.strip()):
        terms.add(name)
        if (head := name.split()[-1]) not in _COMMON_HEADS and len(head) > 2:
            terms.add(head)
    return frozenset(terms)


def terms_in(text: str, terms: Iterable[str]) -> set[str]:
    """The ``terms`` ``text`` uses (a plural s allowed)."""
    lowered = text.lower()
    return {t for t in terms if re.search(rf"(?<![\w-]){re.escape(t)}s?(?![\w-])", lowered)}


def order_views(results: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The orders in tool results (``ToolResult.model_dump``): an order itself, or the order a return holds."""
    for result in results:
        data = result.get("data") or {}
        for view in (data, data.get("order")):
            if isinstance(view, dict) and view.get("order_id") and view.get("status"):
                yield view


class OrderFacts(BaseModel):
    """Each order's status and items, and the days the facts give."""

    model_config = ConfigDict(frozen=True)

    statuses: dict[str, str]
    """Order id (without #, upper case) -> its status word."""
    items: dict[str, frozenset[str]]
    """Order id -> how its items may be named (:func:`item_terms`)."""
    item_counts: frozenset[int]
    vocabulary: frozenset[str]
    """How every item a reply could name wrongly may be named (the store's products)."""
    days: frozenset[str]
    """Day words the facts use (lower case)."""
    asked: tuple[frozenset[str], ...] = ()
    """How each item the customer named may be named (:func:`item_terms`): the reply names it too."""
    said: frozenset[str] = frozenset()
    """The sentences of the facts code wrote (as ``sentence_key`` compares them): a reply may repeat them word for
    word."""

    @classmethod
    def of(cls, results: Iterable[dict[str, Any]], *, facts: str, vocabulary: Iterable[str],
           message: str = "") -> OrderFacts:
        """The facts of this turn's tool ``results``, said by code as ``facts``; ``vocabulary``: product names;
        ``message``: the customer's, in English."""
        views = list(order_views(results))
        names = {v["order_id"].lstrip("#").upper(): [i["name"] for i in v.get("items", [])] for v in views}
        named = {item_terms([n]) for ns in names.values() for n in ns}
        return cls(statuses={v["order_id"].lstrip("#").upper(): _status_of(v["status"]) for v in views},
                   items={order: item_terms(n) for order, n in names.items()},
                   item_counts=frozenset(len(n) for n in names.values()),
                   vocabulary=item_terms([*vocabulary, *(n for ns in names.values() for n in ns)]),
                   days=frozenset(m.lower() for m in _DAYS.findall(facts)),
                   asked=tuple(sorted((t for t in named if terms_in(message, t)), key=sorted)),
                   said=frozenset(map(sentence_key, split_sentences(facts))))

    def _true(self, status: str) -> bool:
        """Whether ``status`` holds for one of the orders, now or on its way to where it is."""
        return any(status == now or (status in _MILESTONES and now in _RANK and _RANK[status] < _RANK[now])
                   for now in self.statuses.values())

    def left_out(self, reply: str, facts: Iterable[str]) -> list[str] | None:
        """The sentences of ``facts`` (code's, in order) that give what ``reply`` leaves out: the first naming each
        order whose number or status it does not give, the first naming an item of each order it names no item of
        (customers know their orders by what is in them), and the first naming each item the customer named that
        it does not; None when it says nothing of where an order stands and gives no value of the facts (it answers
        nothing: no reply to extend; "the tracking number is 922650393259" answers)."""
        claims = status_claims(reply)
        if not claims and not _VALUE.search(reply):
            return None
        said = {s for s, negated in claims if not negated}
        ids = _ids(reply)
        wanted: list[Callable[[str], bool]] = [
            *(lambda f, order=order: order in _ids(f) for order, status in self.statuses.items()
              if order not in ids or status not in said),
            *(lambda f, terms=terms: bool(terms_in(f, terms)) for terms in self.items.values()
              if terms and not terms_in(reply, terms)),
            *(lambda f, terms=terms: bool(terms_in(f, terms)) for terms in self.asked if not terms_in(reply, terms))]
        picked = [next((f for f in facts if gives(f)), "") for gives in wanted]
        return [f for f in dict.fromkeys(picked) if f]

    def stand_in(self, before: str, facts: Iterable[str]) -> list[str]:
        """Code's sentences said in place of a model sentence that got a fact wrong (and the rest of the reply),
        after ``before`` (the reply's text before it): each sentence of ``facts`` (code's, in order) that states the
        status of an order ``before`` does not give the status of, so the reply still answers first; none when it
        gives them all (:meth:`left_out` adds anything else missing at the end)."""
        said = {s for s, negated in status_claims(before) if not negated}
        ids = _ids(before)
        wanted = {order for order, status in self.statuses.items() if order not in ids or status not in said}
        picked, about = [], None
        for sentence in facts:
            if named := _ids(sentence):
                about = next(iter(named)) if len(named) == 1 else None
            if about in wanted and status_claims(sentence):
                picked.append(sentence)
        return picked

    def numbered(self, reply: str) -> str:
        """``reply`` with the number of each order it leaves out written after the order's first mention: one of
        its items ("the smart watch (order #W3057001)"), else, in a reply about one order, "your order"."""
        ids = _ids(reply)
        for order, terms in self.items.items():
            if order in ids:
                continue
            names = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) or "(?!)"
            item = re.search(rf"(?<![\w-])(?:{names})s?(?![\w-])(?:( order\b)| \(([^()]*)\))?", reply,
                             re.IGNORECASE)
            if item and item.group(1):  # "your coffee maker order #W4821002"
                reply = f"{reply[:item.end()]} #{order}{reply[item.end():]}"
            elif item and item.group(2):  # "the coffee maker (black, 4 cups; order #W4821002)"
                reply = f"{reply[:item.end() - 1]}; order #{order}){reply[item.end():]}"
            elif item:
                reply = f"{reply[:item.end()]} (order #{order}){reply[item.end():]}"
            elif len(self.items) == 1 and (mention := _THE_ORDER.search(reply)):
                reply = f"{reply[:mention.end()]} #{order}{reply[mention.end():]}"
        return reply

    def numbered_next(self, before: str, sentence: str) -> str:
        """``sentence``, said after ``before``, with the numbers :meth:`numbered` writes into the two together."""
        whole = self.numbered(before + sentence)
        return whole[len(before):] if whole.startswith(before) else sentence

    def wrong(self, sentence: str) -> FactKind | None:
        """The kind of fact ``sentence`` gets wrong, or None: a status no order is in (or denying one it is in, or
        saying an order can or can no longer be cancelled or changed against what its status allows),
        an item of none of the orders, a day the facts don't give, a count of items or orders they don't state, or
        who is speaking (the customer's words said as the agent's). A sentence of the facts repeated word for word
        is right ("I don't see any pending orders on your account, and only pending orders can have that done." names
        a status the order is not in)."""
        if sentence_key(sentence) in self.said:
            return None
        if _CUSTOMER_VOICE.search(sentence):
            return "voice"
        if any(self._true(status) == negated for status, negated in status_claims(sentence)):
            return "status"
        changeable = {status == "pending" for status in self.statuses.values()}  # the store's rule, by status
        if len(changeable) == 1 and not change_claims(sentence) <= changeable:
            return "status"
        allowed = frozenset().union(*self.items.values()) if self.items else frozenset()
        if not terms_in(sentence, self.vocabulary) <= allowed:
            return "item"
        if any(day.lower() not in self.days for day in _DAYS.findall(sentence)):
            return "day"
        for word, noun in _COUNT.findall(sentence):
            counted = {len(self.statuses)} if noun.lower().startswith("order") else self.item_counts
            if (int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]) not in counted:
                return "count"
        return None
