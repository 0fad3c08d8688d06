"""The default model behind a real inference server: llama-cpp-python's own (its ``[server]`` extra, started as
``python -m agent.llm.model_server``, which keeps the planner's and the writer's prompt starts) on loopback,
reached with ``SUPPORT_LLM_BACKEND=openai``. The planner plans through it, help-center answers stream from it, and
two API processes on one PostgreSQL share it, each running a whole turn over the HTTP API against it. Behind a
fault-injecting proxy (:mod:`tests.fake_model_server`) it stops mid-answer, is slower than the agent's deadline, or
answers garbage: the customer gets the quoted reply each time, the model calls done without counted in
``support_model_fallbacks_total``."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler

from agent.llm import ChatOpenAIServer, build_chat_model
from agent.llm.models import DEFAULT_MODEL, model_path
from agent.state import AgentDeps
from core.settings import Settings
from tests.cluster import cluster, follow, in_background, new_conversation, say
from tests.conftest import SHOWCASE, Chat, text_of
from tests.fake_model_server import FakeModelServer, Reply, fake_model_server
from tests.live_server import free_port
from tests.sse import reply_text
from tests.test_llm_openai import fallbacks, model_turn, quoted_reply
from tests.test_planner_model import FIRST_MESSAGES, commands_for
from tests.test_telemetry import samples, total
from tools.store import Store

pytestmark = [pytest.mark.bigmodel, pytest.mark.timeout(900)]  # the first test may pay the server's prompt start

SERVER_TIMEOUT = 180.0
"""The deadline of one call here: this 2-core machine decodes a plan at a few tokens a second when busy."""
START_TIMEOUT = 600.0
"""The deadline of the server's start: where no process saved the planner's prompt start yet (the fixed
instructions and tool catalogue, about 2,000 tokens), it evaluates it, 40 s here when idle and 150 s and more while
other work loads the CPUs."""


def _model_file() -> Path:
    """The default GGUF; when it is missing the module is skipped with the reason (a failure under
    ``SUPPORT_REQUIRE_SHARED=1``, as CI sets, so that nothing passes by skipping)."""
    path = model_path(DEFAULT_MODEL)
    if not path.is_file():
        reason = f"{path} is missing: run `make setup` (or `python -m agent.llm.models`) to assemble it"
        if os.environ.get("SUPPORT_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m agent.llm.model_server`` with the default model on a free loopback port, until the module
    ends."""
    port, log = free_port(), tmp_path_factory.mktemp("model_server") / "server.log"
    command = [sys.executable, "-m", "agent.llm.model_server", "--model", str(_model_file()), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 2),
               "--interrupt_requests", "False", "--verbose", "False"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            assert process.poll() is None, f"the model server stopped: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"the model server did not start within {START_TIMEOUT} s"
            time.sleep(0.2)
        started = (r"the writer's prompt start: (loaded|evaluated); the planner's prompt start: (loaded|evaluated); "
                   r"plans decoded by GrammarFirstLlama")
        assert re.search(started, log.read_text()), log.read_text()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def settings_for(world_settings: Settings, server_url: str) -> Settings:
    return world_settings.model_copy(update={"llm_backend": "openai", "openai_base_url": server_url,
                                             "openai_timeout_seconds": SERVER_TIMEOUT})


@pytest.fixture(scope="module")
def server_model(settings_for: Settings) -> ChatOpenAIServer:
    """The model behind the server."""
    model = build_chat_model(settings_for)
    assert isinstance(model, ChatOpenAIServer)
    return model


PLANNED = [case for case in FIRST_MESSAGES if case[0] in ("i want to send back the earbuds", "are you a bot?")]
"""First messages of the real-model planner test (a third, a look-up, is a turn over the HTTP API in the test of
two API processes below)."""


def test_the_planner_plans_through_the_server(world: AgentDeps, server_model: ChatOpenAIServer,
                                              fresh_store: Store) -> None:
    deps = dataclasses.replace(world, model=server_model, store=fresh_store, planner="model", answer_style="quote")
    wrong = []
    for message, check in PLANNED:
        chat = Chat(deps, SHOWCASE)
        chat.say(message)
        values = chat.agent.graph.get_state({"configurable": {"thread_id": chat.conversation_id}}).values
        if values["plan_path"] != "planner" or not check(commands_for(chat)):
            wrong.append((message, values["plan_path"], commands_for(chat)))
    assert wrong == []


class _Tokens(BaseCallbackHandler):
    """Counts the streamed pieces of each model call."""

    def __init__(self) -> None:
        self.pieces: dict[UUID, int] = {}

    def on_llm_new_token(self, token: str, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> None:
        if chunk is not None and token:
            self.pieces[run_id] = self.pieces.get(run_id, 0) + 1


def test_a_help_center_answer_streams_from_the_server(world: AgentDeps, server_model: ChatOpenAIServer) -> None:
    tokens = _Tokens()
    model = server_model.model_copy(update={"callbacks": [tokens]})
    chat = Chat(dataclasses.replace(world, model=model, planner="router", answer_style="model"), SHOWCASE)
    events = chat.say("how long do refunds take?")
    assert "error" not in [e.type for e in events]
    assert list(tokens.pieces.values()) and min(tokens.pieces.values()) >= 5, tokens.pieces
    assert text_of(events).strip()


# --- faults between the agent and the real server --------------------------------------------------------------

FAULT_DEADLINE = 4.0
"""The agent's deadline in the slow-server test: the proxy holds each piece of the real answer longer."""


@pytest.fixture
def proxy(server_url: str) -> Iterator[FakeModelServer]:
    """A fault-injecting proxy in front of the real server (its ``default`` reply: what it does to each call)."""
    with fake_model_server(server_url) as running:
        yield running


@pytest.mark.parametrize(("fault", "planner", "deadline", "done_without"), [
    (Reply("forward", chunks=3), "router", SERVER_TIMEOUT, Counter(answer=1)),  # stopped after 3 stream chunks
    (Reply("forward", garble=True), "model", SERVER_TIMEOUT, Counter(plan=1, answer=1)),
    (Reply("forward", pause=FAULT_DEADLINE + 1), "model", FAULT_DEADLINE, Counter(plan=1, answer=1)),
], ids=["stopped", "garbage", "slow"])
def test_a_failing_server_gets_the_customer_the_quoted_reply(world: AgentDeps, settings_for: Settings,
                                                             server_model: ChatOpenAIServer, proxy: FakeModelServer,
                                                             fault: Reply, planner: str, deadline: float,
                                                             done_without: Counter[str]) -> None:
    proxy.default = fault
    model = build_chat_model(settings_for.model_copy(update={
        "openai_base_url": proxy.url, "openai_timeout_seconds": deadline, "openai_max_retries": 0}))
    before = fallbacks()
    events, seconds = model_turn(world, model, planner=planner)
    types = [e.type for e in events]
    assert "error" not in types and types[-1] == "done"
    assert text_of(events) == quoted_reply(world) != ""
    assert fallbacks() - before == done_without and len(proxy.requests) == done_without.total()
    assert seconds < done_without.total() * deadline + 30  # each call bounded by the deadline: no hang


def private_chroma(world_settings: Settings, tmp_path: Path) -> Path:
    """A copy of the session's help-center index: a server process ingests into its folder at start (with its own
    policy values), which must not change the index the rest of the session reads."""
    return Path(shutil.copytree(world_settings.resolved_chroma_path, tmp_path / "chroma"))


def test_two_api_processes_share_the_server_and_follow_each_other(world: AgentDeps, world_settings: Settings,
                                                                  server_url: str, server_model: ChatOpenAIServer,
                                                                  postgres_url: str, tmp_path: Path) -> None:
    """``server.py`` twice on one PostgreSQL, both pointed at the one model server: a turn on each is planned by
    the model, and a follower on one sees both."""
    with cluster(tmp_path, postgres_url, [sys.executable, "server.py"], "ab", llm_backend="openai",
                 openai_base_url=server_url, openai_timeout_seconds=str(SERVER_TIMEOUT), planner="model",
                 answer_style="quote", chroma_path=str(private_chroma(world_settings, tmp_path))) as two:
        a, b = two.bases
        customer = two.headers("customer", SHOWCASE)
        conversation = new_conversation(a, customer)
        thread, followed = in_background(follow, b, conversation, customer, dones=2, timeout=2 * SERVER_TIMEOUT)
        first = say(a, conversation, customer, "wheres my coffe maker??", timeout=2 * SERVER_TIMEOUT)
        second = say(b, conversation, customer, "are you a bot?", timeout=2 * SERVER_TIMEOUT)
        thread.join(60)
        planned = [total(samples(httpx.get(f"{base}/metrics").text), "support_plan_seconds_count", path="planner")
                   for base in (a, b)]
    for turn in (first, second):
        types = [e["type"] for e in turn]
        assert "error" not in types and "thinking" in types and types[-1] == "done"
    assert "#W4821002" in reply_text(first)
    assert planned == [1, 1]  # the model's plan was used on each process
    assert followed == [first + second]  # the follower on b saw a's turn too, once, in order
