"""The chat page at ``/`` in real headless Chromium (Debian's ``chromium``; no browser download).

The server is real (uvicorn on loopback, the seeded store copy, Chroma); the scripted model writes the one
help-center answer, so what the page must show is known exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from agent.bootstrap import token_keys
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.auth import issue_token
from core.settings import Settings
from server import create_app
from tests.browser import chromium
from tests.live_server import serve, settings_on_private_store, world_deps
from tests.test_api_conversations import bearer, with_staff_route
from tools.store import Store


@pytest.fixture(scope="module")
def model() -> ScriptedChatModel:
    return ScriptedChatModel()


@pytest.fixture(scope="module")
def settings(world_settings: Settings, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_on_private_store(world_settings, tmp_path_factory.mktemp("page"))


@pytest.fixture(scope="module")
def base_url(settings: Settings, world: AgentDeps, model: ScriptedChatModel) -> Iterator[str]:
    deps = world_deps(dataclasses.replace(world, store=Store(settings.resolved_database_url)), model)
    with serve(settings, app=with_staff_route(create_app(settings, deps_factory=deps))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    yield page
    context.close()  # closes the page's live stream before the server stops
    assert not errors, errors


def say(page: Page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def sign_in(page: Page, settings: Settings) -> None:
    page.click("#who")
    page.fill("#token", bearer(settings)["Authorization"].removeprefix("Bearer "))
    page.click("#token-form button[type=submit]")
    expect(page.locator("#who")).to_have_text("Signed in as olivia_martin_4821 (customer)")


def test_the_page_streams_a_reply_with_tool_progress(page: Page, settings: Settings) -> None:
    sign_in(page, settings)
    page.evaluate("""() => {
        window.replyLengths = [];
        new MutationObserver(() => {
            const reply = document.querySelector('[data-testid=reply] .text');
            if (reply) window.replyLengths.push(reply.textContent.length);
        }).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true});
    }""")
    say(page, "Where is my order #W4821002?")
    expect(page.locator(".bubble.customer")).to_have_text("Where is my order #W4821002?")
    expect(page.locator(".tool")).to_have_text("Looking up your order: Done")
    reply = page.locator(".bubble.assistant").last
    expect(reply).to_contain_text("Order #W4821002 is processed. It hasn't shipped yet")
    expect(page.locator("#send")).to_be_enabled()
    lengths = sorted(set(page.evaluate("window.replyLengths")) - {0})
    assert len(lengths) >= 2, lengths  # the text arrived in pieces, not all at once


def test_the_page_shows_the_sources_of_a_help_center_answer(page: Page, model: ScriptedChatModel) -> None:
    model.steps.append("You can return items within 30 days of delivery.")
    say(page, "how long do I have to return an item?")
    reply = page.locator(".bubble.assistant").last
    expect(reply.locator(".text")).to_have_text("You can return items within 30 days of delivery.")
    expect(reply.locator(".citation").first).to_contain_text("Source: ")
    expect(reply.locator(".citation").first).to_contain_text("eturn")


def test_the_page_shows_the_handoff_and_the_person_who_answers(page: Page, base_url: str) -> None:
    say(page, "I want to talk to a human")
    expect(page.locator(".notice.handoff")).to_contain_text("Handed over to a person")
    expect(page.locator("#send")).to_be_enabled()
    conversation_id = page.locator("body").get_attribute("data-conversation")
    posted = httpx.post(f"{base_url}/test/conversations/{conversation_id}/staff",
                        json={"author": "Sam (support)", "text": "Hi, I'm Sam from the support team."})
    assert posted.status_code == 200
    staff = page.locator(".bubble.staff")
    expect(staff.locator(".author")).to_have_text("Sam (support)")
    expect(staff.locator(".text")).to_have_text("Hi, I'm Sam from the support team.")
    expect(page.locator(".notice.approval")).to_have_text("Approved.")

    page.reload()  # the conversation comes back from its event stream, each event once
    expect(page.locator(".bubble.staff")).to_have_count(1)
    expect(page.locator(".bubble.customer")).to_have_text(["I want to talk to a human"])
    expect(page.locator(".notice.handoff")).to_have_count(1)


def test_a_refusal_is_shown_and_the_page_recovers(page: Page) -> None:
    say(page, "x" * 3999 + " y")
    expect(page.locator("#status")).to_contain_text("longer than 4000 characters")
    expect(page.locator("#send")).to_be_enabled()


def test_an_expired_token_is_explained(page: Page, settings: Settings) -> None:
    expired = issue_token(token_keys(settings), role="customer", subject="olivia_martin_4821",
                          ttl=timedelta(seconds=-1))
    page.click("#who")
    page.fill("#token", expired)
    page.click("#token-form button[type=submit]")
    say(page, "hi")
    expect(page.locator("#status")).to_have_text("token expired")
    expect(page.locator(".bubble")).to_have_count(0)


def test_the_customer_rates_a_reply_and_the_conversation_and_the_console_shows_it(
    page: Page, browser: Browser, settings: Settings, base_url: str,
) -> None:
    sign_in(page, settings)
    say(page, "Where is my order #W4821002?")
    reply = page.locator(".bubble.assistant").last
    expect(reply).to_contain_text("Order #W4821002 is processed")
    reply.get_by_role("button", name="Not helpful").click()
    expect(reply.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#rating")).to_be_visible()  # the turn is over: the conversation can be rated
    page.get_by_label("4").check()
    page.fill("#rating-comment", "It had not shipped, but it said so clearly.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator("#status")).to_have_text("Thanks for rating this conversation.")
    expect(page.locator("#rating")).to_be_hidden()
    say(page, "I want to talk to a human")
    expect(page.locator(".notice.handoff")).to_contain_text("Handed over to a person")
    conversation_id = page.locator("body").get_attribute("data-conversation")

    context = browser.new_context(base_url=base_url)
    console = context.new_page()
    console.goto("/console")
    console.fill("#token", issue_token(token_keys(settings), role="agent", subject="Pat Lee"))
    console.click("#token-form button")
    row = console.locator("#queue-table tbody tr", has_text="asked for a human").last
    row.get_by_role("button", name="Claim").click()
    expect(console.locator("#feedback")).to_contain_text("Rated the conversation 4 of 5: “It had not shipped")
    expect(console.locator("#feedback")).to_contain_text("Not helpful: “Order #W4821002 is processed")
    context.close()
    stored = httpx.get(f"{base_url}/v1/conversations/{conversation_id}/feedback", headers=bearer(settings)).json()
    assert stored["rating"]["rating"] == 4 and [r["helpful"] for r in stored["replies"]] == [False]
