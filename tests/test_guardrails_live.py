"""The guardrails in force are the policy version's, from the next turn of a running conversation: rule modes,
word lists and secrets changed in the policy (or by a hand edit of its file) apply without a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from agent.events import ReplyReplaced, _Event
from agent.guardrails import load_rules, rules_for
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.guardrails_config import bundled_guardrails
from tests.conftest import Chat, text_of
from tools.policy.versions import PolicyStore
from tools.store import Store
from tools.store.models import PolicyVersion

QUESTION = "how long do I have to return an item?"
SUPPORTED = "You have 30 days from the delivery date to return an item. "
UNSUPPORTED = "Always check with a local shipping company before you return anything."
"""No passage says it: only the ``unsupported_claim`` rule stops it."""
RIVAL = "You could also try Zalando for that."
LOYALTY = "My loyalty card is NW-12345678."
ChatSaying = Callable[[list[str]], Chat]


@pytest.fixture
def policies(fresh_store: Store, tmp_path: Path) -> PolicyStore:
    """A policy of its own, in a file it keeps in step, seeded from the bundled default."""
    with fresh_store.session() as session:
        session.execute(delete(PolicyVersion))
    return PolicyStore(fresh_store, file=tmp_path / "policy.yaml", file_check_seconds=0)


@pytest.fixture(autouse=True)
def _rules_never_outlive_a_turn() -> Iterator[None]:
    yield
    assert load_rules() is rules_for(bundled_guardrails())


@pytest.fixture
def chat(world: AgentDeps, fresh_store: Store, policies: PolicyStore) -> ChatSaying:
    """``chat(replies)``: a conversation whose model says ``replies``, one a turn, under ``policies``."""

    def make(replies: list[str]) -> Chat:
        deps = dataclasses.replace(world, store=fresh_store, policies=policies, model=ScriptedChatModel(steps=replies))
        return Chat(deps, "olivia_martin_4821")

    return make


def change(policies: PolicyStore, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``edit`` to the guardrails section as a new version."""
    document = policies.document()
    edit(document["guardrails"])
    policies.update(document, author="ops-1", reason="test", if_match=None)


def set_mode(rule: str, mode: str) -> Callable[[dict[str, Any]], None]:
    def edit(guardrails: dict[str, Any]) -> None:
        next(r for r in guardrails["output"] if r["name"] == rule)["mode"] = mode

    return edit


def stopped_by(events: list[_Event]) -> list[str]:
    return [e.rule for e in events if isinstance(e, ReplyReplaced)]


def test_an_output_rule_switched_to_monitor_and_back_governs_the_next_turn(chat: ChatSaying,
                                                                           policies: PolicyStore) -> None:
    conversation = chat([f"{UNSUPPORTED} {SUPPORTED}"] * 3)
    assert stopped_by(conversation.say(QUESTION)) == ["unsupported_claim"]
    change(policies, set_mode("unsupported_claim", "monitor"))
    events = conversation.say(QUESTION)
    assert stopped_by(events) == [] and UNSUPPORTED in text_of(events)
    change(policies, set_mode("unsupported_claim", "block"))
    events = conversation.say(QUESTION)
    assert stopped_by(events) == ["unsupported_claim"] and UNSUPPORTED not in text_of(events)


def test_a_word_added_to_a_word_list_blocks_a_sentence_naming_it_next_turn(chat: ChatSaying,
                                                                           policies: PolicyStore) -> None:
    change(policies, set_mode("unsupported_claim", "monitor"))  # so only the word list decides
    change(policies, set_mode("off_policy_reply", "monitor"))  # the reply classifier reads a rival as off-policy
    conversation = chat([SUPPORTED + RIVAL] * 2)
    assert RIVAL in text_of(conversation.say(QUESTION))
    change(policies, lambda guardrails: guardrails["words"]["competitors"].append("zalando"))
    events = conversation.say(QUESTION)
    assert stopped_by(events) == ["competitor"] and "Zalando" not in text_of(events)


def test_a_new_secrets_rule_masks_the_next_message(chat: ChatSaying, policies: PolicyStore) -> None:
    conversation = chat([SUPPORTED] * 2)
    conversation.say(f"{LOYALTY} {QUESTION}")
    change(policies, lambda guardrails: guardrails["secrets"].append(
        {"name": "loyalty_number", "pattern": r"\bNW-\d{8}\b", "replace": "[loyalty card]"}))
    conversation.say(f"{LOYALTY} {QUESTION}")
    transcript = asyncio.run(conversation.agent.transcript(conversation.conversation_id))
    said = [m["content"] for m in transcript if m["role"] == "customer"]
    assert "NW-12345678" in said[0] and "NW-12345678" not in said[1] and "[loyalty card]" in said[1]


def test_a_hand_edit_of_the_guardrails_applies_and_an_invalid_one_leaves_the_last_good_version(
    chat: ChatSaying, policies: PolicyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = chat([f"{UNSUPPORTED} {SUPPORTED}"] * 3)
    assert stopped_by(conversation.say(QUESTION)) == ["unsupported_claim"]
    path = tmp_path / "policy.yaml"
    seeded = path.read_text()
    assert seeded.count("      check: evidence\n") == 1  # the unsupported_claim rule
    path.write_text(seeded.replace("      check: evidence\n", "      check: evidence\n      mode: monitor\n"))
    assert UNSUPPORTED in text_of(conversation.say(QUESTION))
    version = policies.current().version
    with caplog.at_level(logging.ERROR):
        path.write_text(path.read_text().replace("mode: monitor", "mode: sometimes"))
        assert UNSUPPORTED in text_of(conversation.say(QUESTION))  # the last good version is still in force
    assert policies.current().version == version and "refused" in caplog.text and "mode" in caplog.text

