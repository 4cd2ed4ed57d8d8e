"""formula columns run as sweeps (formula_runs) instead of a run_jobs row per cell

Revision ID: 0005_formula_runs
Revises: 0004_app_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_formula_runs"
down_revision = "0004_app_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "formula_runs",
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.String(length=60), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("after_seq", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["tables.id"],
            name=op.f("fk_formula_runs_table_id_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("table_id", "field_id", name=op.f("pk_formula_runs")),
    )
    # Formula cells queued by an older version: their cells are already QUEUED, so one
    # sweep per column from the table's start picks them up.
    op.execute(
        "INSERT INTO formula_runs "
        "(table_id, field_id, workspace_id, user_id, after_seq, pending, updated_at) "
        "SELECT table_id, field_id, MIN(workspace_id), MAX(user_id), 0, COUNT(*), "
        "MAX(created_at) FROM run_jobs WHERE kind = 'formula' GROUP BY table_id, field_id"
    )
    op.execute("DELETE FROM run_jobs WHERE kind = 'formula'")


def downgrade() -> None:
    op.drop_table("formula_runs")
