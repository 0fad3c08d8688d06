"""The human agents' console at ``/console`` in real headless Chromium: filter the queue, claim, read the
package, approve the pending exception, reply, hand back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from agent.bootstrap import token_keys
from core.auth import issue_token
from core.settings import Settings
from tests.browser import signed_in
from tests.test_api_handoffs import bearer, say, server  # noqa: F401 - the shared live-server fixture

pytestmark = pytest.mark.model


@pytest.fixture
def console(server: tuple[str, Settings]) -> Iterator[Page]:  # noqa: F811
    base, settings = server
    with signed_in(base, "/console", issue_token(token_keys(settings), role="agent", subject="pat")) as page:
        yield page


def test_console_works_a_late_return_from_queue_to_approval(
    console: Page, server: tuple[str, Settings]  # noqa: F811
) -> None:
    base, settings = server
    customer = bearer(settings, "customer", "sofia_patel_7394")
    conversation, _ = say(base, customer, "I want to return the desk lamp from order #W7394002")
    say(base, {**customer, "X-Conversation-Id": conversation}, "yes")
    console.select_option("#queue", "billing")
    row = console.locator("#queue-table tbody tr", has_text="approval needed").last
    expect(row).to_be_visible()
    row.get_by_role("button", name="Claim").click()
    expect(console.locator("#message")).to_contain_text("You have conversation")
    expect(console.locator("#transcript")).to_contain_text("desk lamp")
    expect(console.locator("#exception")).to_contain_text("past our 30-day window")
    console.get_by_role("button", name="Approve").click()
    expect(console.locator("#message")).to_contain_text("Approved")
    expect(console.locator("#transcript")).to_contain_text("Your refund of $48.70")
    console.fill("#reply", "All set, Sofia!")
    console.get_by_role("button", name="Send").click()
    expect(console.locator("#transcript")).to_contain_text("All set, Sofia!")
    console.get_by_role("button", name="Hand back to the bot").click()
    expect(console.locator("#message")).to_contain_text("Handed back")
    staff = {"Authorization": f"Bearer {issue_token(token_keys(settings), role='agent', subject='pat')}"}
    returned = httpx.get(f"{base}/v1/handoffs", params={"status": "returned"}, headers=staff).json()
    assert conversation in [h["conversation_id"] for h in returned]
