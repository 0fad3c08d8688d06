"""Replies in the customer's language: each checked English sentence is said in the customer's language, by the
hand-written translation of its fixed wording (``prompts/translations.yaml``) or by the model, whose translation
must keep every number, order number, email address, month, product name, time unit and negation of the English
sentence and pass the output rules; and a customer's message put into English for the input rails and planner."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from agent.guardrails import Grounding, check_sentence
from agent.guardrails._text import ORDER_ID
from agent.guardrails.gate import SentenceGate
from agent.prompts import prompt_text, replies
from core.errors import ModelError
from core.language import reply_language
from core.metrics import TRANSLATED

TRANSLATE_SYSTEM = (
    "You translate a customer-support assistant's sentences from English for the customer. Keep order numbers "
    "(#W...), amounts, numbers, email addresses and tracking numbers exactly as written, and keep product names in "
    "English exactly as written. Answer with the translation only, on one line.")
TO_ENGLISH_SYSTEM = (
    "You translate a customer's message to a support assistant into English, word for word. Keep order numbers, "
    "amounts, numbers, email addresses and names exactly as written. Answer with the translation only, on one line.")
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
_DIGITS = re.compile(r"\d+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ENGLISH_MONTH = re.compile(rf"\b({'|'.join(_MONTHS)})\b")
_DATE = re.compile(rf"^({'|'.join(_MONTHS)}) (\d{{1,2}}), (\d{{4}})$")
_ITEM_COUNT = re.compile(r"^(\d+) items?$")
_DAY_SHAPE = r"\w{3} \d{1,2}, \d{4}"
_SHAPES = {"placed": _DAY_SHAPE, "delivered": _DAY_SHAPE, "shipped": _DAY_SHAPE, "last_event_at": _DAY_SHAPE,
           "count": r"\d+ items?",
           "order_id": r"#W\d{7}", "amount": r"\$\d[\d,]*\.\d\d", "refund_days": r"\d+", "minutes": r"\d+"}
"""What a placeholder's value looks like, where a lazy match would stop too early ("Dec 2, 2026")."""


@cache
def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(prompt_text("translations.yaml"))
    return loaded


def languages() -> tuple[str, ...]:
    """The languages replies are translated into."""
    return tuple(_data()["names"])


def sentences(text: str) -> list[str]:
    """``text`` split where the stream's sentence gate splits it, without the whitespace around."""
    gate = SentenceGate(max_span=len(text) + 1)
    return [s.strip() for s in [*gate.feed(text), *gate.flush()] if s.strip()]


def _english(entry: dict[str, Any]) -> str:
    if "en" in entry:
        return str(entry["en"])
    value: Any = replies()
    for part in entry["key"].split("."):
        value = value[part]
    return str(value)


@cache
def _fixed(language: str) -> list[tuple[re.Pattern[str], str]]:
    """Each fixed English sentence as a pattern (its placeholders as groups) and its translation."""
    pairs = []
    for entry in _data()["sentences"]:
        english, translated = sentences(_english(entry)), sentences(entry[language])
        if len(english) != len(translated):
            raise ValueError(f"translations.yaml: {entry.get('key') or entry['en']!r} in {language} has "
                             f"{len(translated)} sentences, the English {len(english)}")
        for source, target in zip(english, translated, strict=True):
            pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m[1]}>{_SHAPES.get(m[1], '.+?')})", re.escape(source))
            pairs.append((re.compile(f"^{pattern}$"), target))
    return pairs


def _value(name: str, value: str, language: str) -> str | None:
    """A placeholder's value as said in ``language``: status words, reasons, item counts and dates translated, item
    lists joined with its "and", everything else (ids, amounts, names, addresses) as written; None when a value
    that needs translating has none here."""
    data = _data()
    glossary = {"status": "statuses", "reason": "reasons", "last_event": "tracking"}
    if name in glossary:
        words = data[glossary[name]].get(value)
        return None if words is None else str(words[language])
    if (count := _ITEM_COUNT.match(value)) is not None:
        forms = data["item_count"][language]
        n = int(count[1])
        return str(forms["one"] if n == 1 else forms["other"].format(n=n))
    if (date := _DATE.match(value)) is not None:
        month = data["months"][language][_MONTHS.index(date[1])]
        return str(data["date"][language].format(day=date[2], month=month, year=date[3]))
    if name == "items":
        return value.replace(" and ", f" {data['conjunction'][language]} ")
    if name == "refund_to":
        return value.replace(" ending ", f" {data['ending'][language]} ")
    return value


def fixed_translation(sentence: str, language: str) -> str | None:
    """The hand-written translation of ``sentence`` when it is fixed wording (placeholders filled in), else None."""
    for pattern, target in _fixed(language):
        if (match := pattern.match(sentence)) is None:
            continue
        values = {k: _value(k, v, language) for k, v in match.groupdict().items()}
        if None not in values.values():
            return target.format(**values)
    return None


def _month_kept(english: str, translated: str, language: str) -> bool:
    lowered = translated.lower()
    for month in _ENGLISH_MONTH.findall(english):
        local = _data()["months"][language][_MONTHS.index(month)].rstrip(".").lower()
        if local[:3] not in lowered and month.lower() not in lowered:
            return False
    return True


def facts_kept(english: str, translated: str, *, language: str, names: Iterable[str] = ()) -> bool:
    """Whether ``translated`` says every fact of ``english``: the same numbers (digits, in any grouping: "$114.22"
    may be "114,22 $"), order numbers and email addresses, each product name verbatim, each month, the same time
    units and a negation exactly where the English has one; and is a sentence of about the same length."""
    if not translated.strip() or not 0.4 <= len(translated) / max(len(english), 1) <= 2.5:
        return False
    if "{" in translated or Counter(_DIGITS.findall(english)) != Counter(_DIGITS.findall(translated)):
        return False
    if set(ORDER_ID.findall(english)) != set(ORDER_ID.findall(translated)):
        return False
    if set(_EMAIL.findall(english)) != set(_EMAIL.findall(translated)):
        return False
    if any(name in english and name not in translated for name in names):
        return False
    return _month_kept(english, translated, language) and all(
        bool(pattern["en"].search(english)) == bool(pattern[language].search(translated)) for pattern in _meanings())


@cache
def _meanings() -> list[dict[str, re.Pattern[str]]]:
    """Words a translation says exactly when the English does: each time unit, and negation."""
    data = _data()
    return [{k: re.compile(v, re.IGNORECASE) for k, v in forms.items()}
            for forms in [*data["units"].values(), data["negation"]]]


@cache
def _upset_words() -> dict[str, re.Pattern[str]]:
    return {language: re.compile(pattern, re.IGNORECASE) for language, pattern in _data()["upset"].items()}


def upset_in(text: str, language: str) -> bool:
    """Whether ``text``, written in ``language``, says the customer is frustrated, has contacted us before or is
    waiting too long, in that language's own words (False for a language without a list)."""
    pattern = _upset_words().get(language)
    return bool(pattern and pattern.search(text))


def in_language(reply: str, language: str) -> bool:
    """Whether ``reply`` reads as written in ``language`` (not the English reply after the notice that no safe
    translation was found; a reply too short to tell counts as English)."""
    notice = _data()["in_english"].get(language)
    return reply_language(reply) == language and not (notice and reply.startswith(notice))


class Translator:
    """Says checked English sentences in ``language``; None for a sentence it cannot translate safely."""

    def __init__(self, model: Callable[[], BaseChatModel | None], language: str,
                 names: Callable[[], Iterable[str]] = tuple) -> None:
        """``model``: gives the model that translates (asked when a sentence needs it; None: none can);
        ``names``: the product names that stay verbatim."""
        self._model = model
        self.language = language
        self._names = names
        self._catalog: tuple[str, ...] | None = None
        """The product names, read once per reply (at its first model-translated sentence)."""

    def __call__(self, sentence: str) -> str | None:
        core = sentence.strip()
        if not core:
            return sentence
        lead, trail = sentence[: len(sentence) - len(sentence.lstrip())], sentence[len(sentence.rstrip()):]
        translated, by = fixed_translation(core, self.language), "fixed"
        if translated is None:
            translated, by = self._by_model(core), "model"
        TRANSLATED.labels(self.language, by if translated is not None else "failed").inc()
        return None if translated is None else f"{lead}{translated}{trail}"

    def _by_model(self, sentence: str) -> str | None:
        model = self._model()
        if model is None:
            return None
        if self._catalog is None:
            self._catalog = tuple(self._names())
        names = sorted((n for n in self._catalog if n in sentence), key=len, reverse=True)
        masked = sentence
        for i, name in enumerate(names):
            masked = masked.replace(name, f"[{i + 1}]")
        translated = translate_with_model(model, masked, self.language)
        for i, name in enumerate(names):
            translated = translated.replace(f"[{i + 1}]", name)
        if not facts_kept(sentence, translated, language=self.language, names=names):
            return None
        return None if check_sentence(translated, Grounding(trusted=True)) else translated  # the output rules too

    def in_english_notice(self) -> str:
        """Said before the English reply when a sentence could not be translated."""
        return str(_data()["in_english"][self.language])


def translate_with_model(model: BaseChatModel, sentence: str, language: str) -> str:
    """The model's translation of ``sentence`` (empty when the model fails)."""
    task = f"Translate into {_data()['names'][language]}:\n{sentence}"
    try:
        answer = model.invoke([SystemMessage(TRANSLATE_SYSTEM), HumanMessage(task)],
                              stop=["\n"], max_tokens=2 * len(sentence.split()) + 24, temperature=0.0)
    except ModelError:
        return ""
    return str(answer.content).strip()


def to_english(model: BaseChatModel | None, text: str) -> str | None:
    """The model's English translation of a customer's message, or None (no model, a failure, or a number, order id
    or email address lost on the way)."""
    if model is None:
        return None
    try:
        answer = model.invoke([SystemMessage(TO_ENGLISH_SYSTEM), HumanMessage(f"Translate into English:\n{text}")],
                              stop=["\n"], max_tokens=2 * len(text.split()) + 24, temperature=0.0)
    except ModelError:
        return None
    english = str(answer.content).strip()
    same = (Counter(_DIGITS.findall(text)) == Counter(_DIGITS.findall(english))
            and set(_EMAIL.findall(text)) == set(_EMAIL.findall(english)))
    return english if english and same else None
