"""rate buckets and leases shared by every server process

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Unlogged on PostgreSQL: no write-ahead log for state that is worthless after a crash (its buckets refill,
    # its leases would have expired), which halves what a rate-limited request costs.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("counted_at", sa.Float(), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        prefixes=unlogged,
    )
    op.create_table(
        "admission_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        prefixes=unlogged,
    )
    op.create_index("ix_admission_leases_kind_key", "admission_leases", ["kind", "key"], unique=False)
    op.create_index("ix_admission_leases_owner", "admission_leases", ["owner"], unique=False)
    op.create_index("ix_admission_leases_expires_at", "admission_leases", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_admission_leases_expires_at", table_name="admission_leases")
    op.drop_index("ix_admission_leases_owner", table_name="admission_leases")
    op.drop_index("ix_admission_leases_kind_key", table_name="admission_leases")
    op.drop_table("admission_leases")
    op.drop_table("rate_buckets")
