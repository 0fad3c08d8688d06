"""The ops page at ``/admin`` in real headless Chromium: load tools and guardrails, change them, see history,
roll back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from agent.bootstrap import token_keys
from core.auth import issue_token
from core.settings import Settings
from tests.browser import signed_in
from tests.live_server import serve_on_own_store

pytestmark = pytest.mark.model
REFUNDS = "return_delivered_order_items"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, world_settings: Settings) -> Iterator[tuple[str, Settings]]:
    with serve_on_own_store(tmp_path_factory.mktemp("admin-page"), world_settings) as running:
        yield running


@pytest.fixture
def page(server: tuple[str, Settings]) -> Iterator[Page]:
    base, settings = server
    with signed_in(base, "/admin", issue_token(token_keys(settings), role="ops", subject="ops-page")) as page:
        expect(page.locator(f'tr[data-tool="{REFUNDS}"]')).to_be_visible()
        yield page


def _read(server: tuple[str, Settings], path: str) -> dict:
    base, settings = server
    token = issue_token(token_keys(settings), role="ops", subject="check")
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}).json()


def _policy(server: tuple[str, Settings]) -> dict:
    return _read(server, f"/v1/admin/tools/{REFUNDS}")


def _guardrails(server: tuple[str, Settings]) -> dict:
    return _read(server, "/v1/admin/guardrails")["guardrails"]


def test_ops_page_edits_a_tool_shows_the_diff_and_rolls_back(page: Page, server: tuple[str, Settings]) -> None:
    row = page.locator(f'tr[data-tool="{REFUNDS}"]')
    row.locator('[name="enabled"]').uncheck()
    row.locator('[name="limit:auto_refund_limit"]').fill("75")
    row.locator('[name="reason"]').fill("pause refunds during the audit")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#message")).to_contain_text("Saved")
    assert _policy(server)["policy"]["enabled"] is False and _policy(server)["limits"]["auto_refund_limit"] == 75
    newest = page.locator("#history li").first
    expect(newest).to_contain_text("pause refunds during the audit")
    newest.get_by_role("button", name="Show diff").click()
    expect(newest.locator("pre.diff")).to_contain_text("auto_refund_limit: 75")
    page.locator("#history li").last.get_by_role("button", name="Roll back to 1").click()
    expect(page.locator("#message")).to_contain_text("Rolled back")
    assert _policy(server)["policy"]["enabled"] is True and _policy(server)["limits"]["auto_refund_limit"] == 200


def test_ops_page_reports_an_invalid_value_with_its_field(page: Page, server: tuple[str, Settings]) -> None:
    row = page.locator(f'tr[data-tool="{REFUNDS}"]')
    row.locator('[name="limit:return_window_days"]').fill("-3")
    row.locator('[name="reason"]').fill("typo")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#message")).to_contain_text("return_window_days")
    assert _policy(server)["limits"]["return_window_days"] == 30


def test_ops_page_changes_a_rule_mode_a_threshold_and_a_word_list(page: Page, server: tuple[str, Settings]) -> None:
    panel = page.locator("#guardrails")
    competitor = panel.locator('tr[data-rail="output"][data-rule="competitor"] select')
    competitor.select_option("monitor")
    words = panel.locator('[name="words:competitors"]')
    words.fill(words.input_value() + "\nzalando")  # one entry a line: entries are regex fragments, {1,3} included
    panel.locator('[name="threshold:evidence_min_similarity"]').fill("0.6")
    panel.locator('[name="reason"]').fill("measure the competitor rule")
    panel.get_by_role("button", name="Save guardrails").click()
    expect(page.locator("#message")).to_contain_text("Saved the guardrails")
    guardrails = _guardrails(server)
    assert next(r["mode"] for r in guardrails["output"] if r["name"] == "competitor") == "monitor"
    assert "zalando" in guardrails["words"]["competitors"] and "amazon" in guardrails["words"]["competitors"]
    assert guardrails["thresholds"]["evidence_min_similarity"] == 0.6
    assert next(r["mode"] for r in guardrails["input"] if r["name"] == "persona") == "block"  # same name, other rail
    newest = page.locator("#history li").first
    expect(newest).to_contain_text("measure the competitor rule")
    expect(newest.locator(".summary")).to_have_text(re.compile(r"^guardrails \(\+\d+ −\d+ lines\)$"))
    newest.get_by_role("button", name="Show diff").click()
    expect(newest.locator("pre.diff")).to_contain_text("+  - zalando")
    expect(competitor).to_have_value("monitor")  # the page shows the new version


def test_ops_page_reports_an_invalid_threshold_with_its_field(page: Page, server: tuple[str, Settings]) -> None:
    before = _guardrails(server)["thresholds"]
    page.locator('#guardrails [name="threshold:evidence_min_similarity"]').fill("1.5")
    page.locator('#guardrails [name="reason"]').fill("typo")
    page.locator("#guardrails").get_by_role("button", name="Save guardrails").click()
    expect(page.locator("#message")).to_contain_text("body.guardrails.thresholds.evidence_min_similarity")
    assert _guardrails(server)["thresholds"] == before


def test_ops_page_lists_versions_with_a_summary_and_opens_a_diff_on_demand(page: Page) -> None:
    diffs: list[str] = []
    page.on("request", lambda request: diffs.append(request.url) if request.url.endswith("/diff") else None)
    first = page.locator('#history li[data-version="1"]')
    expect(first).to_contain_text("Version 1 by system (seed)")
    expect(first).to_contain_text("initial policy")
    expect(first.locator(".summary")).to_contain_text("first version")
    expect(first.locator(".summary")).to_contain_text(" lines)")
    assert first.locator("pre.diff").count() == 0 and diffs == []  # the page does not print whole documents
    toggle = first.locator("button.show-diff")
    expect(toggle).to_have_text("Show diff")
    toggle.click()
    diff = first.locator("pre.diff")
    expect(diff).to_be_visible()
    expect(diff).to_contain_text("+++ version 1")
    assert len(diffs) == 1 and diffs[0].endswith("/v1/admin/policy/versions/1/diff")
    expect(toggle).to_have_text("Hide diff")
    toggle.click()
    expect(diff).to_be_hidden()
    toggle.click()
    expect(diff).to_be_visible()
    assert len(diffs) == 1  # loaded once
