"""A customer message read clause by clause, with no model: which clauses are questions, and which ask for a
change in so many words. The planner's grounding uses it to catch what a small model misread."""

from __future__ import annotations

import re
from typing import NamedTuple

from tools.arguments import alike


class Clause(NamedTuple):
    text: str
    sentence: str
    """The sentence the clause is part of."""
    question: bool


ACTION_WORDS = {"cancel_pending_order": "cancel", "return_delivered_order_items": "return",
                "exchange_delivered_order_items": "exchange"}
"""The word that asks for a change in so many words, by the write that makes it."""
_SENTENCE = re.compile(r"[^.!?;]+[.!?;]*")
_CLAUSE = re.compile(r"[,:]|\b(?:and|also|plus|but|then|so)\b", re.IGNORECASE)
_QUESTION = re.compile(r"^(can|could|would|will|is|are|was|were|do|does|did|has|have|how|what|when|where|why|which|"
                       r"who|if|should|may|am)\b|\b(how to|know|wonder\w*|"
                       r"(want|like|need) to ask (about|which|what|if|whether|how|when|where|why))\b", re.IGNORECASE)
_NEGATION = {"not", "no", "never", "dont", "don't", "didnt", "didn't", "wont", "won't", "cant", "can't", "cannot",
             "doesnt", "doesn't", "wouldnt", "wouldn't", "shouldnt", "shouldn't"}
_NEAR_ACTIONS = {"change", "changes", "charge", "charges"}
"""Words as alike to an action word as its misspellings, which are not it ("change" is not "exchange")."""
_ACTION_NOUNS = {"label", "labels", "policy", "window", "request", "status", "fee", "fees", "process", "shipping",
                 "period", "number", "address", "button", "form"}
"""Words after "return" or "cancel" that make it a noun ("the return label never came"), not a request."""


def clauses_of(text: str) -> list[Clause]:
    """The clauses of ``text``, each with its sentence and whether it is a question: it starts like one, or it
    ends a sentence that ends in a question mark ("return the backpack, and is my refund through?")."""
    found = []
    for sentence in _SENTENCE.findall(text):
        clauses = [c.strip() for c in _CLAUSE.split(sentence.rstrip(".!?; ")) if c and c.strip()]
        asked = sentence.rstrip().endswith("?")
        found += [Clause(c, sentence, bool(_QUESTION.search(c)) or (asked and i == len(clauses) - 1))
                  for i, c in enumerate(clauses)]
    return found


def asks_for(clause: str, action: str) -> bool:
    """The clause asks for ``action``: the verb itself (misspelt, not inflected: "cancelled" tells what happened)
    as its first word or after "to", "please", "also", "just" or "or" ("cancel or return"), not a noun ("return
    label"), with no negation before it in the clause."""
    words = re.findall(r"[a-z']+", clause.lower().replace("\u2019", "'"))
    for index, word in enumerate(words):
        verb = word == action or (alike(action, word) and not word.startswith(action) and word not in _NEAR_ACTIONS)
        follows = words[index + 1] if index + 1 < len(words) else ""
        before = words[index - 1] if index else "to"
        if verb and before in ("to", "please", "pls", "also", "just", "or") and follows not in _ACTION_NOUNS:
            return not _NEGATION & set(words[:index])  # "don't return it"; not "return all not for gaming"
    return False


def asks_a_change(clause: str) -> bool:
    """The clause asks for a cancellation, a return or an exchange (:func:`asks_for`)."""
    return any(asks_for(clause, action) for action in ACTION_WORDS.values())
