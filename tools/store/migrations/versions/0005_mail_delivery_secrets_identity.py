"""mail delivery, generated secrets, identity policy

The outbox gains delivery state (the mail sender claims, sends, retries and records each message; mail already
in it was never sent and is kept as failed, without its links' tokens); the service
keeps the secrets it generates for itself; stored policy versions move the reset link's site address out of the
policy (it is the ``SUPPORT_PUBLIC_URL`` setting now) and the one verification-attempts number into an
``identity`` section. A store migrated here verifies anonymous customers by two facts (email and zip code, or
full name and zip code), the default policy's rule, never by an email alone: edit the policy to choose another.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:10:00
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_versions = sa.table("policy_versions", sa.column("version", sa.Integer()), sa.column("document", sa.JSON()))
_outbox = sa.table("outbox", sa.column("id", sa.Integer()), sa.column("body", sa.Text()),
                   sa.column("status", sa.String()), sa.column("last_error", sa.String()))
_LINK_TOKEN = re.compile(r"(?<=[?&]token=)[^\s&#]+")


def upgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    """A policy document of revision 0004 in the shape of this one."""
    if "identity" in document:
        return document
    upgraded = {key: value for key, value in document.items() if key not in ("site_url", "verification_attempts")}
    upgraded["identity"] = {"verify_with": ["email_zip", "name_zip"], "lock_minutes": 5, "max_lock_minutes": 60,
                            "attempts": document.get("verification_attempts", 5)}
    return upgraded


def downgraded_policy(document: dict[str, Any]) -> dict[str, Any]:
    downgraded = {key: value for key, value in document.items() if key != "identity"}
    downgraded["verification_attempts"] = document.get("identity", {}).get("attempts", 5)
    downgraded["site_url"] = "https://shop.northwind.example"
    return downgraded


def _rewrite_policies(change: Any) -> None:
    connection = op.get_bind()
    for version, document in connection.execute(sa.select(_versions.c.version, _versions.c.document)).all():
        connection.execute(_versions.update().where(_versions.c.version == version)
                           .values(document=change(dict(document))))


def _retire_unsent_mail() -> None:
    """Mail written before this revision was never meant to go out (nothing sent it; its links point at the
    policy's free-text address and have most likely expired): keep it as ``failed`` without its links' tokens,
    so that a mail sender started later does not send it."""
    connection = op.get_bind()
    for message_id, body in connection.execute(sa.select(_outbox.c.id, _outbox.c.body)).all():
        connection.execute(_outbox.update().where(_outbox.c.id == message_id).values(
            status="failed", body=_LINK_TOKEN.sub("[sent]", body),
            last_error="written before mail delivery existed: never sent"))


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="pending", nullable=False))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
    _retire_unsent_mail()
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    _rewrite_policies(upgraded_policy)


def downgrade() -> None:
    _rewrite_policies(downgraded_policy)
    op.drop_table("service_secrets")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        for column in ("last_error", "sent_at", "claimed_until", "next_attempt_at", "attempts", "status"):
            batch_op.drop_column(column)
