"""Migration 0011 gives stored policy versions the guardrails added for issue #19's last points (someone else's
private data, other organisations' secrets, harmful instructions in a reply, the product-safety exception)."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from sqlalchemy import insert

from core.guardrails_config import bundled_guardrails
from tools.policy import bundled_policy_text
from tools.policy.versions import PolicyStore
from tools.store import Store
from tools.store.models import PolicyVersion, utcnow

migration = importlib.import_module(
    "tools.store.migrations.versions.0011_guardrails_private_data_and_harmful_instructions")


def _names(rules: list[dict[str, object]]) -> list[object]:
    return [r["name"] for r in rules]


def test_a_stored_version_of_the_0010_shape_gets_the_new_rules(tmp_path: Path) -> None:
    bundled = yaml.safe_load(bundled_policy_text())
    old = migration.downgraded_policy(bundled)
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
    bundled = yaml.safe_load(bundled_policy_text())
    assert migration.upgraded_policy(bundled) == bundled
    assert migration.upgraded_policy(migration.downgraded_policy(bundled)) == bundled
    assert migration.downgraded_policy({"rules": {}}) == {"rules": {}}
