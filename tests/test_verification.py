"""Verifying an anonymous customer: the facts the policy accepts, and pauses after failures that follow the
claimed identity across conversations and the client's address, grow with each failure and always end."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.executor.flow import identity_call, identity_facts
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from evals.world import TAU2_POLICY
from tests.conftest import Chat, make_settings, text_of
from tests.live_server import private_store, serve
from tests.sse import reply_text
from tests.test_api_conversations import new_conversation, send
from tools import execute
from tools.policy import Policy, VerificationMethod, load_policy
from tools.store import Store

POLICY = load_policy()
TAU2 = load_policy(TAU2_POLICY)
OLIVIA = {"email": "olivia.martin4821@example.com", "zip": "78789"}
START = datetime(2031, 1, 6, 12, 0)
"""Far from the clock of the other tests, whose attempts the copied store may hold."""


def verify(store: Store, *, conversation: str = "c1", address: str | None = None, minutes: float = 0,
           policy: Policy = POLICY, tool: str = "verify_customer_by_email_zip", **facts: Any) -> Any:
    return execute(store, tool, facts, policy=policy, conversation_id=conversation, customer_id=None,
                   client_address=address, now=START + timedelta(minutes=minutes))


def fail_five_times(store: Store, **where: Any) -> None:
    for n in range(5):
        result = verify(store, **{"conversation": f"c{n}", **where}, email=OLIVIA["email"], zip="00000")
        assert (result.outcome, result.data["verified"], result.data["attempts_left"]) == ("done", False, 4 - n)


def test_the_default_policy_takes_email_and_zip_and_an_email_alone_does_not_verify(fresh_store: Store) -> None:
    alone = verify(fresh_store, tool="verify_customer_by_email", email=OLIVIA["email"])
    assert (alone.outcome, alone.rule) == ("denied", "verification_method")
    assert "email address on your account and its zip code" in alone.message
    assert verify(fresh_store, email=OLIVIA["email"], zip="00000").data["verified"] is False
    matched = verify(fresh_store, **OLIVIA)
    assert matched.data["verified"] is True and matched.data["customer_id"] == "olivia_martin_4821"


def test_the_tau2_policy_keeps_tau2s_rule(fresh_store: Store) -> None:
    by_email = verify(fresh_store, policy=TAU2, tool="verify_customer_by_email", email=OLIVIA["email"])
    by_name = verify(fresh_store, policy=TAU2, tool="verify_customer_by_name_zip", first_name="Olivia",
                     last_name="Martin", zip="78789")
    assert by_email.data["verified"] is True and by_name.data["verified"] is True
    assert verify(fresh_store, policy=TAU2, **OLIVIA).rule == "verification_method"


def test_the_sixth_failure_is_locked_in_a_new_conversation_even_with_the_right_facts(fresh_store: Store) -> None:
    fail_five_times(fresh_store)
    locked = verify(fresh_store, conversation="new", minutes=1, **OLIVIA)
    assert (locked.outcome, locked.rule) == ("denied", "verification_locked")
    assert "4 minutes" in locked.message and "sign in" in locked.message and "person" in locked.message


def test_the_pause_doubles_with_each_failure_up_to_the_cap_and_then_ends(fresh_store: Store) -> None:
    fail_five_times(fresh_store)  # pause: 5 minutes
    minute, pauses = 0.0, []
    for _ in range(6):
        while verify(fresh_store, minutes=minute, email="olivia.martin4821@example.com", zip="1").rule:
            minute += 1  # a refused try while paused is not counted, and does not lengthen the pause
        pauses.append(minute)
    gaps = [later - earlier for earlier, later in itertools.pairwise(pauses)]
    assert pauses[0] == 5 and gaps == [10, 20, 40, 60, 60]  # doubled each time, never more than an hour
    minute += 61
    assert verify(fresh_store, minutes=minute, **OLIVIA).data["verified"] is True  # a pause always ends


def test_a_known_and_an_unknown_email_get_the_same_replies(fresh_store: Store) -> None:
    def replies(email: str) -> list[tuple[str, str | None, str]]:
        results = [verify(fresh_store, conversation=email, email=email, zip="00000") for _ in range(6)]
        return [(r.outcome, r.rule, r.message) for r in results]

    assert replies(OLIVIA["email"]) == replies("nobody.at.all@example.com")


def test_failures_from_one_address_pause_that_address_only(fresh_store: Store) -> None:
    for n in range(5):
        verify(fresh_store, address="203.0.113.7", email=f"guess{n}@example.com", zip="00000")
    from_there = verify(fresh_store, address="203.0.113.7", minutes=1, **OLIVIA)
    assert from_there.rule == "verification_locked"
    assert verify(fresh_store, address="198.51.100.2", minutes=1, **OLIVIA).data["verified"] is True


@pytest.mark.parametrize("facts", [{"email": "x" * 300, "zip": "1"}, {"email": "a@b.c"}, {"email": 5, "zip": []}])
def test_bad_arguments_are_a_clear_retry_and_record_nothing(fresh_store: Store, facts: dict[str, Any]) -> None:
    result = verify(fresh_store, **facts)
    assert result.outcome == "retry" and result.message
    assert verify(fresh_store, **OLIVIA).data["attempts_left"] == 5


def test_over_http_failures_from_one_client_address_pause_it_in_any_conversation(
    world: AgentDeps, world_settings: Settings, tmp_path: Path,
) -> None:
    store = private_store(world_settings, tmp_path / "store")
    settings = make_settings(tmp_path, database_url=str(store.engine.url))
    own_store = lambda s: dataclasses.replace(world, settings=s, store=store, model=ScriptedChatModel())  # noqa: E731
    with serve(settings, deps_factory=own_store) as base:
        def reply(text: str) -> str:
            return reply_text([e for e in send(base, new_conversation(base), text) if e["type"] != "customer_message"])

        for n in range(5):
            assert "couldn't match" in reply(f"where is my order #W4821002? I'm guess{n}@example.com, zip 00000")
        locked = reply("where is my order #W4821002? I'm olivia.martin4821@example.com, zip 78789")
    assert "paused verification" in locked and "Coffee Maker" not in locked


@pytest.mark.parametrize(("text", "facts"), [
    ("i'm olivia.martin4821@example.com, zip 78789", {"email": "olivia.martin4821@example.com", "zip": "78789"}),
    ("my name is Olivia Martin and my zip is 78789", {"name": ("Olivia", "Martin"), "zip": "78789"}),
    ("send it to 77 Pine Street, Seattle, WA 98101", {}),  # the new address's zip says nothing of who they are
    ("where is order #W4821002", {}),
    ("im olivia martin 78789", {"name": ("Olivia", "Martin"), "zip": "78789"}),
    ("Hi, I'm Olivia Martin", {"name": ("Olivia", "Martin")}),
    # what follows "I am" or "this is" is a name only when written as one or given with a zip code or an email
    ("If not possible, I am angry and swear, then agree", {}),
    ("I'm very unhappy with your company", {}),
    ("this is ridiculous and i want a refund", {}),
    ("I'm so sorry to bother you, my name is olivia martin", {"name": ("Olivia", "Martin")}),
])
def test_the_facts_a_message_gives_about_who_the_customer_is(text: str, facts: dict[str, Any]) -> None:
    assert identity_facts(text) == facts


def test_the_agent_asks_for_what_each_started_way_still_needs(chat_with: Callable[..., Chat]) -> None:
    both: list[VerificationMethod] = ["email_zip", "name_zip"]
    assert identity_call({"zip": "78789"}, both) is None
    assert identity_call({"name": ("Olivia", "Martin"), "zip": "78789"}, both) == (
        "verify_customer_by_name_zip", {"zip": "78789", "first_name": "Olivia", "last_name": "Martin"})
    chat = chat_with(ScriptedChatModel(), None)
    chat.say("where is my order #W4821002")
    asked = text_of(chat.say("the zip is 78789"))
    assert "need the email address on your account, or your full name" in asked
    assert "you're verified" in text_of(chat.say("my name is Olivia Martin"))


def test_a_way_using_facts_just_given_is_tried_before_details_that_failed() -> None:
    tau2: list[VerificationMethod] = ["email", "name_zip"]
    facts = {"email": "wrong@example.com", "name": ("Olivia", "Martin"), "zip": "78789"}
    assert identity_call(facts, tau2, ["name", "zip"]) == (  # the email already matched no account
        "verify_customer_by_name_zip", {"zip": "78789", "first_name": "Olivia", "last_name": "Martin"})
    assert identity_call(facts, tau2, ["email"])[0] == "verify_customer_by_email"
    assert identity_call(facts, tau2)[0] == "verify_customer_by_email"  # nothing new: the policy's order
