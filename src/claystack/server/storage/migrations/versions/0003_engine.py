"""enrichment run engine: run_jobs

Revision ID: 0003_engine
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_engine"
down_revision = "0002_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["tables.id"],
            name=op.f("fk_run_jobs_table_id_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_run_jobs_key")),
        sa.UniqueConstraint(
            "table_id",
            "field_id",
            "record_id",
            name=op.f("uq_run_jobs_table_id_field_id_record_id"),
        ),
    )
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_run_jobs_kind_not_before", ["kind", "not_before"], unique=False)
        batch_op.create_index("ix_run_jobs_kind_id", ["kind", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_run_jobs_kind_id")
        batch_op.drop_index("ix_run_jobs_kind_not_before")
    op.drop_table("run_jobs")
