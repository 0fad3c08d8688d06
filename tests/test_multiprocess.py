"""Two real server processes on one PostgreSQL database serve the same conversations: live events from either,
``Last-Event-ID`` on either, one turn at a time across both, a killed process's turn ended by the other, and an
approval decision sent to both resumed once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.approvals import Approvals
from agent.bootstrap import open_checkpointer, open_policies, token_keys
from api.turn_leases import INTERRUPTED
from core.auth import issue_token
from core.settings import Settings
from tests.conftest import make_settings
from tests.scripted_server import HOLD
from tests.server_processes import server_processes
from tests.sse import iter_events, read_events
from tools import execute
from tools.store import Store
from tools.store.demo import ensure_demo_data
from tools.store.models import ConversationEvent, Handoff, Refund

SOFIA = "sofia_patel_7394"
LEASE_SECONDS = 2


@dataclass
class Cluster:
    store: Store
    settings: Settings
    bases: list[str]
    processes: list[subprocess.Popen[bytes]]

    def headers(self, role: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(token_keys(self.settings), role=role, subject=subject)}"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("multiprocess")
    settings = make_settings(folder, database_url=postgres_url, policy_path=folder / "policy.yaml",
                             seed_demo_data=False)
    store = _prepare(settings)
    env = {**os.environ, "SUPPORT_DATABASE_URL": settings.resolved_database_url, "SUPPORT_SEED_DEMO_DATA": "false",
           "SUPPORT_JWT_SECRET": settings.jwt_secret.get_secret_value(),  # type: ignore[union-attr]
           "SUPPORT_MODEL": "smollm2-135m", "SUPPORT_POLICY_PATH": str(settings.resolved_policy_path),
           "SUPPORT_TURN_LEASE_SECONDS": str(LEASE_SECONDS)}
    with server_processes([sys.executable, "-m", "tests.scripted_server"],
                          [{**env, "SUPPORT_DATA_DIR": str(folder / name)} for name in "ab"]) as servers:
        yield Cluster(store, settings, [s.base for s in servers], [s.process for s in servers])


def _prepare(settings: Settings) -> Store:
    """What the first start on a new database does once (schema, demo data, policy, checkpoint tables)."""
    store = Store(settings.resolved_database_url)
    store.migrate()
    ensure_demo_data(store)
    open_policies(store, file=settings.resolved_policy_path).current()

    async def checkpoint_tables() -> None:
        async with open_checkpointer(settings):
            pass

    asyncio.run(checkpoint_tables())
    return store


def new_conversation(cluster: Cluster, base: str, customer: dict[str, str]) -> str:
    response = httpx.post(f"{base}/v1/conversations", headers=customer)
    assert response.status_code == 201
    return response.json()["id"]


def say(base: str, conversation: str, customer: dict[str, str], text: str) -> list[dict[str, Any]]:
    with httpx.stream("POST", f"{base}/v1/conversations/{conversation}/messages", json={"message": text},
                      headers=customer, timeout=30) as response:
        assert response.status_code == 200, response.read()
        return read_events(response)


def follow(base: str, conversation: str, customer: dict[str, str], *, dones: int, last_event_id: str | None = None,
           opened: threading.Event | None = None) -> list[dict[str, Any]]:
    """The conversation's events on ``base`` until the ``dones``-th ``done``."""
    headers = {**customer, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    seen: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{base}/v1/conversations/{conversation}/events", headers=headers,
                      timeout=30) as response:
        assert response.status_code == 200
        if opened:
            opened.set()
        for event in iter_events(response):
            seen.append(event)
            if sum(e["type"] == "done" for e in seen) == dones:
                return seen
    return seen


def in_background(function: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(function(*args, **kwargs)), daemon=True)
    thread.start()
    return thread, result


def test_a_follower_on_one_process_sees_a_turn_on_the_other_live_once_in_order(cluster: Cluster) -> None:
    a, b = cluster.bases
    customer = cluster.headers("customer", SOFIA)
    conversation = new_conversation(cluster, a, customer)
    opened = threading.Event()
    thread, followed = in_background(follow, a, conversation, customer, dones=2, opened=opened)
    assert opened.wait(10)
    first = say(a, conversation, customer, "1")
    second = say(b, conversation, customer, "40")  # on the other process
    thread.join(30)
    [seen] = followed
    assert seen == first + second
    assert [int(e["id"].rsplit(":", 1)[1]) for e in seen] == list(range(1, len(seen) + 1))
    assert [e["type"] for e in second][:3] == ["customer_message", "tool_started", "text_delta"]

    resumed = follow(b, conversation, customer, dones=1, last_event_id=second[9]["id"])
    assert resumed == second[10:]  # Last-Event-ID taken on either process, from the table


def test_a_decision_sent_to_both_processes_at_once_resumes_the_approval_once(cluster: Cluster) -> None:
    a, b = cluster.bases
    conversation = new_conversation(cluster, a, cluster.headers("customer", SOFIA))
    handoff = _pending_approval(cluster, conversation)
    sam = cluster.headers("agent", "sam")
    assert httpx.post(f"{a}/v1/handoffs/{handoff}/claim", headers=sam).status_code == 200
    barrier = threading.Barrier(2)

    def decide(base: str) -> httpx.Response:
        barrier.wait()
        return httpx.post(f"{base}/v1/handoffs/{handoff}/decision", headers=sam, json={"approve": True}, timeout=30)

    threads = [in_background(decide, base) for base in (a, b)]
    for thread, _ in threads:
        thread.join(30)
    answers = [result[0] for _, result in threads]
    assert sorted(r.status_code for r in answers) in ([200, 200], [200, 409])
    assert len({r.text for r in answers if r.status_code == 200}) == 1  # a repeat gets the same answer
    with cluster.store.session() as session:
        refunds = session.scalars(select(Refund).where(Refund.order_id == "#W7394002")).all()
        told = session.scalars(select(ConversationEvent.type).where(ConversationEvent.conversation_id == conversation,
                                                                    ConversationEvent.type == "approval_decided")).all()
    assert len(refunds) == 1 and len(told) == 1


def test_one_turn_at_a_time_across_processes_and_a_killed_holder_is_ended_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.bases
    customer = cluster.headers("customer", SOFIA)
    conversation = new_conversation(cluster, a, customer)
    with httpx.stream("POST", f"{b}/v1/conversations/{conversation}/messages", json={"message": HOLD},
                      headers=customer, timeout=30) as response:
        held = next(e for e in iter_events(response) if e["type"] == "tool_started")  # B now runs the turn
    refused = httpx.post(f"{a}/v1/conversations/{conversation}/messages", json={"message": "hi"}, headers=customer)
    assert refused.status_code == 409 and "in progress" in refused.json()["detail"]
    assert httpx.get(f"{a}/v1/conversations/{conversation}", headers=customer).json()["busy"] is True

    opened = threading.Event()
    thread, followed = in_background(follow, a, conversation, customer, dones=1, last_event_id=held["id"],
                                     opened=opened)
    assert opened.wait(10)
    cluster.processes[1].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    thread.join(30)
    ended_after = time.monotonic() - killed_at
    [ending] = followed
    assert [(e["type"], e.get("message")) for e in ending] == [("error", INTERRUPTED), ("done", None)]
    assert ended_after < LEASE_SECONDS * 2 + 3  # the lease expired and A's sweep ended the turn
    assert [e["type"] for e in say(a, conversation, customer, "2")][-1] == "done"  # and the conversation is free


def _pending_approval(cluster: Cluster, conversation: str) -> int:
    """Sofia's late lamp return waiting for a person, as the agent leaves it: exception, paused run, handoff."""
    policy = open_policies(cluster.store, file=cluster.settings.resolved_policy_path).current
    result = execute(cluster.store, "return_delivered_order_items",
                     {"order_id": "#W7394002", "item_ids": ["8047877267"], "payment_method_id": "paypal_9745959"},
                     policy=policy(), conversation_id=conversation, customer_id=SOFIA)
    assert result.outcome == "needs_approval" and result.exception_id is not None

    async def open_run() -> None:
        async with open_checkpointer(cluster.settings) as saver:
            await Approvals(cluster.store, policy, saver).open(result.exception_id)  # type: ignore[arg-type]

    asyncio.run(open_run())
    with cluster.store.session() as session:
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
