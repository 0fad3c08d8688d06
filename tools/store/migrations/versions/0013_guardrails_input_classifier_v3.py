"""guardrails: the input classifier v3 (trained with customers asking whether they talk to a bot)

The input classifier ``minilm_attacks_v2`` at its trained threshold becomes ``minilm_attacks_v3`` at its own: v2
flagged benign questions about the assistant ("is this chat a bot") as jailbreaks, v3 learnt such questions as
benign. A classifier or threshold ops chose is kept. Downgrading moves it back.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:40:00
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_versions = sa.table("policy_versions", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))

CLASSIFIER_BEFORE = {"name": "minilm_attacks_v2", "threshold": 0.628}
CLASSIFIER_AFTER = {"name": "minilm_attacks_v3", "threshold": 0.764}


def _moved(document: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    guardrails = document.get("guardrails")
    classifier = guardrails.get("classifier") if isinstance(guardrails, dict) else None
    if not isinstance(classifier, dict) or {k: classifier.get(k) for k in old} != old:
        return document
    return {**document, "guardrails": {**guardrails, "classifier": {**classifier, **new}}}


def upgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """A policy document of revision 0012 in the shape of this one."""
    return _moved(document, CLASSIFIER_BEFORE, CLASSIFIER_AFTER)


def downgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """The classifier moved back to v2."""
    return _moved(document, CLASSIFIER_AFTER, CLASSIFIER_BEFORE)


def _rewrite_policies(change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    connection = op.get_bind()
    for version, document in connection.execute(sa.select(_versions.c.version, _versions.c.document)).all():
        connection.execute(_versions.update().where(_versions.c.version == version)
                           .values(document=change(dict(document))))


def upgrade() -> None:
    _rewrite_policies(upgraded_policy)


def downgrade() -> None:
    _rewrite_policies(downgraded_policy)
