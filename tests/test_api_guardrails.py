"""The guardrails section over the admin API, on a live server with the scripted model: roles first, validation
with the exact field, If-Match, history with diffs, rollback, and the next chat turn obeying every change."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from agent.bootstrap import open_policies
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from tests.conftest import SHOWCASE, make_settings
from tests.live_server import auth, private_store, serve, world_deps
from tests.sse import read_events, reply_text
from tools.store.models import PolicyVersion

URL = "/v1/admin/guardrails"
QUESTION = "how long do I have to return an item?"
SUPPORTED = "You have 30 days from the delivery date to return an item. "
UNSUPPORTED = "Always check with a local shipping company before you return anything."
UNSUPPORTED_FIRST = f"{UNSUPPORTED} {SUPPORTED}"
"""Stopped before anything was shown, the reply is withdrawn (after a supported sentence it is only cut)."""
"""No passage says it: only the ``unsupported_claim`` rule stops it."""


@dataclasses.dataclass
class Admin:
    base: str
    settings: Settings
    model: ScriptedChatModel

    def get(self, path: str = URL, role: str = "ops") -> httpx.Response:
        return httpx.get(self.base + path, headers=auth(self.settings, role))

    def send(self, method: str, body: dict[str, Any], *, path: str = URL, if_match: int | None = None,
             role: str = "ops") -> httpx.Response:
        headers = {**auth(self.settings, role), **({"If-Match": str(if_match)} if if_match else {})}
        return httpx.request(method, self.base + path, json=body, headers=headers)

    def version(self) -> int:
        return int(self.get().json()["version"])

    def turn(self, message: str, model_says: str) -> list[dict[str, Any]]:
        """One chat turn in a new conversation, the model saying ``model_says``."""
        self.model.steps.append(model_says)
        with httpx.stream("POST", f"{self.base}/v1/chat", json={"message": message}, timeout=60,
                          headers=auth(self.settings, "customer", SHOWCASE)) as response:
            return read_events(response)


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory, world_settings: Settings, world: AgentDeps) -> Iterator[Admin]:
    """A server on a private store with a policy history of its own, and a model that says what tests script."""
    folder: Path = tmp_path_factory.mktemp("guardrails-api")
    settings = make_settings(folder, chroma_path=world_settings.resolved_chroma_path)
    store = private_store(world_settings, folder)
    with store.session() as session:
        session.execute(delete(PolicyVersion))
    deps = dataclasses.replace(world, store=store, policies=open_policies(store, file=settings.resolved_policy_path))
    model = ScriptedChatModel()
    with serve(settings, deps_factory=world_deps(deps, model)) as base:
        yield Admin(base, settings, model)
    model.assert_all_used()


def stopped_by(events: list[dict[str, Any]]) -> list[str]:
    return [e["rule"] for e in events if e["type"] == "reply_replaced"]


def test_roles_are_checked_before_anything_else(admin: Admin) -> None:
    assert httpx.get(admin.base + URL).status_code == 401
    assert httpx.patch(admin.base + URL, json={}).status_code == 401
    for role in ("customer", "agent"):
        assert admin.get(role=role).status_code == 403
        assert admin.send("PATCH", {}, role=role).status_code == 403


def test_the_section_in_force_is_read_with_its_version(admin: Admin) -> None:
    response = admin.get()
    guardrails = response.json()["guardrails"]
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    assert {"name": "unsupported_claim", "mode": "block"}.items() <= guardrails["output"][-1].items()
    assert guardrails["thresholds"]["evidence_min_similarity"] == 0.68
    assert "amazon" in guardrails["words"]["competitors"]
    assert guardrails["secrets"][0]["validate"] == "luhn"  # as the policy document spells it


@pytest.mark.parametrize(("change", "loc"), [
    ({"thresholds": {"evidence_min_similarity": 1.5}}, ["body", "guardrails", "thresholds", "evidence_min_similarity"]),
    ({"thresholds": {"sentence_max_chars": "long"}}, ["body", "guardrails", "thresholds", "sentence_max_chars"]),
    ({"thresholds": {"patience": 3}}, ["body", "guardrails", "thresholds", "patience"]),
    ({"output": {"rudeness": "monitor"}}, ["body", "output", "rudeness"]),
    ({"input": {"persona": "warn"}}, ["body", "input", "persona"]),
    ({"words": {"rivals": ["zalando"]}}, ["body", "words", "rivals"]),
    ({"words": {"competitors": "zalando"}}, ["body", "guardrails", "words", "competitors"]),
    ({"words": {"competitors": ["(zalando"]}}, ["body", "guardrails"]),
    ({"reason": None}, ["body", "reason"]),
    ({"words": {"insults": []}}, ["body", "guardrails", "words", "insults"]),  # an empty list matches everything
    ({"words": {"insults": ["idiot", ""]}}, ["body", "guardrails", "words", "insults", 1]),
])
def test_an_invalid_change_is_422_with_the_exact_field_and_changes_nothing(admin: Admin, change: dict[str, Any],
                                                                          loc: list[str]) -> None:
    before = admin.version()
    response = admin.send("PATCH", {"reason": "tuning", **change})
    assert response.status_code == 422 and loc in [error["loc"] for error in response.json()["detail"]]
    assert admin.version() == before


@pytest.mark.parametrize(("change", "loc", "says"), [
    ({"protected_prompts": ["../../README.md"]}, ["body", "guardrails", "protected_prompts", 0], "pattern"),
    ({"protected_prompts": ["missing.md"]}, ["body", "guardrails"], "do not compile"),
    ({"secrets": [{"name": "x", "pattern": r"\d{6}", "replace": "{oops}"}]}, ["body", "guardrails", "secrets"],
     "neither last4 nor groups"),
    ({"input": [{"name": "new_rule", "flag": "unheard_of", "patterns": ["zzz"]}]}, ["body", "guardrails"],
     "without a fixed reply"),
])
def test_a_document_whose_guardrails_would_not_run_is_refused(admin: Admin, change: dict[str, Any], loc: list[Any],
                                                               says: str) -> None:
    """Valid-looking sections that would break every turn (a 500) are a 422 before they are stored."""
    before = admin.version()
    document = admin.get("/v1/admin/policy").json()["document"]
    guardrails = document["guardrails"]
    edited = {key: guardrails[key] + value if key in ("secrets", "input") else value for key, value in change.items()}
    body = {"document": {**document, "guardrails": {**guardrails, **edited}}, "reason": "tuning"}
    response = admin.send("PUT", body, path="/v1/admin/policy")
    assert response.status_code == 422, response.text
    assert [e for e in response.json()["detail"] if e["loc"][:len(loc)] == loc] and says in response.text
    assert admin.version() == before


def test_a_change_that_changes_nothing_makes_no_version(admin: Admin) -> None:
    before = admin.version()
    mode = next(r["mode"] for r in admin.get().json()["guardrails"]["output"] if r["name"] == "profanity")
    response = admin.send("PATCH", {"reason": "saved the page as it was", "output": {"profanity": mode}})
    assert response.status_code == 200 and response.headers["etag"] == f'"{before}"'
    assert admin.version() == before


def test_a_bad_word_list_entry_names_the_rule_it_breaks(admin: Admin) -> None:
    response = admin.send("PATCH", {"reason": "tuning", "words": {"competitors": ["(zalando"]}})
    assert "rule 'competitor': bad pattern" in response.text


def test_a_change_needs_the_version_it_was_made_against(admin: Admin) -> None:
    version = admin.version()
    assert admin.send("PATCH", {"reason": "first", "thresholds": {"sentence_max_chars": 300}},
                      if_match=version).status_code == 200
    stale = admin.send("PATCH", {"reason": "second", "thresholds": {"sentence_max_chars": 200}}, if_match=version)
    assert stale.status_code == 412 and stale.headers["etag"] == f'"{version + 1}"'
    assert admin.get().json()["guardrails"]["thresholds"]["sentence_max_chars"] == 300


def test_mode_changes_govern_the_next_turn_are_versioned_and_roll_back(admin: Admin) -> None:
    assert stopped_by(admin.turn(QUESTION, UNSUPPORTED_FIRST)) == ["unsupported_claim"]
    before = admin.version()
    changed = admin.send("PATCH", {"output": {"unsupported_claim": "monitor"}, "reason": "measure first"},
                         if_match=before)
    assert changed.status_code == 200 and changed.headers["etag"] == f'"{before + 1}"'
    assert changed.json()["guardrails"]["output"][-1]["mode"] == "monitor"
    assert UNSUPPORTED in reply_text(admin.turn(QUESTION, UNSUPPORTED_FIRST))
    newest = admin.get("/v1/admin/policy/history").json()[0]
    assert (newest["author"], newest["reason"]) == ("Sam Ortiz", "measure first")
    assert newest["fields"] == ["guardrails"] and newest["added"] == newest["removed"] >= 1
    diff = admin.get(f"/v1/admin/policy/versions/{newest['version']}/diff").json()["diff"]
    assert "- name: unsupported_claim\n-    mode: block\n+    mode: monitor" in diff
    back = admin.send("POST", {"version": before, "reason": "block again"}, path="/v1/admin/policy/rollback")
    assert back.status_code == 200 and admin.get().json()["guardrails"]["output"][-1]["mode"] == "block"
    assert stopped_by(admin.turn(QUESTION, UNSUPPORTED_FIRST)) == ["unsupported_claim"]


def test_a_word_added_to_a_list_blocks_the_next_turn(admin: Admin) -> None:
    admin.send("PATCH", {"output": {"unsupported_claim": "monitor", "off_policy_reply": "monitor"},
                         "reason": "only the word list decides"})
    rival = "You could also try Zalando for that."  # the reply classifier reads it as off-policy too
    assert rival in reply_text(admin.turn(QUESTION, SUPPORTED + rival))
    competitors = admin.get().json()["guardrails"]["words"]["competitors"]
    assert admin.send("PATCH", {"words": {"competitors": [*competitors, "zalando"]}, "reason": "new rival"}
                      ).status_code == 200
    assert stopped_by(admin.turn(QUESTION, SUPPORTED + rival)) == ["competitor"]
    admin.send("PATCH", {"output": {"unsupported_claim": "block", "off_policy_reply": "block"},
                         "reason": "back to normal"})


def test_the_whole_document_replaced_with_a_new_secrets_rule_masks_the_next_message(admin: Admin) -> None:
    document = admin.get("/v1/admin/policy").json()["document"]
    document["guardrails"]["secrets"].append({"name": "loyalty", "pattern": r"\bNW-\d{8}\b", "replace": "[loyalty]"})
    broken = {**document, "guardrails": {**document["guardrails"], "protected_prompts": "answer.md"}}
    refused = admin.send("PUT", {"document": broken, "reason": "typo"}, path="/v1/admin/policy")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
        "body", "guardrails", "protected_prompts"]
    assert admin.send("PUT", {"document": document, "reason": "loyalty numbers are secret"},
                      path="/v1/admin/policy").status_code == 200
    events = admin.turn(f"My loyalty card is NW-12345678. {QUESTION}", SUPPORTED)
    said = next(e["text"] for e in events if e["type"] == "customer_message")
    assert "NW-12345678" not in said and "[loyalty]" in said
