"""The live, versioned policy: validated changes, optimistic concurrency, rollback, hot reload across
processes and from hand edits of the YAML file (guardrails section included), enforced in the tool runner."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import delete, insert

from core.guardrails_config import bundled_guardrails
from tools import execute
from tools.policy import Policy, bundled_policy_text
from tools.policy.versions import PolicyStore, VersionConflict
from tools.store import Store
from tools.store.models import PolicyVersion, utcnow

ETHAN = "ethan_walker_2260"
RETURN = {"order_id": "#W2260001", "item_ids": ["1955345537"], "payment_method_id": "credit_card_4934149"}


@pytest.fixture
def policies(fresh_store: Store, tmp_path: Path) -> PolicyStore:
    """A store that has never had a policy (the copied demo store may carry versions from other tests)."""
    with fresh_store.session() as session:
        session.execute(delete(PolicyVersion))
    return PolicyStore(fresh_store, file=tmp_path / "policy.yaml", file_check_seconds=0)


def refund(store: Store, policies: PolicyStore):
    return execute(store, "return_delivered_order_items", RETURN, policy=policies.current(), conversation_id="c",
                   customer_id=ETHAN, preview=True)


def edit(policies: PolicyStore, version: int, **changes: object) -> None:
    document = policies.document()
    for key, value in changes.items():
        if key.startswith("tool:"):
            document["tools"][key[5:]] = value
        else:
            document[key] = value
    policies.update(document, author="ops-1", reason="test", if_match=version)


def test_first_start_seeds_version_one_and_the_file(policies: PolicyStore, tmp_path: Path) -> None:
    assert policies.current().version == 1
    assert yaml.safe_load((tmp_path / "policy.yaml").read_text())["return_window_days"] == 30
    assert [v.source for v in policies.history()] == ["seed"]


def test_disabling_a_tool_stops_it_at_once(fresh_store: Store, policies: PolicyStore) -> None:
    assert refund(fresh_store, policies).outcome == "done"
    edit(policies, 1, **{"tool:return_delivered_order_items": {"enabled": False}})
    result = refund(fresh_store, policies)
    assert (result.outcome, result.rule) == ("denied", "tool_disabled") and "person" in result.message


def test_lowering_the_limit_turns_a_refund_into_needs_approval(fresh_store: Store, policies: PolicyStore) -> None:
    edit(policies, 1, auto_refund_limit=50)
    result = refund(fresh_store, policies)  # the backpack costs $83.85
    assert (result.outcome, result.rule) == ("needs_approval", "refund_limit")


def test_requires_approval_flag(fresh_store: Store, policies: PolicyStore) -> None:
    edit(policies, 1, **{"tool:return_delivered_order_items": {"requires_approval": True}})
    assert refund(fresh_store, policies).rule == "requires_approval"


def test_concurrent_edits_one_wins_the_other_conflicts(policies: PolicyStore) -> None:
    policies.current()
    edit(policies, 1, auto_refund_limit=100)
    with pytest.raises(VersionConflict) as conflict:
        edit(policies, 1, auto_refund_limit=300)
    assert conflict.value.current == 2
    assert policies.current().auto_refund_limit == 100


@pytest.mark.parametrize(("change", "field"), [({"auto_refund_limit": -1}, "auto_refund_limit"),
                                              ({"return_window_days": "thirty"}, "return_window_days"),
                                              ({"refund_everything": True}, "refund_everything"),
                                              ({"tool:cancel_pending_order": {"enabled": "maybe"}}, "enabled")])
def test_invalid_documents_name_the_field_and_change_nothing(policies: PolicyStore, change: dict, field: str) -> None:
    policies.current()
    with pytest.raises(ValidationError) as error:
        edit(policies, 1, **change)
    assert field in str(error.value)
    assert policies.current().version == 1 and len(policies.history()) == 1


def test_rollback_restores_behaviour(fresh_store: Store, policies: PolicyStore) -> None:
    policies.current()
    edit(policies, 1, **{"tool:return_delivered_order_items": {"enabled": False}})
    policies.rollback(1, author="ops-1", reason="undo", if_match=2)
    assert policies.current().version == 3 and refund(fresh_store, policies).outcome == "done"
    assert "enabled: false" in policies.history()[1].diff and policies.history()[0].source == "rollback"


def test_a_second_process_sees_a_change_within_a_second(fresh_store: Store, policies: PolicyStore,
                                                        tmp_path: Path) -> None:
    other = PolicyStore(Store(str(fresh_store.engine.url)), file=tmp_path / "policy.yaml")
    assert other.current().auto_refund_limit == policies.current().auto_refund_limit == 200
    started = time.monotonic()
    edit(policies, 1, auto_refund_limit=75)
    while other.current().auto_refund_limit != 75:
        assert time.monotonic() - started < 1.0
        time.sleep(0.01)


def test_hand_edits_of_the_file_are_picked_up_and_bad_ones_refused(
    policies: PolicyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policies.current()
    path = tmp_path / "policy.yaml"
    path.write_text(path.read_text().replace("return_window_days: 30", "return_window_days: 45"))
    assert policies.current().return_window_days == 45
    assert policies.history()[0].source == "file"
    with caplog.at_level(logging.ERROR):
        path.write_text(path.read_text().replace("return_window_days: 45", "return_window_days: -5"))
        time.sleep(0.01)
        assert policies.current().return_window_days == 45
    assert "refused" in caplog.text and "return_window_days" in caplog.text


def test_the_audit_log_records_the_version_each_call_ran_under(fresh_store: Store, policies: PolicyStore) -> None:
    from sqlalchemy import select

    from tools.store.models import ToolCall

    policies.current()
    edit(policies, 1, auto_refund_limit=150)
    execute(fresh_store, "get_order_details", {"order_id": "#W2260001"}, policy=policies.current(),
            conversation_id="audit", customer_id=ETHAN)
    with fresh_store.session() as session:
        row = session.scalars(select(ToolCall).where(ToolCall.conversation_id == "audit")).one()
    assert row.policy_version == 2


def test_the_document_round_trips_with_its_guardrails(policies: PolicyStore, tmp_path: Path) -> None:
    policy = policies.current()
    assert policy.guardrails == bundled_guardrails()
    assert Policy.model_validate(policies.document()) == policy
    assert Policy.model_validate(yaml.safe_load((tmp_path / "policy.yaml").read_text())) == policy
    assert policies.document()["guardrails"]["secrets"][0]["validate"] == "luhn"  # written as in the YAML


def test_documents_without_a_guardrails_section_get_the_bundled_ones(fresh_store: Store, tmp_path: Path) -> None:
    with fresh_store.session() as session:
        session.execute(delete(PolicyVersion))
    older = tmp_path / "policy.yaml"  # a policy file from before guardrails were part of the policy
    older.write_text((Path(__file__).parents[1] / "tools" / "policy" / "policy.yaml").read_text())
    policies = PolicyStore(fresh_store, file=older, file_check_seconds=0)
    assert policies.current().guardrails == bundled_guardrails()
    document = policies.document()
    del document["guardrails"]
    policies.update(document, author="ops-1", reason="a stored version without guardrails", if_match=1)
    assert policies.current().guardrails == bundled_guardrails()


def test_a_hand_edit_of_the_guardrails_section_is_picked_up(policies: PolicyStore, tmp_path: Path) -> None:
    policies.current()
    path = tmp_path / "policy.yaml"
    path.write_text(path.read_text().replace("evidence_min_similarity: 0.68", "evidence_min_similarity: 0.5"))
    assert policies.current().guardrails.thresholds.evidence_min_similarity == 0.5
    assert "+    evidence_min_similarity: 0.5" in policies.history()[0].diff


@pytest.mark.parametrize(("old", "new", "complaint"), [
    ("evidence_min_similarity: 0.68", "evidence_min_similarity: -1", "evidence_min_similarity"),
    ("'\\b(ahoy|arr+|matey|ye scallywag|yarr)\\b'", "'\\b(ahoy|arr+'", "rule 'persona': bad pattern"),
    ("visit)\\s+({{competitors}})", "visit)\\s+({{rivals}})", "unknown word list 'rivals'"),
])
def test_an_invalid_guardrails_section_is_refused_and_the_last_good_version_stays(
    policies: PolicyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture, old: str, new: str, complaint: str
) -> None:
    policies.current()
    path = tmp_path / "policy.yaml"
    assert old in path.read_text()
    with caplog.at_level(logging.ERROR):
        path.write_text(path.read_text().replace(old, new))
        assert policies.current().version == 1 and policies.current().guardrails == bundled_guardrails()
    assert "refused" in caplog.text and complaint in caplog.text


def test_stored_versions_of_the_old_shape_are_upgraded_by_the_migration(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate("0004")
    old = {key: value for key, value in yaml.safe_load(bundled_policy_text()).items() if key != "identity"}
    old.update(verification_attempts=7, site_url="whatever ops typed")
    with store.engine.begin() as connection:
        connection.execute(insert(PolicyVersion.__table__).values(
            version=1, document=old, author="system", reason="seed", source="seed", diff="", created_at=utcnow()))
    store.migrate()
    policy = PolicyStore(store).current()
    assert policy.identity.attempts == 7 and policy.identity.verify_with == ["email_zip", "name_zip"]
    assert "site_url" not in PolicyStore(store).document(1)


def test_stored_guardrails_get_the_classifier_and_lose_the_eval_only_rules_by_the_migration(tmp_path: Path) -> None:
    migration = importlib.import_module("tools.store.migrations.versions.0006_guardrails_classifier")
    bundled = yaml.safe_load(bundled_policy_text())
    old = {k: v for k, v in bundled["guardrails"].items() if k != "classifier"}  # the 0005 shape, rebuilt
    undo = {new: before for before, new in migration.REWORDED_OUTPUT.items()}
    old["output"] = [{**r, "patterns": [undo.get(p, p) for p in r["patterns"]
                                        if p not in migration.ADDED_OUTPUT.get(r["name"], [])]}
                     if "patterns" in r else r for r in old["output"]]
    old["input"] = [{**r, "patterns": [*r["patterns"], *migration.DROPPED_INPUT]} if r["name"] == "persona" else r
                    for r in old["input"]]
    old["words"] = {**old["words"], "insults": [w for w in old["words"]["insults"]
                                                if w not in migration.ADDED_INSULTS]}
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate("0005")
    with store.engine.begin() as connection:
        connection.execute(insert(PolicyVersion.__table__).values(
            version=1, document={**bundled, "guardrails": old}, author="system", reason="seed", source="seed",
            diff="", created_at=utcnow()))
    store.migrate()
    assert PolicyStore(store).current().guardrails == bundled_guardrails()
    assert "classifier" not in migration.downgraded_policy(PolicyStore(store).document(1))["guardrails"]
