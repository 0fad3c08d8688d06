"""guardrails: the reply classifier and the patterns a real model's replies showed; the input classifier v2

Stored policy versions get what the bundled guardrails gained from the default model's red-team replies to
train-split attacks (evals/data/model_sentences.yaml), each piece only when it is absent, so a section ops edited
keeps its own wording: the output rule ``off_policy_reply`` (the reply classifier ``minilm_replies_v1``, before
``ungrounded_fact``) and the output rule ``hateful`` (after ``disparage``); on ``pretend_human`` denying being an AI
and a professional title claimed; on ``commitment`` "I'll promise" and a refund or discount promised further into
the sentence; on ``offer`` "we offer ... discount codes"; on ``harmful_instructions`` a step that tells to commit a
crime and "starving yourself"; the profanity stem ``porn`` and five ``hazards`` (drug dealers, illegal drugs or
weapons, black and underground markets, the dark web). The input classifier ``minilm_attacks_v1`` at its trained
threshold becomes ``minilm_attacks_v2`` (MiniLM vectors and word n-grams) at its own. Downgrading takes them out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 04:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_versions = sa.table("policy_versions", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))

WORDS: dict[str, list[str]] = {
    "profanity_stems": ["porn"],
    "hazards": [
        'drug dealers?',
        'illegal (drugs|weapons|firearms|guns)',
        'black market',
        'underground market',
        'dark ?web',
    ],
}
"""Entries added to word lists that exist."""
REWORDED: dict[str, tuple[str, str]] = {
    "commitment": (
        (
            "\\b(I|we)\\s+(?!(can't|cannot|can not|don't|do not|won't|will not|couldn't|could"
            " not|am unable|are unable)\\b)(\\w+\\s+){0,3}?(guarantee|promise|assure you|give"
            " you my word|commit to|pledge)\\b"
        ),
        (
            "\\b(I|we)('ll|'d| will| would)?\\s+(?!(can't|cannot|can not|don't|do not|won't|w"
            "ill not|couldn't|could not|am unable|are unable)\\b)(\\w+\\s+){0,3}?(guarantee|p"
            "romise|assure you|give you my word|commit to|pledge)\\b"
        ),
    ),
    "harmful_instructions": (
        (
            '\\b(cut|slit|slash) (your|the|their) (wrists?|veins?|throat)\\b|\\bhang (yoursel'
            'f|themselves|oneself)\\b|\\b(lethal|fatal|deadly) (dose|amount|quantity)\\b|\\b('
            'jump|jumping) (off|from) (a|the) (bridge|building|roof|cliff)\\b|\\bstarve (your'
            'self|themselves)\\b'
        ),
        (
            '\\b(cut|slit|slash) (your|the|their) (wrists?|veins?|throat)\\b|\\bhang (yoursel'
            'f|themselves|oneself)\\b|\\b(lethal|fatal|deadly) (dose|amount|quantity)\\b|\\b('
            'jump|jumping) (off|from) (a|the) (bridge|building|roof|cliff)\\b|\\bstarv(e|ing)'
            ' (yourself|themselves)\\b'
        ),
    ),
}
"""Output rule -> (its pattern before, after): "I'll promise" is a promise; "starving yourself"."""
ADDED: dict[str, tuple[str, list[str]]] = {
    "pretend_human": ((
            '\\bI (had|ate|just had) (my )?(lunch|breakfast|dinner|coffee)\\b|\\b(at|from) my'
            ' desk\\b|\\bmy (manager|boss|coworker|colleague|shift)\\b'
        ), [
            "\\bdeny (being|that i('m| am)) (an? )?(ai|bot|robot|machine|assistant|program|language model)\\b",
            (
                "\\bI('m| am) (a|an|your) (?!(\\w+ )*?(automated|virtual|digital|ai|bot)\\b)(\\w+"
                " ){0,3}?(representative|expert|specialist|advisor|consultant)\\b"
            ),
        ]),
    "commitment": ((
            "\\b(I|we)('ll|'d| will| would)?\\s+(?!(can't|cannot|can not|don't|do not|won't|w"
            "ill not|couldn't|could not|am unable|are unable)\\b)(\\w+\\s+){0,3}?(guarantee|p"
            "romise|assure you|give you my word|commit to|pledge)\\b"
        ), [
            (
                "\\b(I|we)('ll| will| can| am going to| are going to|'m going to|'re going to)\\s"
                "+(?!(not|never)\\b).{0,60}\\b(provide|give|send|offer|issue|get) you( with)? (a "
                "|an |your )?(full |partial )?(refund|discount|credit|voucher|coupon|compensation"
                "|deal)\\b|\\bmake a deal\\b"
            ),
        ]),
    "offer": ((
            '\\b(compensation|compensate|goodwill|store credit|account credit|free of charge|'
            'on the house|complimentary|price match(ing)?|price adjustment|free (upgrade|repl'
            'acement|gift|item|product|month)|make it up to you)\\b'
        ), [
            (
                '\\bwe (offer|give|provide|have)\\b.{0,40}\\b(discount codes?|coupons?|vouchers?|'
                'free credit|promo codes?)\\b'
            ),
        ]),
    "harmful_instructions": ((
            '\\b(cut|slit|slash) (your|the|their) (wrists?|veins?|throat)\\b|\\bhang (yoursel'
            'f|themselves|oneself)\\b|\\b(lethal|fatal|deadly) (dose|amount|quantity)\\b|\\b('
            'jump|jumping) (off|from) (a|the) (bridge|building|roof|cliff)\\b|\\bstarv(e|ing)'
            ' (yourself|themselves)\\b'
        ), [
            (
                '^\\W*((first|next|then|now|finally|afterwards|after that|step \\d+)\\W+)?(steal|'
                'shoplift|embezzle|forge|falsify|fabricate|hack|bribe|blackmail|extort|threaten|s'
                'muggle|launder|stalk|dox|poison)\\b'
            ),
        ]),
}
"""Output rule -> (the pattern they follow, the patterns added after it)."""
HATEFUL: dict[str, Any] = {
    "name": "hateful",
    "patterns": [
        (
            '\\b(all|most|those)\\s+({{groups}}|\\w+ people)\\s+(are|is)\\s+(\\w+\\s+){0,2}?('
            'corrupt|lazy|stupid|dumb|inferior|violent|criminals?|dirty|disgusting|evil|greed'
            'y|ugly|emotional|cheaters?|liars?|backward|uneducated|failures?|worthless)\\b'
        ),
        (
            "\\b(because|since)\\s+(they|he|she)('re| are|'s| is)\\s+(\\w+\\s+){0,3}?(lazy|st"
            "upid|dumb|inferior|backward|uneducated|clueless|failures?)\\b|\\b(they|he|she)('"
            "re| are|'s| is)\\s+(too |so |just )?(lazy|stupid|dumb|inferior|backward|uneducat"
            "ed)\\b"
        ),
    ],
}
"""Inserted after the ``disparage`` output rule."""
OFF_POLICY_REPLY: dict[str, Any] = {
    "name": "off_policy_reply",
    "applies_to": "untrusted",
    "classifier": {"name": "minilm_replies_v1", "threshold": 0.659},
}
"""Inserted before the ``ungrounded_fact`` output rule."""
CLASSIFIER_BEFORE = {"name": "minilm_attacks_v1", "threshold": 0.724}
CLASSIFIER_AFTER = {"name": "minilm_attacks_v2", "threshold": 0.628}
"""The input classifier, moved only when it is the one trained before at its trained threshold."""


def _insert(rules: list[dict[str, Any]], rule: dict[str, Any], *, after: str = "",
            before: str = "") -> list[dict[str, Any]]:
    names = [r.get("name") for r in rules]
    if rule["name"] in names:
        return rules
    anchor = names.index(after) + 1 if after in names else names.index(before) if before in names else len(rules)
    return [*rules[:anchor], rule, *rules[anchor:]]


def _patterns_up(rule: dict[str, Any]) -> dict[str, Any]:
    name, patterns = rule.get("name", ""), list(rule.get("patterns", []))
    if name not in ADDED or not patterns:
        return rule
    before, after = REWORDED.get(name, ("", ""))
    patterns = [after if p == before else p for p in patterns]
    anchor, new = ADDED[name]
    new = [p for p in new if p not in patterns]
    at = patterns.index(anchor) + 1 if anchor in patterns else len(patterns)
    return {**rule, "patterns": [*patterns[:at], *new, *patterns[at:]]}


def _patterns_down(rule: dict[str, Any]) -> dict[str, Any]:
    name = rule.get("name", "")
    if name not in ADDED or "patterns" not in rule:
        return rule
    before, after = REWORDED.get(name, ("", ""))
    return {**rule, "patterns": [before if p == after else p for p in rule["patterns"] if p not in ADDED[name][1]]}


def _classifier(document: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    classifier = document.get("classifier")
    if not isinstance(classifier, dict) or {k: classifier.get(k) for k in old} != old:
        return classifier
    return {**classifier, **new}


def upgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """A policy document of revision 0011 in the shape of this one."""
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict):
        return document
    words = dict(guardrails.get("words", {}))
    for key, entries in WORDS.items():
        if key in words:
            words[key] = [*words[key], *(e for e in entries if e not in words[key])]
    output = [_patterns_up(r) for r in guardrails.get("output", [])]
    output = _insert(_insert(output, HATEFUL, after="disparage"), OFF_POLICY_REPLY, before="ungrounded_fact")
    upgraded = {**guardrails, "words": words, "output": output}
    if "classifier" in guardrails:
        upgraded["classifier"] = _classifier(guardrails, CLASSIFIER_BEFORE, CLASSIFIER_AFTER)
    return {**document, "guardrails": upgraded}


def downgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """This revision's additions taken out again."""
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict):
        return document
    words = {k: [e for e in v if e not in WORDS.get(k, [])] for k, v in guardrails.get("words", {}).items()}
    added = {HATEFUL["name"], OFF_POLICY_REPLY["name"]}
    output = [_patterns_down(r) for r in guardrails.get("output", []) if r.get("name") not in added]
    downgraded = {**guardrails, "words": words, "output": output}
    if "classifier" in guardrails:
        downgraded["classifier"] = _classifier(guardrails, CLASSIFIER_AFTER, CLASSIFIER_BEFORE)
    return {**document, "guardrails": downgraded}


def _rewrite_policies(change: Any) -> None:
    connection = op.get_bind()
    for version, document in connection.execute(sa.select(_versions.c.version, _versions.c.document)).all():
        connection.execute(_versions.update().where(_versions.c.version == version)
                           .values(document=change(dict(document))))


def upgrade() -> None:
    _rewrite_policies(upgraded_policy)


def downgrade() -> None:
    _rewrite_policies(downgraded_policy)
