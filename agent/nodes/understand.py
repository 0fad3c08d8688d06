"""Understand node: input rails, the router's intent (nearest-neighbour routing plus rules), order numbers,
sentiment and the triggers that hand a conversation to a person before anything else happens."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.escalation import after_looking_up, before_answering
from agent.events import Thinking
from agent.executor import extract
from agent.guardrails import InputVerdict, inspect_input
from agent.guardrails.rules import load_rules
from agent.prompts import replies
from agent.state import AgentContext, AgentDeps, AgentState
from agent.telemetry.rails import count_rail_hits
from agent.translation import languages, to_english, upset_in
from core.language import MIN_WORDS, OTHER, reply_language
from tools import customer_flags
from tools.arguments import alike

_ORDER_ID = re.compile(r"#?\bW\s?(\d{7})\b|#(\d{7})\b|\border\s*(?:number|no\.?|#)?\s*(\d{7})\b", re.IGNORECASE)
_HUMAN = re.compile(
    r"\b(human|real person|live (agent|person)|representative|operator|manager)\b|"
    r"^(?=.*\b(hablar|parler|sprechen|falar|parlare)\b)(?=.*\b(persona|humano|agente|personne|humain|quelqu'un|"
    r"mensch|mitarbeiter\w*|pessoa|atendente|operatore)\b)", re.IGNORECASE | re.DOTALL)
"""A request for a person, in English or in the other languages customers write (es, fr, de, pt, it)."""
_PERSON_WORDS = ("human", "representative", "operator")
_ABOUT_THE_BOT = re.compile(r"\b(are you|are u|r u|am i (talking|chatting|speaking) (to|with)|is this|is it)\b|"
                            r"\bor (a |an )?(bot|ai|robot|machine)\b|"
                            r"\b(bot|robot|robô|roboter|máquina|maschine|macchina)\s+(o|ou|oder)\b|"
                            r"\b(o|ou|oder)\s+(\w+\s+){0,2}(bot|robot|robô|roboter)\b", re.IGNORECASE)
"""Whether the assistant is a bot, in English or as "a robot or a person?" in the other languages."""
TRANSLATED_MAX_WORDS = 200
"""Longer messages in another language are not translated (the translating instance reads 1k tokens): every rail
reads them as written."""
OTHER_LANGUAGE = "other_language"
"""The intent of a message in a language the agent cannot answer in: it says so, in English, and offers a person."""
_SEVERAL = re.compile(r"\b(and|also|plus|then|but|or)\b|[?.!].+[?!]", re.IGNORECASE)
_ANGRY_WORDS = re.compile(r"\b(angry|furious|ridiculous|unacceptable|worst|useless|scam|disgusting|fed up)\b", re.I)
_UPSET = re.compile(
    r"\b(annoy(ed|ing)|frustrat(ed|ing)|upset|disappoint(ed|ing)|terrible|awful|horrible|garbage|rubbish|ugh|"
    r"absurd|outrag(e|eous)|unbelievable|shameful|disgrace(ful)?|"
    r"sick of|tired of|a joke|not (ok|okay|acceptable)|(yet|once) again|"
    r"(late|wrong|broken|missing|delayed|happened) again|(second|third|fourth|fifth|\d+(st|nd|rd|th)) time|"
    r"still (not|no|hasn'?t|haven'?t|isn'?t|don'?t|didn'?t|waiting)|keep (asking|waiting|writing|calling)|"
    r"(waiting|waited) (forever|ages|so long|for weeks|for days)|"
    r"(was|were) supposed to (arrive|come|ship|be (here|delivered|there))|should have (arrived|come|shipped)|"
    r"(nobody|no one|no-one) (\w+ ){0,2}(tell|answer|help|repl(y|ie)|respond|gets? back|getting back|contact|call|"
    r"say)\w*)\b", re.I)
"""Frustration, repeated contacts and urgency in plain words: a customer who writes these is upset even without
strong words or shouting."""


def last_customer_text(state: AgentState) -> str:
    """The newest customer message."""
    return next((str(m.content) for m in reversed(state["messages"]) if m.type == "human"), "")


def extract_order_ids(text: str) -> list[str]:
    """Order numbers the customer wrote, normalised to ``#W1234567``."""
    found = (next(g for g in m.groups() if g) for m in _ORDER_ID.finditer(text))
    return list(dict.fromkeys(f"#W{digits}" for digits in found))


def asks_for_a_person(text: str) -> bool:
    """The message asks for a person in so many words, however misspelt ("a humna"), and not whether the
    assistant is one."""
    misspelt = any(alike(wanted, word) for word in re.findall(r"[a-z]{5,}", text.lower()) for wanted in _PERSON_WORDS)
    return (bool(_HUMAN.search(text)) or misspelt) and not _ABOUT_THE_BOT.search(text)


def several_requests(text: str) -> bool:
    """The message may hold more than one request: a conjunction, or several sentences."""
    return bool(_SEVERAL.search(text.strip().rstrip("?.!")))


def sentiment_of(text: str) -> str:
    """``angry``, ``negative`` or ``neutral`` from shouting, strong words and swearing (angry), and frustration,
    repeated contacts or urgency (negative): cheap and explainable."""
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7
    strong = len(_ANGRY_WORDS.findall(text))
    if shouting or strong >= 2 or text.count("!") >= 3 or load_rules().has_profanity(text):
        return "angry"
    return "negative" if strong or _UPSET.search(text) else "neutral"


def _reply_language(text: str, state: AgentState, deps: AgentDeps) -> str:
    """The language to answer in: the customer's when replies are translated into it; English when they are not
    but the planner reads it; :data:`~core.language.OTHER` when nothing here reads it."""
    language = reply_language(text, current=state.get("language", "en"))
    if language == "en" or (language in languages() and deps.translation_model() is not None):
        return language
    return "en" if language != OTHER and deps.planner == "model" else OTHER


def input_rails(text: str, language: str,
                translation_model: Callable[[], BaseChatModel | None]) -> tuple[InputVerdict, str | None]:
    """The input rails on ``text``, and its English translation when it needed one. The input classifier and most
    input patterns are English: a message in another language gets the rules on its own words and every rail on
    its English translation (the original gets every rail when there is no translation or it is too long to
    translate). The classifier reads only messages of at least its ``min_words`` as the customer wrote them, however
    long their translation; a message too short to tell its language by, such as "sí", is not translated."""
    classifier, words = load_rules().config.classifier, len(text.split())
    if language not in languages() or words < MIN_WORDS or words > TRANSLATED_MAX_WORDS:  # English, or nothing to
        # translate
        return inspect_input(text), None
    verdict = inspect_input(text, classify=False)
    if verdict.flag:
        return verdict, None
    english = to_english(translation_model(), text)
    classify = classifier is not None and words >= classifier.min_words
    return inspect_input(text if english is None else english, classify=classify), english


def _announced(translation_model: Callable[[], BaseChatModel | None],
               sent: list[Thinking]) -> Callable[[], BaseChatModel | None]:
    """``translation_model``, fetched once the customer has been told the agent is reading (the event is noted in
    ``sent``): a translation takes seconds, and every turn sends its first event at once."""

    def model() -> BaseChatModel | None:
        if not sent:
            sent.append(Thinking())
            get_stream_writer()(sent[0])
        return translation_model()

    return model


def understand(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Check the newest customer message (input rails, escalation triggers) and take the router's reading of it,
    which the planner starts from."""
    text = last_customer_text(state)
    route = runtime.context.deps.router.route(text)
    intent = route.intent
    if _HUMAN.search(text) and intent in ("unknown", "complaint", "off_topic", "policy_question"):
        intent = "human_agent"
    order_ids = extract_order_ids(text)
    if intent == "human_agent" and runtime.context.deps.planner == "model" and (
            not asks_for_a_person(text) or several_requests(text)):
        intent = "unknown"  # "are you a bot?" reads close to "a human, please", and a person asked for beside
        # other requests comes after them: the planner tells them apart
    elif intent == "human_agent" and not asks_for_a_person(text) and (extract.email(text) or order_ids):
        intent = "unknown"  # details the agent asked for ("jane@example.com 78789") ask for nobody
    sentiment = sentiment_of(text)
    language = _reply_language(text, state, runtime.context.deps)
    thinking: list[Thinking] = [Thinking()] if state.get("thinking_sent") else []  # [the one sent already]
    rails, english = input_rails(text, language, _announced(runtime.context.deps.translation_model, thinking))
    count_rail_hits("input", rails)
    if sentiment == "neutral" and upset_in(text, language):  # in its own words: a translation may soften them
        sentiment = "negative"
    elif english and sentiment == "neutral":  # the English word lists read its translation
        sentiment = sentiment_of(english)
    if language == OTHER:  # a request for a person is understood in any language
        intent = intent if intent == "human_agent" else OTHER_LANGUAGE
        language = state.get("language", "en")
    understood: dict[str, Any] = {
        "thinking_sent": bool(thinking),
        "language": language,
        "intent": intent,
        "route_score": route.score,
        "route_margin": route.margin,
        "order_ids": order_ids,
        "sentiment": sentiment,
        "input_flag": rails.flag,
        "angry_messages": state.get("angry_messages", 0) + (sentiment == "angry"),
    }
    flags = customer_flags(runtime.context.deps.store, runtime.context.customer_id or state.get("verified_customer_id"))
    now = {**state, **understood}
    reason = before_answering(now, runtime.context.deps.escalation, flags)  # type: ignore[typeddict-item]
    later = None if reason else after_looking_up(now, runtime.context.deps.escalation, flags)  # type: ignore[typeddict-item]
    said = {"say": replies()["other_language"]} if intent == OTHER_LANGUAGE else {}
    if english:  # the planner reads it beside the customer's own words
        newest = state["messages"][-1]
        understood["messages"] = [newest.model_copy(update={"additional_kwargs": {"english": english}})]
    return {**understood, **said, "escalation_reason": reason, "hand_over_after_lookups": later}
