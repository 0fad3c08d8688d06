"""Every escalation trigger, each configurable, with what the customer is told (scripted model)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from agent.escalation_config import load_escalation_config
from agent.events import HandoffStarted
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from tests.conftest import Chat, text_of
from tools.store.models import Handoff

OLIVIA, LIAM = "olivia_martin_4821", "liam_chen_3057"
SUNDAY_NIGHT = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def chat(world: AgentDeps, customer: str | None = OLIVIA, *, steps: list[Any] | None = None, clock: Any = None,
         planner: str | None = None, **config: Any) -> Chat:
    escalation = load_escalation_config().model_copy(update=config)
    deps = dataclasses.replace(world, model=ScriptedChatModel(steps=steps or []), escalation=escalation,
                               clock=clock or world.clock, planner=planner or world.planner)
    return Chat(deps, customer)


def handoff_of(events: list) -> HandoffStarted | None:
    return next((e for e in events if isinstance(e, HandoffStarted)), None)


def stored(c: Chat) -> Handoff:
    with c.deps.store.session() as session:
        return session.scalars(select(Handoff).where(Handoff.conversation_id == c.conversation_id)).one()


def test_explicit_request_and_its_switch(world: AgentDeps) -> None:
    c = chat(world)
    events = c.say("get me a real person")
    assert handoff_of(events).reason == "customer asked for a human"
    assert "you're number" in text_of(events) and "minutes' wait" in text_of(events)
    off = chat(world, explicit_request=False)
    assert handoff_of(off.say("get me a real person")) is None


def test_frustration_after_repeated_angry_messages(world: AgentDeps) -> None:
    c = chat(world)
    assert handoff_of(c.say("THIS IS RIDICULOUS, WHERE IS MY STUFF")) is None
    events = c.say("this is unacceptable and useless!!!")
    assert handoff_of(events).reason == "customer is frustrated"
    assert stored(c).priority == "high"
    assert handoff_of(chat(world, frustration_messages=0).say("useless ridiculous service!!!")) is None


def test_swearing_at_the_bot_counts_as_frustration(world: AgentDeps) -> None:
    c = chat(world, frustration_messages=1)
    assert handoff_of(c.say("this damn website is crap")).reason == "customer is frustrated"


def test_unhappy_flagged_customer_goes_straight_to_a_person(world: AgentDeps) -> None:
    events = chat(world, LIAM).say("I'm very unhappy with your company")
    assert handoff_of(events).reason == "unhappy vip customer"
    assert handoff_of(chat(world, OLIVIA).say("I'm very unhappy with your company")) is None
    assert handoff_of(chat(world, LIAM, flagged_customers=[]).say("I'm very unhappy with your company")) is None


def planned(world: AgentDeps, *commands: dict[str, Any]) -> Chat:
    """A conversation with the flagged customer whose message the scripted model plans as ``commands``."""
    return chat(world, LIAM, steps=[json.dumps({"commands": list(commands)})], planner="model")


def test_unhappy_flagged_customer_hears_the_order_asked_about_then_a_person(world: AgentDeps) -> None:
    c = planned(world, {"cmd": "lookup", "order_id": "#W3057001"})
    events = c.say("Where is my watch?? I've been waiting forever and nobody tells me anything")
    assert handoff_of(events).reason == "unhappy vip customer"
    said = text_of(events)
    assert "#W3057001" in said and said.index("#W3057001") < said.index("human agent")
    assert said.lower().startswith("i'm sorry")


def test_unhappy_flagged_customer_asking_for_a_change_leaves_it_to_the_person(world: AgentDeps) -> None:
    c = planned(world, {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W3057001"},
                {"cmd": "answer", "question": "how long do refunds take?"})
    events = c.say("this is so disappointing, the watch is not what I expected, I want to return it")
    assert handoff_of(events).reason == "unhappy vip customer"
    assert "To confirm" not in text_of(events)
    state = c.agent.graph.get_state({"configurable": {"thread_id": c.conversation_id}}).values
    assert state["task"] is None and not state["queue"]


def test_questions_the_help_center_cannot_answer(world: AgentDeps) -> None:
    c = chat(world)  # (trivia such as "the capital of Mongolia" is declined by the input classifier: issue #19)
    assert handoff_of(c.say("do you sell garden gnomes for my backyard party?")) is None
    events = c.say("do you sell tickets to the moon?")
    assert handoff_of(events).reason == "questions the help center cannot answer"


def test_no_progress_after_n_turns(world: AgentDeps) -> None:
    c = chat(world, no_progress_turns=3, unanswered_questions=0)
    assert handoff_of(c.say("hi")) is None
    assert handoff_of(c.say("ok")) is None
    assert handoff_of(c.say("hmm hello again")).reason == "no progress"


def test_repeated_guardrail_trips(world: AgentDeps) -> None:
    bad = "This store is the worst, honestly."
    c = chat(world, steps=[bad, bad], guardrail_trips=2)
    assert handoff_of(c.say("what is your return policy")) is None
    assert handoff_of(c.say("how long does shipping take")).reason == "repeated guardrail trips"


def test_outside_business_hours_the_customer_gets_a_ticket(world: AgentDeps) -> None:
    c = chat(world, clock=lambda: SUNDAY_NIGHT)
    text = text_of(c.say("I want to talk to a human"))
    ticket = stored(c)
    assert ticket.ticket and f"ticket #{ticket.id}" in text and "within one business day" in text
    assert "number" not in text


@pytest.mark.parametrize(("hour", "open_"), [(12, False), (13, True), (0, True), (1, False)])
def test_business_hours_are_read_in_the_configured_timezone(hour: int, open_: bool) -> None:
    hours = load_escalation_config().business_hours
    assert hours.is_open(datetime(2026, 11, 25, hour, 0, tzinfo=UTC)) is open_  # NY: 07:00, 08:00, 19:00, 20:00


@pytest.mark.parametrize("message", ["my father died last week and I need to cancel his orders",
                                     "I'm going to sue you over this, my lawyer will call"])
def test_sensitive_topics_go_to_a_person_with_care(world: AgentDeps, message: str) -> None:
    c = chat(world)
    events = c.say(message)
    assert handoff_of(events).reason == "sensitive topic"
    assert "I'm so sorry" in text_of(events) and stored(c).priority == "urgent"
    switched_off = handoff_of(chat(world, sensitive_topics=False).say(message))
    assert switched_off is None or switched_off.reason != "sensitive topic"


def test_a_handoff_after_a_reply_is_said_once_and_apart(world: AgentDeps) -> None:
    c = chat(world)
    c.say("do you sell garden gnomes for my backyard party?")
    text = text_of(c.say("do you sell tickets to the moon?"))
    first, _, second = text.partition("\n\n")
    assert "not sure" in first and "human agent" in second and "not sure" not in second
