"""Migrations 0011 and 0012 give stored policy versions the guardrails added for issue #19's last points: 0011
someone else's private data, other organisations' secrets, harmful instructions in a reply, the product-safety
exception; 0012 the reply classifier, hateful replies, the patterns a real model's replies showed and the input
classifier v2; 0013 the input classifier v3."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import insert

from core.guardrails_config import bundled_guardrails
from tools.policy import bundled_policy_text
from tools.policy.versions import PolicyStore
from tools.store import Store
from tools.store.models import PolicyVersion, utcnow

migration = importlib.import_module(
    "tools.store.migrations.versions.0011_guardrails_private_data_and_harmful_instructions")
migration_0012 = importlib.import_module("tools.store.migrations.versions.0012_guardrails_reply_classifier")
migration_0013 = importlib.import_module("tools.store.migrations.versions.0013_guardrails_input_classifier_v3")


def _bundled_of_0012() -> dict[str, Any]:
    """The bundled policy in the shape of revision 0012."""
    return migration_0013.downgraded_policy(yaml.safe_load(bundled_policy_text()))


def _names(rules: list[dict[str, object]]) -> list[object]:
    return [r["name"] for r in rules]


def test_a_stored_version_of_the_0010_shape_gets_the_new_rules(tmp_path: Path) -> None:
    old = migration.downgraded_policy(migration_0012.downgraded_policy(_bundled_of_0012()))
    assert "private_data" not in _names(old["guardrails"]["input"])
    assert "harmful_instructions" not in _names(old["guardrails"]["output"])
    assert migration.HARMFUL_BEFORE in next(r for r in old["guardrails"]["input"] if r["name"] == "harmful")["patterns"]
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate("0010")
    with store.engine.begin() as connection:
        connection.execute(insert(PolicyVersion.__table__).values(
            version=1, document=old, author="system", reason="seed", source="seed", diff="", created_at=utcnow()))
    store.migrate()
    assert PolicyStore(store).current().guardrails == bundled_guardrails()


def test_the_upgrade_keeps_what_ops_already_have_and_the_downgrade_takes_it_out() -> None:
    bundled = migration_0012.downgraded_policy(_bundled_of_0012())  # the 0011 shape
    assert migration.upgraded_policy(bundled) == bundled
    assert migration.upgraded_policy(migration.downgraded_policy(bundled)) == bundled
    assert migration.downgraded_policy({"rules": {}}) == {"rules": {}}


def _stored_then_migrated(tmp_path: Path, document: dict[str, object], revision: str) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate(revision)
    with store.engine.begin() as connection:
        connection.execute(insert(PolicyVersion.__table__).values(
            version=1, document=document, author="system", reason="seed", source="seed", diff="", created_at=utcnow()))
    store.migrate()
    return store


def test_a_stored_version_of_the_0011_shape_gets_the_reply_classifier(tmp_path: Path) -> None:
    old = migration_0012.downgraded_policy(_bundled_of_0012())
    assert {"off_policy_reply", "hateful"}.isdisjoint(_names(old["guardrails"]["output"]))
    assert (old["guardrails"]["classifier"]["name"], old["guardrails"]["classifier"]["threshold"]) == (
        "minilm_attacks_v1", 0.724)
    assert "porn" not in old["guardrails"]["words"]["profanity_stems"]
    store = _stored_then_migrated(tmp_path, old, "0011")
    assert PolicyStore(store).current().guardrails == bundled_guardrails()


def test_a_stored_version_of_the_0012_shape_gets_the_input_classifier_v3(tmp_path: Path) -> None:
    old = _bundled_of_0012()
    assert (old["guardrails"]["classifier"]["name"], old["guardrails"]["classifier"]["threshold"]) == (
        "minilm_attacks_v2", 0.628)
    store = _stored_then_migrated(tmp_path, old, "0012")
    assert PolicyStore(store).current().guardrails == bundled_guardrails()


@pytest.mark.parametrize(("migration_module", "shape", "classifier_before"), [
    (migration_0012, _bundled_of_0012, "minilm_attacks_v1"),
    (migration_0013, lambda: yaml.safe_load(bundled_policy_text()), "minilm_attacks_v2"),
])
def test_a_classifier_ops_tuned_is_kept_and_the_move_round_trips(
        migration_module: Any, shape: Callable[[], dict[str, Any]], classifier_before: str) -> None:
    bundled = shape()
    assert migration_module.upgraded_policy(bundled) == bundled
    assert migration_module.upgraded_policy(migration_module.downgraded_policy(bundled)) == bundled
    tuned = migration_module.downgraded_policy(bundled)
    tuned["guardrails"]["classifier"]["threshold"] = 0.7
    kept = migration_module.upgraded_policy(tuned)["guardrails"]["classifier"]
    assert (kept["name"], kept["threshold"]) == (classifier_before, 0.7)
    assert migration_module.upgraded_policy({"rules": {}}) == {"rules": {}}
