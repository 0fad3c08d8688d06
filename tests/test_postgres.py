"""The same store and conversation checkpoints on a real PostgreSQL server (by URL settings)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from sqlalchemy import select

from agent.bootstrap import open_checkpointer
from tests.conftest import make_settings
from tests.postgres_server import postgres
from tools import execute
from tools.policy import load_policy
from tools.store import Store
from tools.store.demo import ensure_demo_data
from tools.store.models import Order, Refund

POLICY = load_policy()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres() as url:
        yield url


@pytest.fixture(scope="module")
def pg_store(pg_url: str) -> Store:
    store = Store(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    assert ensure_demo_data(store)
    return store


def test_migrations_and_demo_data_on_postgres(pg_store: Store) -> None:
    pg_store.migrate()  # idempotent
    with pg_store.session() as session:
        assert session.get(Order, "#W4821002").status == "processed"


def test_tools_and_exactly_once_refunds_on_postgres(pg_store: Store) -> None:
    args = {"order_id": "#W4821001", "item_ids": ["9963334018"], "payment_method_id": "paypal_3237058"}
    results = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        results.append(execute(pg_store, "return_delivered_order_items", args, policy=POLICY, conversation_id="pg",
                               customer_id="olivia_martin_4821"))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pg_store.session() as session:
        assert len(session.scalars(select(Refund).where(Refund.order_id == "#W4821001")).all()) == 1
    assert any(r.outcome == "done" for r in results)


def test_conversations_checkpoint_to_postgres(pg_url: str, tmp_path: Path) -> None:
    from langgraph.graph import START, MessagesState, StateGraph

    settings = make_settings(tmp_path, checkpoint_url=pg_url)
    graph = StateGraph(MessagesState)
    graph.add_node("echo", lambda state: {"messages": [("ai", f"heard {len(state['messages'])}")]})
    graph.add_edge(START, "echo")

    async def run() -> list[str]:
        config = {"configurable": {"thread_id": "pg-thread"}}
        async with open_checkpointer(settings) as saver:
            await graph.compile(checkpointer=saver).ainvoke({"messages": [HumanMessage("hi")]}, config)
        async with open_checkpointer(settings) as saver:  # a restart: a new connection, same database
            state = await graph.compile(checkpointer=saver).aget_state(config)
            return [str(m.content) for m in state.values["messages"]]

    assert asyncio.run(run()) == ["hi", "heard 1"]
