"""A labelled demo history for the insights page, so that a new installation shows what the page reads: seeded
figures (not model runs), stored with ``demo`` set and never counted with real conversations."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from tools.outcomes import TurnFacts, add_turn
from tools.store import Store
from tools.store.models import ConversationOutcome, utcnow

CONVERSATIONS = 120
REQUESTS = {"order_status": 30, "return_refund": 16, "cancel_order": 12, "policy_question": 14, "change_address": 6,
            "exchange_item": 6, "account_password": 5, "human_agent": 5, "thanks_bye": 6}
TOOLS = {"order_status": "get_order_details", "return_refund": "return_delivered_order_items",
         "cancel_order": "cancel_pending_order", "change_address": "modify_pending_order_address",
         "exchange_item": "exchange_delivered_order_items", "account_password": "request_password_reset"}
UNANSWERED = [
    ["do you ship to canada?", "can I get my order shipped to Canada", "international shipping to canada?"],
    ["can you gift wrap my order?", "is gift wrapping available", "do you offer gift wrap"],
    ["do you price match?", "will you match a lower price from another store?"],
    ["is there a student discount?", "do students get a discount"],
]
TRIGGERS = [("customer asked for a human", "general"), ("customer is frustrated", "escalations"),
            ("policy exception", "billing"), ("sensitive topic", "account")]


def ensure_demo_history(store: Store, *, now: datetime | None = None, seed: int = 7) -> bool:
    """Seed the demo history unless the store has it; True when it was seeded."""
    with store.session() as session:
        if session.scalars(select(ConversationOutcome.id).where(ConversationOutcome.demo.is_(True))).first():
            return False
    rng, now = random.Random(seed), now or utcnow()
    with store.session(write=True) as session:
        for n in range(CONVERSATIONS):
            at = now - timedelta(days=rng.uniform(0.5, 29.5))
            for facts in _conversation(rng, at):
                row = add_turn(session, f"demo-{n:04d}", facts, demo=True)
            if rng.random() < 0.45:
                row.rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 25, 12, 10, 8])[0]
    return True


def _conversation(rng: random.Random, at: datetime) -> list[TurnFacts]:
    """One made-up conversation's turns."""
    request = rng.choices(list(REQUESTS), weights=list(REQUESTS.values()))[0]
    turns, count = [], rng.choice([1, 1, 2, 2, 3])
    for step in range(count):
        last = step == count - 1  # the request is acted on in the last turn
        fast = rng.random() < 0.35
        facts = TurnFacts(
            at=at + timedelta(minutes=2 * step), ending="answered", request=request,
            path="fast" if fast else "planner", first_text_ms=round(rng.lognormvariate(6.4 if fast else 8.2, 0.35)),
            tools=[(TOOLS[request], rng.choices(["done", "denied", "needs_approval"], [80, 15, 5])[0])]
            if request in TOOLS and last else [],
        )
        turns.append(facts)
    roll = rng.random()
    if request == "policy_question" and roll < 0.5:
        group = rng.choice(UNANSWERED)
        turns[-1] = turns[-1].model_copy(update={"ending": "unresolved", "unanswered": rng.choice(group)})
    elif request == "human_agent" or roll < 0.15:
        turns[-1] = turns[-1].model_copy(update={"handoff": rng.choice(TRIGGERS)})
    elif roll < 0.25:
        turns[-1] = turns[-1].model_copy(update={"ending": "waiting"})
    elif roll < 0.28:
        turns[-1] = turns[-1].model_copy(update={"ending": "unresolved", "rails": ["prompt_injection"]})
    return turns
