"""Bad input over a real server: clear 4xx answers, nothing stored, and a schema fuzz that finds no 5xx."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from agent.bootstrap import token_keys
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.auth import issue_token
from core.settings import Settings
from tests.conftest import OTHER_CUSTOMER, SHOWCASE, make_settings
from tests.live_server import private_store, serve, world_deps
from tests.test_api_conversations import bearer, new_conversation, totals
from tools.store import Store


@pytest.fixture(scope="module")
def store(world_settings: Settings, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> Store:
    return private_store(world_settings, tmp_path_factory.mktemp("bad-input-store"))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, store: Store) -> Settings:
    return make_settings(tmp_path_factory.mktemp("bad-input"), database_url=str(store.engine.url),
                         ip_turns_per_minute=10_000, customer_turns_per_minute=10_000, reads_per_minute=10_000,
                         staff_requests_per_minute=10_000, password_resets_per_minute=10_000)


@pytest.fixture(scope="module")
def base_url(settings: Settings, world: AgentDeps, store: Store) -> Iterator[str]:
    with serve(settings, deps_factory=world_deps(dataclasses.replace(world, store=store), ScriptedChatModel())) as url:
        yield url


@pytest.fixture(scope="module")
def mine(base_url: str, settings: Settings) -> str:
    """A conversation of the showcase customer."""
    return new_conversation(base_url, bearer(settings))


def token(settings: Settings, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(token_keys(settings), role='customer', subject=SHOWCASE, **kwargs)}"}


ROUTES = {
    "message": ("/v1/conversations/{mine}/messages", "message"),
    "chat": ("/v1/chat", "message"),
    "openai": ("/v1/chat/completions", "openai"),
}


def body(kind: str, text: Any) -> dict[str, Any]:
    if kind == "openai":
        return {"model": "any", "messages": [{"role": "user", "content": text}]}
    return {"message": text}


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("malformed JSON", {"content": b'{"message": ', "headers": {"content-type": "application/json"}}, 422, "JSON"),
    ("not UTF-8", {"content": b'{"message": "caf\xe9"}', "headers": {"content-type": "application/json"}}, 4, ""),
    ("wrong type", {"json": "text", "wrong_type": True}, 422, "valid string"),
    ("unknown field", {"json": "hi", "extra": {"admin": True}}, 422, "xtra"),
    ("empty text", {"json": "   "}, 422, ""),
    ("huge body", {"json": "x" * 200_000}, 413, "larger than"),
    ("message too long", {"json": "x" * 4001}, 413, "longer than 4000 characters"),
    ("forged token", {"json": "hi", "headers": {"Authorization": "Bearer forged.token.value"}}, 401, "invalid token"),
    ("not a bearer token", {"json": "hi", "headers": {"Authorization": "Basic dXNlcjpwdw=="}}, 401, "Bearer"),
    ("expired token", {"json": "hi", "token": {"ttl": timedelta(seconds=-5)}}, 401, "token expired"),
    ("other secret", {"json": "hi", "token": {"secret": "x" * 40}}, 401, "invalid token"),
    ("the old built-in secret", {"json": "hi", "token": {"secret": "dev-only-insecure-secret-change-me-0000"}}, 401,
     "invalid token"),
    ("another issuer", {"json": "hi", "token": {"issuer": "someone-else"}}, 401, "invalid token"),
    ("another audience", {"json": "hi", "token": {"audience": "another-service"}}, 401, "invalid token"),
    ("unknown conversation", {"json": "hi", "conversation": "0" * 32}, 404, "unknown conversation"),
    ("someone else's conversation", {"json": "hi", "as": OTHER_CUSTOMER}, 404, "unknown conversation"),
    ("staff token", {"json": "hi", "role": "agent"}, 403, "not staff tokens"),
]


def _request(route: str, case: dict[str, Any], base_url: str, settings: Settings, mine: str) -> httpx.Response:
    path, kind = ROUTES[route]
    conversation = case.get("conversation", mine)
    headers = dict(token(settings))
    if "token" in case:
        keys = dataclasses.replace(token_keys(settings), **{k: v for k, v in case["token"].items() if k != "ttl"})
        ttl = case["token"].get("ttl", timedelta(hours=1))
        headers["Authorization"] = f"Bearer {issue_token(keys, role='customer', subject=SHOWCASE, ttl=ttl)}"
    if "as" in case:
        headers = bearer(settings, case["as"])
    if "role" in case:
        headers = bearer(settings, "a1", case["role"])
    headers.update(case.get("headers", {}))
    if route != "message":
        headers["X-Conversation-Id"] = conversation
    kwargs: dict[str, Any] = {"content": case["content"]} if "content" in case else {}
    if "json" in case:
        payload = body(kind, 42 if case.get("wrong_type") else case["json"])
        kwargs["json"] = {**payload, **case.get("extra", {})}
    return httpx.post(base_url + path.format(mine=conversation), headers=headers, timeout=30, **kwargs)


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize(("case", "status", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_requests_get_a_clear_4xx_and_store_nothing(
    base_url: str, settings: Settings, store: Store, mine: str, route: str, case: dict[str, Any], status: int,
    reason: str,
) -> None:
    before = totals(store)
    response = _request(route, case, base_url, settings, mine)
    assert str(response.status_code).startswith(str(status)), response.text
    assert reason in response.text
    if route == "openai":
        assert response.json()["error"]["message"]  # OpenAI's error shape, which its clients read
    assert totals(store) == before
    assert httpx.get(f"{base_url}/healthz").status_code == 200


@pytest.mark.parametrize("last_event_id", ["nonsense", "someone-else:3", "1:2:x", "-1"])
def test_a_malformed_last_event_id_is_refused(base_url: str, settings: Settings, mine: str,
                                              last_event_id: str) -> None:
    response = httpx.get(f"{base_url}/v1/conversations/{mine}/events", headers={**bearer(settings),
                                                                                "Last-Event-ID": last_event_id})
    assert response.status_code == 400 and "Last-Event-ID" in response.json()["detail"]


def test_fuzzing_the_openapi_schema_finds_no_server_error(base_url: str, settings: Settings) -> None:
    """Requests generated from the OpenAPI schema, valid and invalid, half of them with a real token and
    conversation (bounded: about twenty per operation); none may answer 5xx."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").include(path_regex="^/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    real = {"conversation_id": new_conversation(base_url, bearer(settings))}
    strategies = [op.as_strategy(generation_mode=mode) for op in operations
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    strategies += [op.as_strategy(path_parameters=real) for op in operations  # a live tail would never end
                   if "{conversation_id}" in op.path and not op.path.endswith("/events")]

    @given(case=st.one_of(strategies), signed_in=st.booleans())
    @hypothesis_settings(max_examples=20 * len(operations), deadline=None, derandomize=True, database=None,
                         phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def no_server_error(case: schemathesis.Case, signed_in: bool) -> None:
        response = case.call(timeout=15, headers=bearer(settings) if signed_in else None)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"

    no_server_error()
