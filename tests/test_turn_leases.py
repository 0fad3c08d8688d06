"""One turn at a time per conversation across processes, on SQLite and PostgreSQL: the lease, its release with
``done``, and the end of a turn whose process died (by the next claim or by any process's sweep)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.events import Done, ErrorEvent
from api.turn_leases import INTERRUPTED, TurnLeases
from tools.store import Store
from tools.store.models import Conversation

DIED = [ErrorEvent(message=INTERRUPTED), Done()]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    store.migrate()
    return store


@pytest.fixture
def conversation(store: Store, request: pytest.FixtureRequest) -> str:
    conversation_id = f"lease-{request.node.name}"[:60]
    with store.session() as session:
        session.add(Conversation(id=conversation_id, owner="anon:x"))
    return conversation_id


def test_a_conversation_holds_one_turn_across_processes_until_done(store: Store, conversation: str) -> None:
    a, b = TurnLeases(store, seconds=30), TurnLeases(store, seconds=30)
    assert a.claim(conversation) == []
    assert b.claim(conversation) is None and a.claim(conversation) is None
    assert b.busy(conversation)
    assert [r.event for r in a.finish(conversation)] == [Done()]
    assert not b.busy(conversation)
    assert b.claim(conversation) == []


def test_the_next_claim_ends_the_turn_of_a_process_that_died(store: Store, conversation: str) -> None:
    dead, alive = TurnLeases(store, seconds=-1), TurnLeases(store, seconds=30)  # the dead one's lease has run out
    assert dead.claim(conversation) == []
    ended = alive.claim(conversation)
    assert ended is not None and [r.event for r in ended] == DIED
    assert alive.claim(conversation) is None  # and the conversation is the new turn's


def test_a_sweep_ends_expired_turns_of_any_process_once_and_keeps_running_ones(store: Store,
                                                                               conversation: str) -> None:
    dead, alive = TurnLeases(store, seconds=-1), TurnLeases(store, seconds=-1)
    with store.session() as session:
        session.add(Conversation(id=f"{conversation}-2", owner="anon:x"))
    assert dead.claim(conversation) == [] and alive.claim(f"{conversation}-2") == []
    alive.seconds = 30  # it renews its running turn, which the sweep keeps
    swept = alive.renew_and_sweep([f"{conversation}-2"])
    assert [(r.conversation_id, r.event) for r in swept] == [(conversation, e) for e in DIED]
    assert alive.renew_and_sweep([f"{conversation}-2"]) == []
    assert not alive.busy(conversation) and alive.busy(f"{conversation}-2")
