"""per-field cell status counts and the credit rollup, kept by triggers

Revision ID: 0014_scaledata
Revises: 0013_scalerun
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claystack.server.storage import counters

revision = "0014_scaledata"
down_revision = "0013_scalerun"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cell_status_counts",
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["tables.id"],
            name=op.f("fk_cell_status_counts_table_id_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "table_id", "field_id", "status", "shard", name=op.f("pk_cell_status_counts")
        ),
    )
    op.create_table(
        "credit_rollup",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("action_key", sa.String(length=100), nullable=False),
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.String(length=60), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("actions", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_credit_rollup_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*counters.ROLLUP_KEY, "shard", name=op.f("pk_credit_rollup")),
    )
    dialect = op.get_bind().dialect.name
    for statement in counters.TRIGGERS[dialect]:
        op.execute(statement)
    op.execute(counters.RECOUNT_CELLS[dialect])
    op.execute(counters.REBUILD_ROLLUP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in counters.DROP_TRIGGERS[dialect]:
        op.execute(statement)
    op.drop_table("credit_rollup")
    op.drop_table("cell_status_counts")
