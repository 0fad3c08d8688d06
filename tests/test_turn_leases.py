"""One turn at a time per conversation across processes, on SQLite and PostgreSQL: the lease, its release with
``done``, the end of a turn whose process died (by the next claim or by any process's sweep), and a process that
only stalled past its lease stopping the turn it lost without a word more."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from agent.events import BaseEvent, CustomerMessage, Done, ErrorEvent, TextDelta, ToolStarted
from api import event_log
from api.hub import ConversationHub, Record
from api.turn_leases import INTERRUPTED, Renewal, TurnLeases
from api.turn_queue import TurnQueue
from api.turns import Turns
from tools.store import Store
from tools.store.models import Conversation, TurnLease

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


def second_conversation(store: Store, conversation: str) -> str:
    with store.session() as session:
        session.add(Conversation(id=f"{conversation}-2", owner="anon:x"))
    return f"{conversation}-2"


def stored_events(store: Store, conversation: str) -> list[BaseEvent]:
    with store.session() as session:
        return [record.event for record in event_log.read(session, conversation, after=0)]


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
    second_conversation(store, conversation)
    assert dead.claim(conversation) == [] and alive.claim(f"{conversation}-2") == []
    alive.seconds = 30  # it renews its running turn, which the sweep keeps
    swept = alive.renew_and_sweep([f"{conversation}-2"])
    assert [(r.conversation_id, r.event) for r in swept.ended] == [(conversation, e) for e in DIED]
    assert swept.lost == []
    assert alive.renew_and_sweep([f"{conversation}-2"]).ended == []
    assert not alive.busy(conversation) and alive.busy(f"{conversation}-2")


def test_a_stalled_process_learns_it_lost_its_lease_and_writes_no_second_done(store: Store, conversation: str) -> None:
    stalled, other = TurnLeases(store, seconds=-1), TurnLeases(store, seconds=30)
    assert stalled.claim(conversation) == []
    assert [r.event for r in other.renew_and_sweep([]).ended] == DIED  # it stalled past its lease: swept
    stalled.seconds = 30  # it wakes up and renews
    assert stalled.renew_and_sweep([conversation]) == Renewal(ended=[], lost=[conversation])
    assert stalled.finish(conversation) == []
    assert stored_events(store, conversation) == DIED


class ScriptedAgent:
    """What :class:`Turns` uses of the agent, with turns that announce a tool and then answer, or with ``hang``
    wait instead (a stalled process); ``stopped`` is set when a hanging turn is stopped."""

    def __init__(self, store: Store, *, hang: bool) -> None:
        self.deps = SimpleNamespace(store=store)
        self.hang = hang
        self.stopped = asyncio.Event()

    async def mask_secrets(self, text: str) -> str:
        return text

    async def turn(self, conversation_id: str, customer_id: str | None, text: str,
                   **_: object) -> AsyncIterator[BaseEvent]:
        yield ToolStarted(tool="get_order_details", description="Looking up your order")
        try:
            if self.hang:
                await asyncio.sleep(600)
        finally:
            self.stopped.set()
        yield TextDelta(text="Here it is.")


async def until_tool_started(records: AsyncIterator[Record]) -> None:
    async for record in records:
        if isinstance(record.event, ToolStarted):
            return


def test_a_turn_whose_lease_another_process_took_is_stopped_without_a_second_error_or_done(
        store: Store, conversation: str) -> None:
    lost, kept = conversation, second_conversation(store, conversation)
    agent = ScriptedAgent(store, hang=True)

    async def scenario() -> None:
        hub = ConversationHub(store)
        turns = Turns(agent, hub, TurnQueue(slots=2, max_waiting=0), lease_seconds=30)  # type: ignore[arg-type]
        try:
            for conversation_id in (lost, kept):
                await turns.start(conversation_id, None, "hi", ticket=await turns.reserve(conversation_id))
                await asyncio.wait_for(until_tool_started(hub.follow(conversation_id, after=0)), 10)
            with store.session() as session:  # this process stalls past one lease; another process ends its turn
                session.execute(update(TurnLease).where(TurnLease.conversation_id == lost).values(expires_at=0))
            hub.written(TurnLeases(store, seconds=30).renew_and_sweep([]).ended)
            await turns.keep_leases()  # this process wakes up: its renewal finds the lease gone
            await asyncio.wait_for(agent.stopped.wait(), 10)
            assert await turns.busy(kept)  # the other turn's lease was renewed: it runs on
        finally:
            await turns.close()  # shutdown: the turn still running ends as usual
            await hub.close()

    asyncio.run(scenario())
    started = [CustomerMessage(text="hi"), ToolStarted(tool="get_order_details", description="Looking up your order")]
    assert stored_events(store, lost) == [*started, *DIED]  # once: the stalled process added nothing
    assert stored_events(store, kept) == [*started, *DIED]


def test_a_client_that_sees_done_may_send_its_next_message_to_the_same_process_at_once(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(postgres_url)
    store.migrate()
    conversation = second_conversation(store, "lease-next-message-at-once")
    finish = TurnLeases.finish

    def slow_to_return(self: TurnLeases, conversation_id: str) -> list[Record]:
        records = finish(self, conversation_id)  # ``done`` is stored and announced to every process...
        time.sleep(1)  # ...and this process hears of it before the call returns
        return records

    monkeypatch.setattr(TurnLeases, "finish", slow_to_return)

    async def scenario() -> None:
        hub = ConversationHub(store)
        turns = Turns(ScriptedAgent(store, hang=False), hub, TurnQueue(slots=1, max_waiting=0),  # type: ignore[arg-type]
                      lease_seconds=30)
        following = asyncio.create_task(collect(hub.follow(conversation, after=0, until_done=True)))
        await asyncio.wait_for(hub._fanout.listening.wait(), 10)  # type: ignore[union-attr]
        await turns.start(conversation, None, "hi", ticket=await turns.reserve("k"))
        assert [type(r.event) for r in await asyncio.wait_for(following, 10)][-1] is Done
        turns.check_free(conversation)  # no 409 from this process's memory: the next message may come here
        await turns.close()
        await hub.close()

    asyncio.run(scenario())


async def collect(records: AsyncIterator[Record]) -> list[Record]:
    return [record async for record in records]
