"""The conversation event log on SQLite and PostgreSQL: numbered by the database, followed live, resumed from the
table; on PostgreSQL two hubs (as two server processes would hold them) share one log."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from agent.events import CustomerMessage, Done, StaffMessage, TextDelta
from api import event_log
from api.event_log import Emitted
from api.hub import ConversationHub, Record
from core.errors import NotFound
from tools.store import Store
from tools.store.models import Conversation, ConversationEvent

_conversations = iter(range(10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    store.migrate()
    return store


def new_conversations(store: Store, count: int) -> list[str]:
    ids = [f"hub-{next(_conversations)}-{store.engine.dialect.name}" for _ in range(count)]
    with store.session() as session:
        session.add_all(Conversation(id=c, owner=f"anon:{c}") for c in ids)
    return ids


async def collect(records: AsyncIterator[Record]) -> list[Record]:
    return [record async for record in records]


def test_followers_from_any_point_get_every_later_event_once_in_order(store: Store) -> None:
    c1, c2 = new_conversations(store, 2)

    async def scenario() -> None:
        hub = ConversationHub(store)
        first = [await hub.append(c1, TextDelta(text=str(n))) for n in range(5)]
        followers = [asyncio.create_task(collect(hub.follow(c1, after=after, until_done=True)))
                     for after in range(0, 6)]
        await asyncio.sleep(0.05)
        await hub.append(c2, CustomerMessage(text="other conversation"))
        await asyncio.gather(*(hub.append(c1, TextDelta(text=str(n))) for n in range(5, 9)))  # one group commit
        await hub.append(c1, Done())
        for after, follower in enumerate(followers):
            assert [r.seq for r in await follower] == list(range(after + 1, 11))
        replayed = await collect(hub.follow(c1, after=3, until_done=True))
        assert [r.event for r in replayed] == [first[3].event, first[4].event,
                                               *[TextDelta(text=str(n)) for n in range(5, 9)], Done()]
        await hub.close()

        again = ConversationHub(store)  # a restart continues the numbering
        assert (await again.append(c1, StaffMessage(author="Sam", text="hi"))).seq == 11
        assert await again.last_seq(c1) == 11 and await again.last_seq(c2) == 1
        await again.close()

    asyncio.run(scenario())


def test_an_event_is_stored_with_the_time_it_was_emitted(store: Store) -> None:
    [c1] = new_conversations(store, 1)

    async def scenario() -> list[Record]:
        hub = ConversationHub(store)
        records = list(await asyncio.gather(*(hub.append(c1, TextDelta(text=str(n))) for n in range(3))))
        await hub.close()
        return records

    emitted = asyncio.run(scenario())
    with store.session() as session:
        stored = session.scalars(select(ConversationEvent.created_at).where(ConversationEvent.conversation_id == c1)
                                 .order_by(ConversationEvent.seq)).all()
    assert stored == [record.at for record in emitted]


def test_an_event_for_a_deleted_conversation_is_refused_and_its_batch_neighbours_are_kept(store: Store) -> None:
    [c1] = new_conversations(store, 1)

    async def scenario() -> list[Record | BaseException]:
        hub = ConversationHub(store)
        results = await asyncio.gather(hub.append(c1, TextDelta(text="kept")),
                                       hub.append("no-such-conversation", TextDelta(text="lost")),
                                       hub.append(c1, Done()), return_exceptions=True)
        await hub.close()
        return results

    kept, refused, done = asyncio.run(scenario())
    assert isinstance(refused, NotFound)
    assert [kept.seq, done.seq] == [1, 2]  # type: ignore[union-attr]


def two_stores_one_conversation(postgres_url: str) -> tuple[Store, Store, str]:
    """Two processes' stores on one migrated PostgreSQL database, and a conversation in it."""
    store_a, store_b = Store(postgres_url), Store(postgres_url)
    store_a.migrate()
    [conversation] = new_conversations(store_a, 1)
    return store_a, store_b, conversation


def test_two_processes_number_one_conversation_together_and_follow_each_other(postgres_url: str) -> None:
    store_a, store_b, c1 = two_stores_one_conversation(postgres_url)

    async def scenario() -> None:
        a, b = ConversationHub(store_a), ConversationHub(store_b)
        on_a = asyncio.create_task(collect(a.follow(c1, after=0, until_done=True)))
        on_b = asyncio.create_task(collect(b.follow(c1, after=0, until_done=True)))
        await asyncio.wait_for(asyncio.gather(a._fanout.listening.wait(), b._fanout.listening.wait()), 10)
        written = await asyncio.gather(*(hub.append(c1, TextDelta(text=f"{hub is a}-{n}"))
                                         for n in range(20) for hub in (a, b)))
        assert sorted(r.seq for r in written) == list(range(1, 41))  # unique and gap-free across processes
        await b.append(c1, Done())
        expected = [r.event for r in sorted(written, key=lambda r: r.seq)] + [Done()]
        for follower in (on_a, on_b):
            assert [r.event for r in await asyncio.wait_for(follower, 10)] == expected
        resumed = await collect(a.follow(c1, after=37, until_done=True))  # Last-Event-ID on the other process
        assert [r.seq for r in resumed] == [38, 39, 40, 41]
        live_on_a = a.follow(c1, after=41)
        first_live = asyncio.create_task(anext(live_on_a))
        await b.append(c1, StaffMessage(author="Sam", text="still there?"))
        assert (await asyncio.wait_for(first_live, 10)).seq == 42
        rest = asyncio.create_task(collect(live_on_a))
        await b.forget(c1)  # deleted through the other process: the follower here ends too
        assert await asyncio.wait_for(rest, 10) == []
        await asyncio.gather(a.close(), b.close())

    asyncio.run(scenario())


def test_a_lost_listening_connection_comes_back_and_misses_nothing(postgres_url: str) -> None:
    store_a, store_b, c1 = two_stores_one_conversation(postgres_url)

    async def scenario() -> None:
        a, b = ConversationHub(store_a), ConversationHub(store_b)
        on_a = asyncio.create_task(collect(a.follow(c1, after=0, until_done=True)))
        await asyncio.wait_for(a._fanout.listening.wait(), 10)
        await b.append(c1, TextDelta(text="before"))
        with store_b.engine.begin() as connection:  # the listening connection dies (a restart, a proxy...)
            killed = connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                             " WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")).all()
        assert killed
        await b.append(c1, TextDelta(text="while away"))
        await b.append(c1, Done())
        events = [r.event for r in await asyncio.wait_for(on_a, 15)]
        assert events == [TextDelta(text="before"), TextDelta(text="while away"), Done()]
        await asyncio.gather(a.close(), b.close())

    asyncio.run(scenario())


def test_batches_naming_the_same_conversations_in_opposite_orders_wait_instead_of_deadlocking(
        postgres_url: str) -> None:
    store_a, store_b, _ = two_stores_one_conversation(postgres_url)
    first, second = sorted(new_conversations(store_a, 2))
    written: list[list[int]] = []

    def other_process() -> None:
        with store_b.session(write=True) as session:
            records = event_log.write(session, [Emitted(second, TextDelta(text="b")), Emitted(first, Done())])
            written.append([r.seq for r in records])

    with store_a.session(write=True) as session:
        event_log.write(session, [Emitted(first, TextDelta(text="a"))])  # this transaction holds the first's row
        thread = threading.Thread(target=other_process)
        thread.start()
        deadline = time.monotonic() + 10
        with store_a.engine.connect() as watcher:  # wait until the other batch queues on a row lock
            while not watcher.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                           " AND pid <> pg_backend_pid()")).scalar():
                watcher.rollback()  # PostgreSQL keeps one snapshot of pg_stat_activity per transaction
                assert time.monotonic() < deadline, "the other batch never waited"
                time.sleep(0.05)
        # in batch order the other batch would hold the second's row by now, and this write would deadlock
        event_log.write(session, [Emitted(second, TextDelta(text="a"))])
    thread.join(10)
    assert written == [[2, 2]]  # it went on once this transaction committed, after the rows it had waited for


def test_an_upgraded_database_continues_the_numbering_of_its_conversations(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    store.migrate("0008")  # numbered in memory back then
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO conversations (id, owner, created_at)"
                                " VALUES ('old', 'anon:o', '2026-01-01')"))
        for seq in (1, 2, 3):
            connection.execute(text("INSERT INTO conversation_events (conversation_id, seq, type, data, created_at)"
                                    " VALUES ('old', :seq, 'done', :data, '2026-01-01')"),
                               {"seq": seq, "data": '{"type": "done"}'})
    store.migrate()

    async def scenario() -> Record:
        hub = ConversationHub(store)
        record = await hub.append("old", StaffMessage(author="Sam", text="hello again"))
        await hub.close()
        return record

    assert asyncio.run(scenario()).seq == 4
