"""Checks of what a customer (or the planner, on their behalf) names against the store's data: which of the
customer's orders and items a phrase means, and which catalogue option. Nothing here guesses: a phrase that
matches nothing, or several things equally well, matches nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from difflib import SequenceMatcher
from itertools import pairwise
from typing import Any

from tools.option_wishes import LETTER_SIZES, outright, wishes

_ALL = re.compile(r"\b(?:all(?=\s*(?:$|[.,;:!?)]|(?:of|in|from|ordered|back|together)\b|(?:(?:the|my|these|those|"
                  r"\d+|two|three|four|five)\s+)?(?:items?|things|stuff|products|purchases)\b))|"
                  r"everything|both|whole order|entire order|every item)\b"
                  r"(?!\s+(?:of\s+)?(?:my\s+|the\s+|your\s+)?(?:[a-z]+\s+)?orders?\b)", re.IGNORECASE)
"""Every item of the order ("return all of it", "all items", "both"), not every order ("cancel all pending
orders") nor every one of some items ("all bookshelves and jigsaw puzzles")."""
_EXCEPT = re.compile(r"\b(?:except(?:\s+for)?|other than|apart from|excluding|all but|everything but|but not)\b"
                     r"([^.;!?]*)", re.IGNORECASE)
"""The items left out of "all" ("everything except the coffee machine")."""
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"[^\W_]+")
"""A word or number in any script."""
_ITEM_ID = re.compile(r"\b\d{10}\b")
"""A catalogue item id, as customers copy it from the website or their order ("item ID 4107812777")."""
_NOT_NAMES = {"the", "and", "for", "with", "from", "order", "item", "items", "one", "this", "that", "want", "new",
              "please", "return", "exchange", "cancel", "instead",
              # common words a typo-tolerant match would take for a name ("make it the black ones": Coffee Maker)
              "make", "made", "like", "need", "have", "send", "sent", "take", "give", "keep", "just", "still",
              "think", "know", "what", "when", "where", "which", "there", "them", "they", "then", "than", "your",
              "about", "would", "could", "should", "actually", "thing", "things", "stuff"}


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if len(w) > 2 and w.rstrip("s") not in _NOT_NAMES}


TYPO_RATIO = 0.8
"""Words of five letters or more this alike are the same word misspelt ("cofee" and "coffee")."""
OPTION_TYPO_RATIO = 0.85
"""The same for option values, which customers name beside other words, from the same first two letters on ("blak"
is black; "back" is not, nor is "while" white)."""


def _ending(word: str) -> str:
    """A word with an "-ie" ending spelt "-y", as customers often write it ("hoody", "beany")."""
    return f"{word[:-2]}y" if word.endswith("ie") else word


def alike(word: str, other: str, ratio: float = TYPO_RATIO) -> bool:
    """The same word, misspelt (five letters or more, ``ratio`` alike, or "-ie" written "-y")."""
    if len(word) < 5 or len(other) < 4:
        return False
    return _ending(word) == _ending(other) or SequenceMatcher(None, word, other).ratio() >= ratio


def _matched(names: set[str], said: set[str]) -> set[str]:
    """Which of ``names`` the customer's words say, typos allowed."""
    return {n for n in names if n in said or any(alike(n, w) for w in said)}


def _overlap(names: set[str], said: set[str]) -> bool:
    """Whether the customer's words name one of ``names``, typos allowed."""
    return bool(_matched(names, said))


def _said_words(text: str) -> set[str]:
    """The customer's words, and each two in a row run together ("ear buds" names the Earbuds)."""
    words = [w for w in _WORD.findall(text.lower()) if w.rstrip("s") not in _NOT_NAMES]
    return _words(text) | {f"{a}{b}".rstrip("s") for a, b in pairwise(words)}


def said_in(value: str, text: str) -> bool:
    """Every word and number of ``value`` is in ``text``; words may be misspelt there ("orderd by mistke"),
    numbers may not."""
    said = set(_TOKEN.findall(text.lower()))
    return all(w in said or (w.isalpha() and any(alike(w, s) for s in said)) for w in _TOKEN.findall(value.lower()))


def _name_words(name: str) -> set[str]:
    """A name's words, and the name run together ("T-Shirt" is also "tshirt", the way customers type it)."""
    return _words(name) | {"".join(_WORD.findall(name.lower())).rstrip("s")}


_UNIT_NAMES = {"foot": "ft", "feet": "ft", "inches": "inch", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
               "cups": "cup", "hours": "hour", "hrs": "hour", "degrees": "degree", "pounds": "lbs", "lb": "lbs",
               "megapixels": "mp"}
"""Ways of writing a unit after a number, as the catalogue writes it ("4 foot" is "4 ft", "12 inch" "12 inches"; not
"in": "the 10 in black")."""
_UNIT_AFTER_NUMBER = re.compile(r"(?<=\d)(?=[a-z])")


def _with_units(words: list[str]) -> list[str]:
    """``words`` with each unit after a number in the catalogue's spelling."""
    return [_UNIT_NAMES.get(w, w) if i and words[i - 1].isdigit() else w for i, w in enumerate(words)]


def _option_words(text: str) -> set[str]:
    """Words as option values need them: short ones kept ("L", "XL", "4K"), units in one spelling ("4 foot" is
    "4 ft"), nothing else changed."""
    return {w for w in _with_units(_WORD.findall(text.lower())) if w not in _NOT_NAMES}


def _describe(candidate: dict[str, Any], key: str) -> str:
    value = candidate.get(key, "")
    return " ".join(str(v) for v in value.values()) if isinstance(value, dict) else str(value)


_ALONGSIDE = re.compile(r"\b(?:received|bought|ordered|got|came|arrived|shipped|purchased)\s+(?:together\s+)?"
                        r"(?:with|alongside)\s+(?:the\s+|my\s+|a\s+|an\s+)?[a-z-]+(?:\s+[a-z-]+)?", re.IGNORECASE)
"""What another item came with ("... I received with the vacuum cleaner"): it points to the order, not an item."""


def items_named(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items (of one order) whose names ``text`` mentions; all of them for "all"/"both", but those it leaves
    out ("everything except the coffee maker"). An item named only by words that name another item more fully is
    not meant ("the smart thermostat" is not the Smart Watch), nor one named as what another came with ("the
    backpack I received with the vacuum cleaner")."""
    if _ALL.search(text):
        left_out = _EXCEPT.search(text)
        return [i for i in items if not left_out or i not in _items_said(left_out.group(1), items)]
    named = _items_said(text, items)
    alongside = _items_said(" ".join(m.group(0) for m in _ALONGSIDE.finditer(text)), items)
    return [i for i in named if i not in alongside] if len(named) > len(alongside) else named


_KEEPING = re.compile(r"\b(?:keep|keeping|not|except|but not|other than)\b[^.,;!?]*", re.IGNORECASE)
"""What the customer leaves out ("only the black one, i'm keeping the white one")."""


_BECOMES = re.compile(r"\b(?:to|into|for|instead)\b.*", re.IGNORECASE)
"""What an item is to become ("... the 17-inch laptop to the 13-inch version"): not how it is now."""


_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+")


def sentences(text: str) -> list[str]:
    """``text`` split into sentences (at ".", ";", "!" and "?")."""
    return _SENTENCE_END.split(text)


def _about_item(text: str, name: str) -> str:
    """What ``text`` says of the item called ``name`` as it is now: the sentences naming it (by any word of its
    name), each up to what it asks the item to become (all of ``text`` when no sentence names it)."""
    words = "|".join(re.escape(w) for w in _WORD.findall(name.lower()))
    about = []
    for sentence in sentences(text):
        if found := re.search(rf"\b(?:{words})\w*", sentence, re.IGNORECASE):
            about.append(sentence[:found.end()] + _BECOMES.sub("", sentence[found.end():]))
    return " ".join(about) or text


def alike_items_meant(text: str, items: Sequence[dict[str, Any]],
                      ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Of ``items`` (of one order, those a message names), the ones meant where several share a name and ``text``
    asks for one of them ("return a vacuum cleaner", not "both vacuum cleaners"): the one whose options it names
    ("the robotic one", not the one it keeps), or the more (less) expensive one it asks for. Returns the items
    meant and the groups of alike items ``text`` does not tell apart."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["name"], []).append(item)
    meant, unclear = [], []
    for name, group in groups.items():
        last = _WORD.findall(name.lower())[-1]
        if len(group) == 1 or _ALL.search(text) or re.search(rf"\b{re.escape(last)}e?s\b", text.lower()):
            meant.extend(group)
            continue
        about = _about_item(text, name)
        said = _said_words(about) - _said_words(" ".join(_KEEPING.findall(about)))
        shared = set.intersection(*(_words(_describe(i, "options")) for i in group))
        phrase = _phrase(about)
        numbered = [i for i in group if any(any(c.isdigit() for c in str(v)) and _phrase(str(v)) in phrase and not all(
            other["options"].get(k) == v for other in group) for k, v in i["options"].items())]  # "the 17-inch one"
        picked = numbered or [i for i in group if _overlap(_words(_describe(i, "options")) - shared, said)]
        if len(picked) != 1 and (toward := wishes(about, {}).price):  # "the more expensive one"
            picked = _at_price_end([i for i in group if "price" in i], lambda i: float(i["price"]), toward)
        if len(picked) == 1:
            meant.extend(picked)
        else:
            unclear.append(group)
    return [i for i in items if i in meant], unclear


def items_excepted(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items ``text`` leaves out of what it asks for ("..., except the boots that I really love")."""
    return [i for i in items if any(i in _items_said(left_out, items) for left_out in _EXCEPT.findall(text))]


def items_kept(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items ``text`` keeps out of a change ("the earbuds, not the shirt", "i'm keeping the white one")."""
    return _items_said(" ".join(_KEEPING.findall(text)), items)


def all_but(text: str) -> bool:
    """The message asks for every item but some ("everything except a keyboard and a mouse")."""
    return bool(_ALL.search(text) and _EXCEPT.search(text))


def _items_said(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = set(_ITEM_ID.findall(text))
    if by_id := [i for i in items if i.get("item_id") in ids]:
        return by_id  # "change item ID 1340995114 to ...": the item the customer copied from their order
    said = _said_words(text)
    matched = [(i, _matched(_name_words(_describe(i, "name")), said)) for i in items]
    by_name = [i for i, words in matched if words and not any(words < other for _, other in matched)]
    return [i for i in items if i in by_name or i.get("product_id") in ids]  # a product's id taken for its item's


def product_meant(text: str, hint: str, names: Sequence[str]) -> str | None:
    """The one catalogue product (of ``names``) a question is about: the one ``text`` names, the planner's ``hint``
    choosing among several; or the one the hint names when its words are the customer's. None when unclear."""
    listed = [{"name": name} for name in names]
    named = _items_said(text, listed)
    if len(named) > 1 and said_in(hint, text):
        named = _items_said(hint, named) or named
    if not named and said_in(hint, text):
        named = _items_said(hint, listed)
    return str(named[0]["name"]) if len(named) == 1 else None


def _letter_sizes(text: str) -> set[str]:
    """Letter sizes said in words ("extra large" is XL, not also L)."""
    found, rest = set(), text.lower()
    for words in sorted(LETTER_SIZES, key=len, reverse=True):
        pattern = rf"\b{words}\b"
        if re.search(pattern, rest):
            found.add(LETTER_SIZES[words])
            rest = re.sub(pattern, " ", rest)
    return found


def _phrase(text: str) -> str:
    """``text`` as lowercase words, a number's unit apart and in one spelling ("1.5L" and "1.5 liters": "1 5 l")."""
    return f" {' '.join(_with_units(_TOKEN.findall(_UNIT_AFTER_NUMBER.sub(' ', text.lower()))))} "


def options_asked(text: str, variants: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """The option values of ``variants`` that ``text`` asks about ("purple", "v-neck", "size S", "a small one"), by
    option: a value is named in full ("neck" names neither "crew neck" nor "v-neck"), a one-letter size only as a
    size; yes/no values are not named by a bare "no" or "yes"."""
    said, sizes = _phrase(text), _sizes_said(text) | _letter_sizes(text)
    asked: dict[str, list[str]] = {}
    for variant in variants:
        for key, value in variant["options"].items():
            words = _phrase(str(value))
            as_size = "size" in key.lower() and str(value).lower() in sizes
            in_full = len(words.strip()) > 1 and words.strip() not in ("yes", "no") and words in said
            if (as_size or in_full) and value not in asked.setdefault(key, []):
                asked[key].append(value)
    return {key: values for key, values in asked.items() if values}


def has_asked(options: dict[str, Any], asked: dict[str, list[str]]) -> bool:
    """Whether ``options`` hold one of the values ``asked`` (:func:`options_asked`) for every option asked about."""
    return all(options.get(key) in values for key, values in asked.items())


_LIST_WORDS = {"and", "the", "my", "a", "an", "both", "plus", "&"}
"""What stands between the names of a list of items ("the cleaner, headphone, and smart watch")."""


def items_listed_with(text: str, items: Sequence[dict[str, Any]],
                      anchors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``anchors`` and the items (of the same order) that ``text`` lists together with them, names separated only
    by commas and "and" (and the start of the next one's name): "return the cleaner, headphone, and smart watch"
    is one request for three items, while "return the earbuds and exchange the toothbrush" lists nothing
    together."""
    tokens = re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower())
    naming = {}
    for position, token in enumerate(tokens):
        word = {token.rstrip("s")}
        named = [i for i in items if len(token) > 2 and _overlap(_name_words(_describe(i, "name")), word)]
        if len(named) == 1:
            naming[position] = named[0]
    groups: list[list[dict[str, Any]]] = []
    last = None
    for position in sorted(naming):
        between = tokens[last + 1:position] if last is not None else None
        own = _name_words(_describe(naming[position], "name"))  # "smart" of "smart watch" names two items
        if between is not None and all(t in _LIST_WORDS or t == "," or t.rstrip("s") in own for t in between):
            groups[-1].append(naming[position])
        else:
            groups.append([naming[position]])
        last = position
    listed = [i for group in groups if any(a in group for a in anchors) for i in group]
    return [i for i in items if i in anchors or i in listed]


def _item_namer(text: str, typos: bool) -> Callable[[dict[str, Any]], bool]:
    """Whether ``text`` names an item by its name (misspelt too when ``typos``)."""
    said = _said_words(text)

    def names(item: dict[str, Any]) -> bool:
        words = _name_words(item["name"])
        return bool(said) and (_overlap(words, said) if typos else bool(words & said))

    return names


def orders_holding(text: str, orders: Sequence[dict[str, Any]], *, typos: bool = True) -> list[dict[str, Any]]:
    """The orders holding an item that ``text`` names by name ("the coffee maker"; "the cofee maker" too unless
    ``typos`` is false)."""
    return [o for o in orders if items_called(text, o["items"], typos=typos)]


def items_called(text: str, items: Sequence[dict[str, Any]], *, typos: bool = True) -> list[dict[str, Any]]:
    """The items that ``text`` names by their name (misspelt too when ``typos``), whatever else it says ("the
    whole order")."""
    names = _item_namer(text, typos)
    return [i for i in items if names(i)]


def orders_holding_most(text: str, orders: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the orders holding what ``text`` names, those holding the most of the kinds of item it names ("the desk
    lamp and the backpack" beside orders with a backpack only)."""
    names = _item_namer(text, typos=True)
    kinds = {o["order_id"]: len({i["name"] for i in o["items"] if names(i)}) for o in orders}
    most = max(kinds.values(), default=0)
    return [o for o in orders if most and kinds[o["order_id"]] == most]


def order_by_price(text: str, orders: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Of several orders holding the item ``text`` names, the one whose such item is the more (or less) expensive
    that ``text`` asks for ("return the more expensive one" of two tablets); None when it asks for neither, or two
    cost the same."""
    toward = wishes(text, {}).price
    holding = [o for o in orders if items_called(text, o["items"])]
    if not toward or len(holding) < 2:
        return None
    end = _at_price_end(holding, lambda o: max(float(i["price"]) for i in items_called(text, o["items"])), toward)
    return end[0] if len(end) == 1 else None


def _at_price_end(candidates: Sequence[Any], price: Callable[[Any], float], toward: int) -> list[Any]:
    """The candidates at the end of their prices asked for: the most expensive (``toward`` 1) or the cheapest."""
    best = max((toward * price(c) for c in candidates), default=None)
    return [c for c in candidates if toward * price(c) == best]


_GENERIC_PAYMENT = {"card", "ending", "balance"}


def _payment_words(method: dict[str, Any]) -> set[str]:
    """What names a payment method: its kind, brand and last four digits ("visa", "1234", "paypal", "gift")."""
    words = _WORD.findall(f"{method['source']} {method['description']}".lower().replace("_", " "))
    joined = method["source"].lower().replace("_", "")  # "giftcard", "creditcard"
    return {joined} | {w for w in words if w not in _GENERIC_PAYMENT and (not w.isdigit() or len(w) == 4)}


_PREFERRED = re.compile(r"\bprefer\w*\s+((?:[a-z0-9]+\s*){1,4})", re.IGNORECASE)
"""What the customer prefers ("I would prefer gift card payment")."""


def payment_named(text: str, methods: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The one payment method (``PaymentMethodView`` data) that ``text`` names, or of several the one it prefers
    ("prefer gift card payment; if that is not possible, the credit card") or does not turn down; else None."""
    named = [m for m in methods if _overlap(_payment_words(m), _option_words(text))]
    if len(named) > 1:
        preferred = _option_words(" ".join(_PREFERRED.findall(text)))
        turned_down = _option_words(" ".join(_TURNED_DOWN.findall(text)))
        named = [m for m in named if _overlap(_payment_words(m), preferred)] or [
            m for m in named if not _overlap(_payment_words(m), turned_down)]
    return named[0] if len(named) == 1 else None


_TURNED_DOWN = re.compile(
    r"\b(?:not|instead of|rather than|except)\s+((?:(?!in\b|with\b|and\b|but\b)[a-z0-9]+\s*){1,3})", re.IGNORECASE)
"""Up to three words after "not", "instead of", "rather than" or "except", up to "in", "with", "and" or "but":
options the customer does not want ("not white", "not black in M")."""


_WITHOUT = re.compile(r"\b(?:no|without)\s+([a-z]+)", re.IGNORECASE)
"""An option turned off by its name ("no backlight", "without a lid" is not matched: one word)."""
_NONE = {"none", "no", "without", "n/a"}
_SIZED = re.compile(r"\b(?!(?:in|a|an|the|of|same|my|your|this|that|what|which|any|one)\b)((?:extra\s+)?[a-z0-9]+)"
                    r"[ -]sized?\b|\bsize\s+([a-z0-9]+)", re.IGNORECASE)
"""A size said as one ("medium sized", "size 8"): that word names the size, not another option."""


def _sizes_said(text: str) -> set[str]:
    """The words ``text`` gives as a size, letter sizes also as their letters ("medium" is also "m")."""
    said = {(a or b).lower() for a, b in _SIZED.findall(text)}
    return said | {LETTER_SIZES[w] for w in said if w in LETTER_SIZES}


def _asked_outright(text: str) -> str:
    """``text`` without what asks for no value: amounts, ranked choices (:func:`outright`) and values turned down."""
    return _TURNED_DOWN.sub(" ", outright(text))


def _shared_words(variants: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    """By option, the words every one of its values has ("inch" of "13-inch" and "15-inch"): they name none."""
    values: dict[str, set[str]] = {}
    for variant in variants:
        for key, value in variant["options"].items():
            values.setdefault(key, set()).add(str(value))
    return {key: set.intersection(*(set(_phrase(v).split()) for v in found)) if len(found) > 1 else set()
            for key, found in values.items()}


def _number_named(value: str, shared: set[str], phrase: str) -> bool:
    """Whether a value with a number ("15-inch", "1TB SSD") is said in ``phrase`` (:func:`_phrase`): its words but
    those every value of its option has ("1 tb"), with its unit when only the number would be left ("15 inch")."""
    words = _phrase(value).split()
    core = [w for w in words if w not in shared]
    return f" {' '.join(words if all(w.isdigit() for w in core) else core)} " in phrase


def _names(key: str, value: Any, said: set[str], without: set[str], sizes: set[str],
           numbers: tuple[set[str], str] = (set(), "")) -> bool:
    """Whether the customer's words name this option value (a "none" value by "no <option>": "no backlight";
    a word given as a size names only a size; a value with a number by its number and unit, and one told apart
    from the others by a letter ("Brand A") by all its words, ``numbers``: the option's shared words and the
    message as a phrase)."""
    if str(value).lower() in _NONE:
        return bool(_option_words(key) & without)
    if numbers[1] and any(c.isdigit() for c in str(value)):
        return _number_named(str(value), *numbers)
    words = set(_phrase(str(value)).split())
    core = words - numbers[0]
    if numbers[1] and core != words and all(len(w) == 1 for w in core):  # "Brand A" is named as such, never by "a"
        return _phrase(str(value)) in numbers[1]  # or "brand" (but "M" by "medium")
    if "size" in key.lower():
        return bool(_option_words(str(value)) & (said | sizes))
    words, others = _option_words(str(value)), said - sizes
    return bool(words & others) or any(w[:2] == o[:2] and alike(w, o, OPTION_TYPO_RATIO) for w in words for o in others)


_Score = tuple[int, int, int, tuple[float, ...], float, int]


def _ranked(text: str, variants: Iterable[dict[str, Any]],
            current: dict[str, Any]) -> list[tuple[_Score, dict[str, Any]]]:
    """The available variants that grant the message's relative wishes ("bigger", "the same size"), best first:
    the most option values named (without those turned down: "the black ones, not white", and those ranked),
    then the fewest named values given up ("a shorter bamboo one" stays bamboo), then the customer's order of
    preference ("battery > USB > AC"), then the ends asked for ("the maximum zoom"), then the price asked for
    ("the cheapest"), then the fewest other changes."""
    wish = wishes(text, current)
    ranked_words = set().union(*wish.preferred)
    said = _option_words(text) - _option_words(" ".join(_TURNED_DOWN.findall(text))) - ranked_words - wish.amount_words
    without = {w.lower() for w in _WITHOUT.findall(text)}
    sizes = _sizes_said(text)
    variants = list(variants)
    shared, phrase = _shared_words(variants), _phrase(_asked_outright(text))
    scored = []
    for variant in variants:
        if not variant["available"] or variant["options"] == current or not wish.allow(variant["options"], current):
            continue
        wanted = {k: v for k, v in variant["options"].items() if current.get(k) != v}
        named = sum(_names(k, v, said, without, sizes, (shared[k], phrase)) for k, v in wanted.items())
        given_up = sum(_names(k, current[k], said, without, sizes, (shared.get(k, set()), phrase))
                       for k in wanted if k in current)
        scored.append(((named, -given_up, -wish.preference(variant["options"]), wish.extremity(variant["options"]),
                        wish.price * float(variant.get("price", 0)), -len(wanted)), variant))
    return sorted(scored, key=lambda pair: pair[0], reverse=True) if (wish or any(s[0][0] for s in scored)) else []


def option_named(text: str, variants: Iterable[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any] | None:
    """The available variant that ``text`` names by its item id, else the one that best fits what it asks for (see
    :func:`_ranked`); None when nothing is asked for, two fit equally well, or the best lacks the new value the
    customer asked an option to take ("4 foot, same material and colour" when that one is sold out)."""
    variants = list(variants)
    ids = set(_ITEM_ID.findall(text))
    by_id = [v for v in variants if v["item_id"] in ids and v["available"] and v["options"] != current]
    if len(by_id) == 1:
        return by_id[0]
    scored = _ranked(text, variants, current)
    if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    best = scored[0][1]["options"]
    asked = options_asked(_asked_outright(text), variants)
    changed = {key: values for key, values in asked.items() if current.get(key) not in values}
    return scored[0][1] if has_asked(best, changed) else None


def options_fitting(text: str, variants: Iterable[dict[str, Any]], current: dict[str, Any]) -> list[dict[str, Any]]:
    """The available variants to offer when ``text`` does not settle on one: those that fit it best, or all."""
    variants = list(variants)
    scored = _ranked(text, variants, current)
    best = [variant for score, variant in scored if score == scored[0][0]] if scored else []
    return best or [v for v in variants if v["available"] and v["options"] != current]
