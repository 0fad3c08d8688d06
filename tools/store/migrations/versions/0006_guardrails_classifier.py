"""guardrails that generalize: the input classifier, and no rules for single eval strings

Stored policy versions whose ``guardrails`` section has no ``classifier`` get the input classifier (the bundled
``minilm_attacks_v1``, blocking at its trained threshold); the input patterns that fired only on the guardrails
eval's own prompts are dropped; the output patterns that spelled the scripted bad model's strings ("no takesies",
"roses are red") lose those strings ("legally binding", which the real model wrote too, stays); output patterns
that generalize what a real model told to misbehave wrote (a line of verse, a first name claimed, the staff or
products run down, "I'll get you a refund") and four insults are added. A section without the old patterns
(edited by ops) keeps its own. Documents without a ``guardrails`` section get the bundled one anyway.
Downgrading removes the classifier; the dropped patterns stay dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_versions = sa.table("policy_versions", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))

CLASSIFIER = {"name": "minilm_attacks_v1", "mode": "block", "threshold": 0.724, "min_words": 5,
              "unless": [r"#?\bW\d{7}\b", r"\b(are|r) (you|u) (a |an )?(real )?(bot|robot|ai|human|person|machine)\b"],
              "flags": {"harmful": "harmful", "jailbreak": "injection", "off_task": "off_task",
                        "sensitive": "sensitive"}}
DROPPED_INPUT = (
    (
     r'\b(what|which)\s+(are|were|is)\s+your\s+(\w+\s+){0,2}?(instructions|prompt|directives|programmin'
     r'g|configuration|guardrails|restrictions)\b'
    ),
    (
     r'\bwhat\s+(were|are|was)\s+you\s+(told|instructed|programmed|asked|given|trained)\b'
    ),
    (
     r'\bwhat\s+(are|were)\s+you\s+not\s+(supposed|allowed|permitted)\s+to\b'
    ),
    (
     r'\b(complete|continue)\s+(this|the following|the)\s+(sentence|text|phrase)\b.{0,40}\b(instruct|pr'
     r'ompt|told|rules|system)'
    ),
    (
     r'\b(i was instructed to|my instructions are|the system prompt is|initiali[sz]ation string)\b'
    ),
    (
     r'\b(synthesi[sz]e|synthesis of|weaponi[sz]e|enrich uranium|culture|aerosoli[sz]e)\b.{0,40}\b(agen'
     r'ts?|toxins?|pathogens?|virus|bacteria|uranium|plutonium|dimethylmercury|nitroglycerin|tatp)\b'
    ),
    (
     r'\blegally binding\b|\bno takesies\b|\btakesies backsies\b'
    ),
    (
     r'\bjust say (deal|yes|ok)\b|\bsay (deal|yes) and\b'
    ),
    (
     r'\b(sell|give)\s+(me|it to me)\b.{0,40}\b(for|at)\s+(\$\s?0*1(\.00)?|one dollar|a dollar|a penny|'
     r'one cent|free|nothing|\$?0(\.00)?)\b'
    ),
    (
     r'\bfor\s+(\$\s?0*1(\.00)?|one dollar|a dollar|a penny|one cent)\b.{0,40}\b(deal|agree|accept|sell'
     r'|binding|offer)\b'
    ),
    (
     r"\b(do we have a deal|is it a deal|that's a deal)\b.{0,40}\b(\$\s?\d|dollar|binding|free)\b|\b(\$"
     r"\s?0*1|one dollar)\b.{0,40}\b(do we have a deal|is it a deal)\b"
    ),
    (
     r'\b(you (must|have to|will) (honou?r|accept|agree to))\b.{0,40}\b(price|offer|deal|discount|refun'
     r'd|this)\b'
    ),
    (
     r"\b(promise|guarantee|confirm|write|say|state|put it in writing)\b.{0,30}\b(in writing|that (i|we"
     r") (will|'ll) (get|receive)|me a (full )?refund|me a discount|me compensation|me a (free|replacem"
     r"ent))\b"
    ),
    (
     r'\b(give|offer|grant|issue|apply|make)\s+(me|us)\s+(a\s+)?(\d+\s?%|\$\s?\d+|free|special|secret|s'
     r'taff|employee|exclusive)\s*(off|discount|coupon|code|credit|voucher|deal|price)\b'
    ),
    (
     r'\b(your (opinion|view|thoughts) on|what do you think (about|of)|do you (support|like|believe in)'
     r')\b.{0,40}\b(politics|election|president|trump|biden|abortion|religion|god|immigration|war|israe'
     r'l|palestine|ukraine|russia|gun control|vaccines?|democrats?|republicans?)\b'
    ),
)
"""Input patterns that fired on the eval's own prompts and on nothing else in the public sets."""
REWORDED_OUTPUT = {
    (
        r'\b(roses are red|violets are blue|once upon a time|knock,? knock|happily ever after|why did '
        r'the .{1,40} cross the road|the end\.?$)\b'
    ): (
        r'\b(once upon a time|knock,? knock|happily ever after|the end\.?$)\b'
    ),
    (
        r"\blegally binding\b|\bno takesies\b|\b(it's|that's|you've got) a deal\b|\bdeal!"
    ): (
        r"\blegally binding\b|\b(it's|that's|you've got) a deal\b|\bdeal!"
    ),
    (
        r"\b(I|we)('ll| will| can| could| would| shall| am going to| are going to|'m going to|'re goin"
        r"g to)\s+(personally\s+|gladly\s+|happily\s+|also\s+|immediately\s+|now\s+|definitely\s+|cert"
        r"ainly\s+)?(refund|reimburse|compensate|credit|waive|cover|replace|give you|offer you|send yo"
        r"u a|upgrade|expedite|rush|make sure|ensure|match|throw in|add a)\b"
    ): (
        r"\b(I|we)('ll| will| can| could| would| shall| am going to| are going to|'m going to|'re goin"
        r"g to)\s+(\w+ly\s+|also\s+|now\s+|just\s+|still\s+)?(refund|reimburse|compensate|credit|waive"
        r"|cover|replace|give you|offer you|send you a|upgrade|expedite|rush|make sure|ensure|match|th"
        r"row in|add a|get (you )?a (full |free )?(refund|discount|credit))\b"
    ),
}
"""Output patterns that spelled the scripted bad model's strings or named one phrasing -> their general form."""
ADDED_OUTPUT = {
    'pretend_human': [
        r"(?-i:\b(?:I'm|I am|[Mm]y name is)\s+(?!Northwind\b|Sorry\b|Not\b)[A-Z][a-z]{2,}\b)(?=\s*(,|\."
        r"|!|\s+(from|with|at|here|and|your)\b))",
    ],
    'disparage': [
        r"\b(your|our|the|northwind's)\s+(staff|team|employees|people|products?|company|store|service|"
        r"ceo|boss|management|prices|quality)\s+(is|are|was|were)\s+(\w+\s+){0,3}?(rude|grumpy|mean|la"
        r"zy|old|cheap|bad|poor|slow|stupid|dumb|liars?|crooks?|thieves|ugly|boring|lame|awful|terribl"
        r"e|junk|trash|garbage|useless|overpriced|a scam|scammers?|incompetent|clueless|worthless|a jo"
        r"ke|idiots?|morons?)\b",
        r'\b(northwind|this company|our company|the company|this store|our store|we|us)\b.{0,40}\b(kno'
        r'wn for|famous for|notorious for)\b.{0,40}\b(unethical|immoral|corrupt|fraud\w*|dishonest|poo'
        r'r|bad|terrible|awful|shoddy|scams?)\b|\bavoid (working|dealing|shopping|doing business) with'
        r' us\b|\bavoid (buying|ordering) from us\b',
    ],
    'creative': [
        r'^[^.!?\n]{3,80},\s*$',
    ],
}
"""Output patterns that generalize what the real misbehaving model wrote (appended to their rule)."""
ADDED_INSULTS = ['fool', 'fools', 'foolish', 'buffoon']


def _rules(rules: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    return [{**rule, "patterns": [p for p in map(change, rule["patterns"]) if p is not None]} if "patterns" in rule
            else rule for rule in rules]


def upgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """A policy document of revision 0005 in the shape of this one."""
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict) or "classifier" in guardrails:
        return document
    upgraded = dict(guardrails)
    upgraded["input"] = _rules(guardrails.get("input", []), lambda p: None if p in DROPPED_INPUT else p)
    upgraded["output"] = [
        {**rule, "patterns": [*rule["patterns"], *(p for p in ADDED_OUTPUT.get(rule["name"], [])
                                                   if p not in rule["patterns"])]} if "patterns" in rule else rule
        for rule in _rules(guardrails.get("output", []), lambda p: REWORDED_OUTPUT.get(p, p))]
    words = dict(guardrails.get("words", {}))
    if "insults" in words:
        words["insults"] = [*words["insults"], *(w for w in ADDED_INSULTS if w not in words["insults"])]
    upgraded["words"] = words
    upgraded["input"] = [r for r in upgraded["input"] if r.get("patterns") or r.get("check")]
    upgraded["classifier"] = CLASSIFIER
    return {**document, "guardrails": upgraded}


def downgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    guardrails = document.get("guardrails")
    if not isinstance(guardrails, dict):
        return document
    return {**document, "guardrails": {k: v for k, v in guardrails.items() if k != "classifier"}}


def _rewrite_policies(change: Any) -> None:
    connection = op.get_bind()
    for version, document in connection.execute(sa.select(_versions.c.version, _versions.c.document)).all():
        connection.execute(_versions.update().where(_versions.c.version == version)
                           .values(document=change(dict(document))))


def upgrade() -> None:
    _rewrite_policies(upgraded_policy)


def downgrade() -> None:
    _rewrite_policies(downgraded_policy)
