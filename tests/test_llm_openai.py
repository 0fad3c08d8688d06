"""The OpenAI-compatible backend against a fake server on loopback: answers, streams and schema-shaped output in
each server's form; bounded retries, the deadline and the circuit breaker; and a whole turn while the model server
hangs or is down, which still gets the template or quoted reply, never an error, and is counted in
``support_model_fallbacks_total``."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from prometheus_client import REGISTRY

from agent.commands import Plan
from agent.executor.address import parse_address
from agent.llm import ChatOpenAIServer, ModelError, build_chat_model
from agent.llm.fake import ScriptedChatModel
from agent.llm.resilience import ServerGuard
from agent.state import AgentDeps
from core.settings import Settings
from tests.conftest import SHOWCASE, Chat, text_of
from tests.fake_model_server import FakeModelServer, Reply, fake_model_server
from tests.live_server import free_port, serve, settings_on_private_store
from tests.sse import read_events, reply_text

PLAN = '{"commands": [{"cmd": "lookup", "order_id": "#W4821002"}]}'
DEADLINE = 1.0


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with fake_model_server() as fake:
        yield fake


def client(url: str, **guard: Any) -> ChatOpenAIServer:
    """A model on ``url`` with a short deadline and a breaker that stays out of the way unless a test sets it."""
    options = {"deadline_seconds": DEADLINE, "connect_seconds": 0.5, "retries": 2, "breaker_failures": 100,
               "breaker_reset_seconds": 60.0, **guard}
    return ChatOpenAIServer(base_url=url, guard=ServerGuard(**options))


def fallbacks() -> Counter[str]:
    """``support_model_fallbacks_total`` by call, in this process (compare before and after)."""
    return Counter({call: REGISTRY.get_sample_value("support_model_fallbacks_total", {"call": call}) or 0.0
                    for call in ("plan", "answer", "address")})


def failure(call: Callable[[], object]) -> tuple[str, float]:
    """The :class:`ModelError` ``call`` raises, and how long it took."""
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        call()
    return str(caught.value), time.monotonic() - started


def test_built_from_settings(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, llm_backend="openai",  # type: ignore[call-arg]
                        openai_base_url="http://127.0.0.1:9/v1", openai_timeout_seconds=7, openai_max_retries=1,
                        openai_breaker_failures=4, openai_structured="tools")
    model = build_chat_model(settings)
    assert isinstance(model, ChatOpenAIServer)
    assert (model.structured, model.guard.deadline_seconds, model.guard.retries) == ("tools", 7, 1)
    assert model.guard.breaker.fail_max == 4
    assert "sk-secret" not in repr(build_chat_model(settings.model_copy(update={"openai_api_key": "sk-secret"})))


def test_answers_with_the_settings_sampling(server: FakeModelServer) -> None:
    server.then(Reply(text="Refunds take 5 days."))
    message = client(server.url).invoke([HumanMessage("how long do refunds take?")], stop=["\n\n"], max_tokens=40)
    assert message.content == "Refunds take 5 days."
    assert message.response_metadata["usage"]["completion_tokens"] == 4
    sent = server.requests[0]
    assert server.headers[0]["Authorization"] == "Bearer not-needed"
    assert sent["messages"] == [{"role": "user", "content": "how long do refunds take?"}]
    assert (sent["max_tokens"], sent["stop"], sent["seed"], sent["temperature"]) == (40, ["\n\n"], 7, 0.2)


def test_streams_token_by_token(server: FakeModelServer) -> None:
    server.then(Reply(text="Refunds take five to seven days. Returns are free."))
    pieces = [str(chunk.content) for chunk in client(server.url).stream("how long?") if chunk.content]
    assert pieces == ["Refunds ", "take ", "five ", "to ", "seven ", "days. ", "Returns ", "are ", "free."]
    assert server.requests[0]["stream"] is True


@pytest.mark.parametrize(("form", "asked"), [
    ("json_object", lambda r: r["response_format"]["type"] == "json_object" and r["repeat_penalty"] == 1.0
     and r["response_format"]["schema"]["title"] == "Plan"),
    ("json_schema", lambda r: r["response_format"]["type"] == "json_schema"
     and r["response_format"]["json_schema"]["name"] == "Plan" and "repeat_penalty" not in r),
    ("tools", lambda r: r["tool_choice"]["function"]["name"] == "Plan"
     and r["tools"][0]["function"]["parameters"]["title"] == "Plan" and "response_format" not in r),
])
def test_structured_output_in_each_servers_form(server: FakeModelServer, form: str,
                                                asked: Callable[[dict[str, Any]], bool]) -> None:
    server.then(Reply(text=PLAN))
    model = client(server.url).model_copy(update={"structured": form})
    plan = model.with_structured_output(Plan).invoke([HumanMessage("where is #W4821002?")])
    assert isinstance(plan, Plan) and plan.commands[0].model_dump() == {"cmd": "lookup", "order_id": "#W4821002"}
    sent = server.requests[0]
    assert asked(sent) and sent["temperature"] == 0.0
    assert r"\d" not in str(sent)  # patterns spelt out for llama.cpp's grammar converter


@pytest.mark.parametrize("answer", ['{"commands": []}', '{"commands": [{"cmd": "fly"}]}', "Sure! Here is the plan",
                                    '{"commands": [{"cmd": "lookup"'])
def test_output_that_fails_the_schema_is_a_model_error(server: FakeModelServer, answer: str) -> None:
    server.default = Reply(text=answer)
    model = client(server.url, breaker_failures=1)
    message, _ = failure(lambda: model.with_structured_output(Plan).invoke("plan"))
    assert "does not match Plan" in message
    assert len(server.requests) == 1 and model.guard.breaker.current_state == "closed"  # the server is fine


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_transient_failure_is_retried(server: FakeModelServer, status: int) -> None:
    server.then(Reply("status", status=status), Reply("status", status=status), Reply(text="Back again."))
    assert client(server.url).invoke("hi").content == "Back again."
    assert len(server.requests) == 3


def test_retries_are_bounded(server: FakeModelServer) -> None:
    server.default = Reply("status", status=503)
    message, _ = failure(lambda: client(server.url, retries=2).invoke("hi"))
    assert "HTTP 503" in message and len(server.requests) == 3


@pytest.mark.parametrize("kind", ["status", "malformed"])
def test_a_client_error_or_a_malformed_answer_is_not_retried(server: FakeModelServer, kind: str) -> None:
    server.default = Reply(kind, status=400)  # type: ignore[arg-type]
    message, _ = failure(lambda: client(server.url).invoke("hi"))
    assert ("HTTP 400" if kind == "status" else "MalformedResponse") in message
    assert len(server.requests) == 1


def test_a_dropped_connection_is_retried(server: FakeModelServer) -> None:
    server.then(Reply("drop"))
    assert client(server.url).invoke("hi").content == "Hello there."
    assert len(server.requests) == 2


def test_no_server_fails_fast() -> None:
    message, seconds = failure(lambda: client(f"http://127.0.0.1:{free_port()}/v1").invoke("hi"))
    assert "ConnectError" in message and seconds < DEADLINE


def test_a_hanging_server_is_given_up_at_the_deadline_without_retrying(server: FakeModelServer) -> None:
    server.default = Reply("hang")
    _, seconds = failure(lambda: client(server.url).invoke("hi"))
    assert DEADLINE * 0.9 <= seconds < DEADLINE + 1 and len(server.requests) == 1


def test_a_stream_ends_at_the_deadline(server: FakeModelServer) -> None:
    server.default = Reply(text="one two three four five six seven eight nine ten", pause=0.25)
    seen: list[str] = []
    _, seconds = failure(lambda: seen.extend(str(c.content) for c in client(server.url).stream("hi")))
    assert 0 < len(seen) < 10 and seconds < DEADLINE + 1


def test_a_stream_cut_short_is_an_error(server: FakeModelServer) -> None:
    server.default = Reply("cut", text="Refunds take five")
    message, _ = failure(lambda: list(client(server.url).stream("hi")))
    assert "before [DONE]" in message


def test_the_breaker_opens_fails_fast_and_recovers_after_a_trial(server: FakeModelServer) -> None:
    model = client(server.url, retries=0, breaker_failures=2, breaker_reset_seconds=0.3)
    server.default = Reply("status", status=500)
    for _ in range(2):
        failure(lambda: model.invoke("hi"))
    assert model.guard.breaker.current_state == "open" and len(server.requests) == 2
    message, seconds = failure(lambda: model.invoke("hi"))
    assert "unavailable" in message and seconds < DEADLINE / 2 and len(server.requests) == 2  # not even tried

    time.sleep(0.35)  # the breaker's reset timeout passes
    failure(lambda: model.invoke("hi"))  # the trial call fails: open again at once
    assert model.guard.breaker.current_state == "open" and len(server.requests) == 3

    time.sleep(0.35)
    server.default = Reply(text="I am back.")
    assert model.invoke("hi").content == "I am back."  # the trial call succeeds: closed
    assert model.guard.breaker.current_state == "closed"
    assert [model.invoke("hi").content for _ in range(2)] == ["I am back."] * 2


def test_a_reader_stopping_early_is_not_a_failure(server: FakeModelServer) -> None:
    model = client(server.url, breaker_failures=1)
    server.default = Reply(text="One. Two. Three.")
    stream = model.stream("hi")
    assert next(stream).content == "One. "
    stream.close()
    assert model.guard.breaker.current_state == "closed" and model.guard.breaker.fail_counter == 0


# --- a whole turn while the model server fails ------------------------------------------------------------------

QUESTION = "how long do refunds take?"
ANSWERED = "Once issued, a refund to a card or PayPal reaches your account within 5 business days."
"""A help-center sentence that answers :data:`QUESTION`: the rails pass it, so what follows decides."""


def model_turn(deps: AgentDeps, model: object, *, planner: str = "model") -> tuple[list[Any], float]:
    chat = Chat(dataclasses.replace(deps, model=model, planner=planner, answer_style="model"), SHOWCASE)
    started = time.monotonic()
    events = chat.say(QUESTION)
    return events, time.monotonic() - started


def quoted_reply(world: AgentDeps) -> str:
    """The reply the help center quotes for :data:`QUESTION`, read by the router alone (no model)."""
    chat = Chat(dataclasses.replace(world, model=ScriptedChatModel(), planner="router", answer_style="quote"),
                SHOWCASE)
    return text_of(chat.say(QUESTION))


@pytest.mark.parametrize("kind", ["hang", "status", "drop", "malformed", "cut"])
def test_a_turn_gets_the_quoted_reply_while_the_model_server_fails(world: AgentDeps, server: FakeModelServer,
                                                                   kind: str) -> None:
    """``cut``: the plan is not JSON, and the answer's stream stops after its first sentence."""
    server.default = Reply(kind, text=f"{ANSWERED} They are")  # type: ignore[arg-type]
    before = fallbacks()
    events, seconds = model_turn(world, client(server.url))
    types = [e.type for e in events]
    assert len(server.requests) >= 2  # the planner and the answer both asked the model
    assert fallbacks() - before == Counter(plan=1, answer=1)
    assert "error" not in types and types[-1] == "done" and "message_completed" in types
    assert text_of(events) == quoted_reply(world) != ""
    assert seconds < 2 * DEADLINE + 5  # the planner's call and the answer's, each bounded by the deadline


def test_an_answer_of_no_text_gets_the_quoted_reply(world: AgentDeps, server: FakeModelServer) -> None:
    """A server that ends the stream at once (llama-cpp-python's does when another request interrupts it)."""
    server.default = Reply(text="")
    assert "".join(str(chunk.content) for chunk in client(server.url).stream("how long?")) == ""  # no error
    before = fallbacks()
    events, _ = model_turn(world, client(server.url))
    assert "error" not in [e.type for e in events] and text_of(events) == quoted_reply(world)
    assert fallbacks() - before == Counter(plan=1)  # the empty plan is a failure, the empty answer is not


def test_an_open_breaker_answers_at_once(world: AgentDeps) -> None:
    model = client(f"http://127.0.0.1:{free_port()}/v1", retries=0, breaker_failures=1)
    failure(lambda: model.invoke("hi"))
    before = fallbacks()
    events, _ = model_turn(world, model)
    assert "error" not in [e.type for e in events] and text_of(events) == quoted_reply(world)
    assert fallbacks() - before == Counter(plan=1, answer=1)


def test_an_address_the_model_cannot_read_is_counted_and_not_guessed(server: FakeModelServer) -> None:
    server.default = Reply("malformed")
    before = fallbacks()
    assert parse_address("send it to 12 Elm St in Springfield Illinois 62704", client(server.url)) is None
    assert len(server.requests) == 1 and fallbacks() - before == Counter(address=1)


def test_the_service_starts_and_answers_with_the_model_server_down(world_settings: Settings, tmp_path: Path) -> None:
    """SUPPORT_LLM_BACKEND=openai on a port nobody listens on: start-up (its warm-up fails) and a turn over the
    HTTP API still work, with the quoted reply and no error event."""
    settings = settings_on_private_store(world_settings, tmp_path).model_copy(update={
        "llm_backend": "openai", "openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
        "openai_timeout_seconds": DEADLINE, "chroma_path": world_settings.resolved_chroma_path})
    with serve(settings) as base:
        created = httpx.post(f"{base}/v1/conversations")
        conversation = created.json()["id"]
        with httpx.stream("POST", f"{base}/v1/conversations/{conversation}/messages", json={"message": QUESTION},
                          timeout=30) as response:
            events = read_events(response)
    types = [e["type"] for e in events]
    assert "error" not in types and types[-1] == "done"
    assert "refund" in reply_text(events).lower()
