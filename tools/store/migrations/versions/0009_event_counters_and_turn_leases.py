"""event numbers from the database and per-conversation turn leases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_event_seq", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE conversations SET last_event_seq = (SELECT coalesce(max(seq), 0) FROM conversation_events"
               " WHERE conversation_events.conversation_id = conversations.id)")
    op.create_table(
        "turn_leases",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], name="fk_turn_leases_conversation",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_turn_leases_holder", "turn_leases", ["holder"], unique=False)
    op.create_index("ix_turn_leases_expires_at", "turn_leases", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_turn_leases_expires_at", table_name="turn_leases")
    op.drop_index("ix_turn_leases_holder", table_name="turn_leases")
    op.drop_table("turn_leases")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_event_seq")
