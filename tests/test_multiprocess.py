"""Three real server processes on one PostgreSQL database serve the same conversations: turns alternating across
them, live events from any, ``Last-Event-ID`` on any, one turn at a time across all, a rate limit shared, an
approval decision sent to all resumed once, and a process killed while it streams a turn: its client reconnects to
another and gets every stored event once, the turn ended by the lease's expiry. The processes start once for the
module; the test that kills one runs last."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.approvals import Approvals
from agent.bootstrap import open_checkpointer, open_policies
from api.turn_leases import INTERRUPTED
from tests.cluster import Cluster, cluster, follow, in_background, new_conversation, say
from tests.conftest import make_settings
from tests.scripted_server import HOLD
from tests.sse import iter_events
from tools import execute
from tools.store.models import ConversationEvent, Handoff, Refund

SOFIA = "sofia_patel_7394"
LEASE_SECONDS = 2
METRICS_PER_MINUTE = 3
"""The rate limit shared here: ``GET /metrics`` is used by no other test of the module."""


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("multiprocess"), postgres_url, [sys.executable, "-m", "tests.scripted_server"],
                 "abc", model="smollm2-135m", turn_lease_seconds=str(LEASE_SECONDS),
                 metrics_requests_per_minute=str(METRICS_PER_MINUTE)) as running:
        yield running


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["id"].rsplit(":", 1)[1]) for e in events]


def test_turns_alternate_across_the_processes_and_a_follower_on_one_sees_each_live_once_in_order(
        three: Cluster) -> None:
    a, b, c = three.bases
    customer = three.headers("customer", SOFIA)
    conversation = new_conversation(a, customer)
    opened = threading.Event()
    thread, followed = in_background(follow, a, conversation, customer, dones=3, opened=opened)
    assert opened.wait(10)
    turns = [say(base, conversation, customer, text) for base, text in ((a, "1"), (b, "40"), (c, "2"))]
    thread.join(30)
    [seen] = followed
    assert seen == turns[0] + turns[1] + turns[2]  # produced on a, b and c, followed on a
    assert seqs(seen) == list(range(1, len(seen) + 1))
    assert [e["type"] for e in turns[1]][:3] == ["customer_message", "tool_started", "text_delta"]

    resumed = follow(c, conversation, customer, dones=2, last_event_id=turns[1][9]["id"])
    assert resumed == turns[1][10:] + turns[2]  # Last-Event-ID taken on any process, from the table


def test_a_rate_limit_holds_across_the_processes(three: Cluster) -> None:
    answers = [httpx.get(f"{base}/metrics") for base in [*three.bases, *three.bases]]
    assert [r.status_code for r in answers] == [200] * METRICS_PER_MINUTE + [429] * (6 - METRICS_PER_MINUTE)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in answers[METRICS_PER_MINUTE:])


def test_a_decision_sent_to_every_process_at_once_resumes_the_approval_once(three: Cluster) -> None:
    conversation = new_conversation(three.bases[0], three.headers("customer", SOFIA))
    handoff = _pending_approval(three, conversation)
    sam = three.headers("agent", "sam")
    assert httpx.post(f"{three.bases[0]}/v1/handoffs/{handoff}/claim", headers=sam).status_code == 200
    barrier = threading.Barrier(len(three.bases))

    def decide(base: str) -> httpx.Response:
        barrier.wait()
        return httpx.post(f"{base}/v1/handoffs/{handoff}/decision", headers=sam, json={"approve": True}, timeout=30)

    threads = [in_background(decide, base) for base in three.bases]
    for thread, _ in threads:
        thread.join(30)
    answers = [result[0] for _, result in threads]
    assert {r.status_code for r in answers} <= {200, 409} and 200 in {r.status_code for r in answers}
    assert len({r.text for r in answers if r.status_code == 200}) == 1  # a repeat gets the same answer
    with three.store.session() as session:
        refunds = session.scalars(select(Refund).where(Refund.order_id == "#W7394002")).all()
        told = session.scalars(select(ConversationEvent.type).where(ConversationEvent.conversation_id == conversation,
                                                                    ConversationEvent.type == "approval_decided")).all()
    assert len(refunds) == 1 and len(told) == 1


def test_a_process_killed_while_it_streams_a_turn_its_client_resumes_on_another_and_the_turn_ends(
        three: Cluster) -> None:
    """Runs last: it kills process c."""
    a, b, c = three.bases
    customer = three.headers("customer", SOFIA)
    conversation = new_conversation(a, customer)
    before = say(a, conversation, customer, "1")
    with httpx.stream("POST", f"{c}/v1/conversations/{conversation}/messages", json={"message": HOLD},
                      headers=customer, timeout=30) as response:
        events = iter_events(response)
        streamed = [next(events), next(events)]  # the customer's message, then the tool c's turn now runs
        assert [e["type"] for e in streamed] == ["customer_message", "tool_started"]
        refused = httpx.post(f"{b}/v1/conversations/{conversation}/messages", json={"message": "hi"},
                             headers=customer)
        assert refused.status_code == 409 and "in progress" in refused.json()["detail"]
        assert httpx.get(f"{a}/v1/conversations/{conversation}", headers=customer).json()["busy"] is True
        opened = threading.Event()
        thread, followed = in_background(follow, a, conversation, customer, dones=1,
                                         last_event_id=streamed[-1]["id"], opened=opened)
        assert opened.wait(10)

        three.servers[2].process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        with pytest.raises(httpx.TransportError):  # the client sees its stream break
            next(events)
    resumed = follow(b, conversation, customer, dones=1, last_event_id=streamed[-1]["id"])
    ended_after = time.monotonic() - killed_at
    assert [(e["type"], e.get("message")) for e in resumed] == [("error", INTERRUPTED), ("done", None)]
    assert ended_after < LEASE_SECONDS * 2 + 3  # the lease expired and a live process's sweep ended the turn
    thread.join(10)
    assert followed == [resumed]  # a follower on a saw the same ending

    stored = follow(a, conversation, customer, dones=2)
    assert stored == before + streamed + resumed  # every stored event, each once, whichever process it came from
    assert seqs(stored) == list(range(1, len(stored) + 1))
    assert [e["type"] for e in say(b, conversation, customer, "2")][-1] == "done"  # and the conversation is free


def _pending_approval(three: Cluster, conversation: str) -> int:
    """Sofia's late lamp return waiting for a person, as the agent leaves it: exception, paused run, handoff."""
    policy = open_policies(three.store, file=three.settings.resolved_policy_path).current
    result = execute(three.store, "return_delivered_order_items",
                     {"order_id": "#W7394002", "item_ids": ["8047877267"], "payment_method_id": "paypal_9745959"},
                     policy=policy(), conversation_id=conversation, customer_id=SOFIA)
    assert result.outcome == "needs_approval" and result.exception_id is not None

    async def open_run() -> None:
        async with open_checkpointer(three.settings) as saver:
            await Approvals(three.store, policy, saver).open(result.exception_id)  # type: ignore[arg-type]

    asyncio.run(open_run())
    with three.store.session() as session:
        handoff = Handoff(conversation_id=conversation, customer_id=SOFIA, reason="approval needed",
                          priority="normal", queue="returns", summary="late return", exception_id=result.exception_id)
        session.add(handoff)
        session.flush()
        return handoff.id


def test_one_postgresql_url_is_enough_checkpoints_go_to_the_same_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://support:pw@db.internal:5432/support")
    assert settings.resolved_checkpoint_url == "postgresql://support:pw@db.internal:5432/support"
    assert make_settings(tmp_path).resolved_checkpoint_url == str(tmp_path / "checkpoints.db")
    assert make_settings(tmp_path, database_url=settings.database_url,
                         checkpoint_url="/elsewhere.db").resolved_checkpoint_url == "/elsewhere.db"
