"""customer feedback and conversation outcomes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("reply_seq", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "reply_seq", name="uq_feedback_reply"),
    )
    op.create_table(
        "conversation_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_customer_at", sa.DateTime(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("last_turn", sa.String(length=16), nullable=False),
        sa.Column("handed_off_at", sa.DateTime(), nullable=True),
        sa.Column("trigger", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_index("ix_conversation_outcomes_started_at", "conversation_outcomes", ["started_at"], unique=False)
    op.create_table(
        "turn_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ending", sa.String(length=16), nullable=False),
        sa.Column("request", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=64), nullable=False),
        sa.Column("first_text_ms", sa.Integer(), nullable=True),
        sa.Column("unanswered", sa.Text(), nullable=True),
        sa.Column("rails", sa.JSON(), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_turn_records_at", "turn_records", ["demo", "at"], unique=False)
    op.create_index("ix_turn_records_conversation_id", "turn_records", ["conversation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("turn_records")
    op.drop_index("ix_conversation_outcomes_started_at", table_name="conversation_outcomes")
    op.drop_table("conversation_outcomes")
    op.drop_table("feedback")
