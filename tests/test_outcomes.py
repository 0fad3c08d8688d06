"""Conversation outcomes: how each turn ended, the outcome that follows, the figures over a period (checked
against hand-computed values), the insights route's roles and bad input, and deletion keeping only counts."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agent.turn_outcome import handoff_of, turn_ending
from api.insights import spreadsheet_safe
from core.embeddings import get_embedder
from core.settings import Settings
from tests.test_api_conversations import base_url, bearer, new_conversation, send, settings, store  # noqa: F401
from tools.insights import insights
from tools.outcomes import TurnFacts, outcome_counts, record_turn
from tools.store import Store
from tools.store.models import ConversationOutcome

NOW = datetime(2026, 11, 25, 17, 0)
"""The world's clock in the tests (``tests.conftest.OFFICE_HOURS``), as the store keeps it (naive UTC)."""
DAY, HOUR = timedelta(hours=24), timedelta(hours=1)


@pytest.mark.parametrize(("state", "failed", "ending"), [
    ({"reply": "Order #W1 is delivered."}, False, "answered"),
    ({"ask": "Which order do you mean?"}, False, "waiting"),
    ({"task": {"intent": "cancel_order", "awaiting": "confirmation"}}, False, "waiting"),
    ({"retrieved": True, "passages": []}, False, "unresolved"),
    ({"input_flag": "jailbreak"}, False, "unresolved"),
    ({}, True, "unresolved"),
])
def test_how_a_turn_ended(state: dict[str, Any], failed: bool, ending: str) -> None:
    assert turn_ending(state, failed=failed) == ending


def test_a_handoff_is_read_with_its_trigger_and_queue() -> None:
    state = {"handoff": {"queue": "billing", "position": 1, "reason": "policy exception"}}
    assert handoff_of(state) == ("policy exception", "billing")
    assert handoff_of({"handoff": None}) is None


def test_the_figures_of_a_known_set_of_conversations(tmp_path: Path) -> None:
    known = Store(f"sqlite:///{tmp_path / 'store.db'}")
    known.migrate()
    turns: list[tuple[str, timedelta, str, tuple[str, str] | None]] = [
        ("resolved", 48 * HOUR, "answered", None),
        ("abandoned", 30 * HOUR, "waiting", None),
        ("unresolved", 25 * HOUR, "unresolved", None),
        ("handed", 40 * HOUR, "waiting", ("customer asked for a human", "general")),
        ("handed", 39 * HOUR, "answered", None),  # answered later: still handed to a person
        ("open", 1 * HOUR, "answered", None),  # within the window: not yet known
        ("before", 40 * DAY, "answered", None),  # started before the period
        ("resolved later", 50 * HOUR, "waiting", None),
        ("resolved later", 49 * HOUR, "answered", None),
    ]
    for conversation, ago, ending, handoff in turns:
        record_turn(known, conversation, TurnFacts(at=NOW - ago, ending=ending, handoff=handoff))  # type: ignore[arg-type]
    counts = outcome_counts(known, since=NOW - 30 * DAY, until=NOW, now=NOW, window=DAY)
    assert counts.conversations == 6
    assert counts.outcomes == {"handed_off": 1, "resolved": 2, "unresolved": 1, "abandoned": 1, "open": 1}
    assert counts.handoff_triggers == {"customer asked for a human": 1}
    assert (counts.containment, counts.resolution) == (4 / 5, 2 / 5)  # of the 5 whose outcome is known
    empty = outcome_counts(known, since=NOW + DAY, until=NOW + 2 * DAY, now=NOW, window=DAY)
    assert (empty.conversations, empty.containment, empty.resolution) == (0, None, None)


def test_turns_over_http_are_recorded_and_the_insights_route_checks_roles_and_periods(
    base_url: str, settings: Settings, store: Store,  # noqa: F811
) -> None:
    route = f"{base_url}/v1/insights"
    agent = bearer(settings, "Pat Lee", "agent")
    before = httpx.get(route, headers=agent).json()["outcomes"]
    answered = new_conversation(base_url, bearer(settings))
    send(base_url, answered, "Where is my order #W4821002?", bearer(settings))
    handed = new_conversation(base_url, bearer(settings))
    send(base_url, handed, "I want to talk to a human", bearer(settings))
    after = httpx.get(route, headers=bearer(settings, "Sam Ortiz", "ops")).json()["outcomes"]
    assert after["conversations"] == before["conversations"] + 2
    assert after["outcomes"]["handed_off"] == before["outcomes"]["handed_off"] + 1
    assert after["outcomes"]["open"] == before["outcomes"]["open"] + 1  # the world's clock: within the window
    assert after["handoff_triggers"]["customer asked for a human"] >= 1
    assert httpx.get(route).status_code == 401
    assert httpx.get(route, headers=bearer(settings)).status_code == 403
    for period in ({"since": "2026-11-20T00:00:00", "until": "2026-11-10T00:00:00"},
                   {"since": "2020-01-01T00:00:00", "until": "2026-01-01T00:00:00"}, {"since": "last tuesday"},
                   {"demo": "perhaps"}):
        assert httpx.get(route, params=period, headers=agent).status_code == 422

    assert httpx.delete(f"{base_url}/v1/conversations/{handed}", headers=bearer(settings)).status_code == 204
    with store.session() as session:
        kept = session.scalars(select(ConversationOutcome).where(ConversationOutcome.conversation_id == handed)).all()
    assert kept == [] and httpx.get(route, headers=agent).json()["outcomes"]["conversations"] == after["conversations"]


def test_the_demo_history_is_labelled_and_never_counted_with_real_conversations(
    base_url: str, settings: Settings, store: Store,  # noqa: F811
) -> None:
    agent = bearer(settings, "Pat Lee", "agent")
    real = httpx.get(f"{base_url}/v1/insights", headers=agent).json()
    demo = httpx.get(f"{base_url}/v1/insights", params={"demo": "true", "until": "2030-01-01T00:00:00",
                                                         "since": "2029-01-02T00:00:00"}, headers=agent).json()
    assert (real["demo"], demo["demo"]) == (False, True)
    seeded = httpx.get(f"{base_url}/v1/insights", params={"demo": "true", "since": "2020-01-01T00:00:00",
                                                           "until": "2020-12-31T00:00:00"}, headers=agent)
    assert seeded.status_code == 200 and seeded.json()["outcomes"]["conversations"] == 0
    recent = httpx.get(f"{base_url}/v1/insights", params={"demo": "true", "since": "2026-11-01T00:00:00",
                                                           "until": "2026-12-31T00:00:00"}, headers=agent).json()
    assert recent["outcomes"]["conversations"] == 120 and recent["unanswered"]  # seeded with the store
    everything = {"since": "2026-01-01T00:00:00", "until": "2026-12-31T00:00:00"}
    real = httpx.get(f"{base_url}/v1/insights", params=everything, headers=agent).json()
    with store.session() as session:
        real_rows = session.scalar(select(func.count()).select_from(ConversationOutcome).where(
            ConversationOutcome.demo.is_(False))) or 0
    assert real["outcomes"]["conversations"] == real_rows  # none of the 120 demo conversations among them


def test_charts_are_svg_and_the_csv_export_is_safe_to_open(base_url: str, settings: Settings) -> None:  # noqa: F811
    agent = bearer(settings, "Pat Lee", "agent")
    recent = {"demo": "true", "since": "2026-11-01T00:00:00", "until": "2026-12-31T00:00:00"}
    for chart in ("outcomes", "satisfaction", "requests", "handoffs"):
        svg = httpx.get(f"{base_url}/v1/insights/charts/{chart}.svg", params=recent, headers=agent)
        assert svg.headers["content-type"] == "image/svg+xml" and svg.text.lstrip().startswith("<?xml")
    assert httpx.get(f"{base_url}/v1/insights/charts/pie.svg", headers=agent).status_code == 422
    exported = httpx.get(f"{base_url}/v1/insights.csv", params=recent, headers=agent)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["section", "name", "value"] and ["period", "demo", "True"] in rows
    assert ["conversations", "total", "120"] in rows


def test_a_question_that_looks_like_a_formula_is_quoted_in_the_csv() -> None:
    assert spreadsheet_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert (spreadsheet_safe("how long?"), spreadsheet_safe(None), spreadsheet_safe(3)) == ("how long?", "", 3)


def test_the_turn_figures_of_a_known_set_of_turns(tmp_path: Path) -> None:
    known = Store(f"sqlite:///{tmp_path / 'store.db'}")
    known.migrate()
    turns = [
        TurnFacts(at=NOW - DAY, ending="answered", request="order_status", path="fast", first_text_ms=100,
                  tools=[("get_order_details", "done")]),
        TurnFacts(at=NOW - DAY, ending="answered", request="return_refund", path="planner", first_text_ms=300,
                  tools=[("return_delivered_order_items", "denied"), ("get_order_details", "done")]),
        TurnFacts(at=NOW - DAY, ending="unresolved", request="policy_question", path="planner", first_text_ms=200,
                  unanswered="do you ship to canada?"),
        TurnFacts(at=NOW - DAY, ending="unresolved", request="policy_question", path="fallback: timeout",
                  first_text_ms=400, unanswered="can I get my order shipped to Canada"),
        TurnFacts(at=NOW - DAY, ending="unresolved", request="unknown", path="planner", rails=["prompt_injection"]),
    ]
    for n, facts in enumerate(turns):
        record_turn(known, f"c{n}", facts)
    figures = insights(known, since=NOW - 30 * DAY, until=NOW, now=NOW, window=DAY, embed=get_embedder().embed)
    assert (figures.turns, figures.first_text_p50_ms, figures.first_text_p95_ms) == (5, 200, 400)
    assert figures.top_requests == {"policy_question": 2, "order_status": 1, "return_refund": 1, "unknown": 1}
    assert figures.paths == {"planner": 3, "fast": 1, "fallback": 1}
    assert figures.tool_outcomes == {"get_order_details": {"done": 2}, "return_delivered_order_items": {"denied": 1}}
    assert figures.guardrail_interventions == {"prompt_injection": 1}
    assert [(g.count, sorted(g.examples)) for g in figures.unanswered] == [
        (2, ["can I get my order shipped to Canada", "do you ship to canada?"])]  # one meaning, two wordings
