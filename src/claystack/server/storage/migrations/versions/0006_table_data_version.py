"""tables.data_version: grows with every change to a table's rows or run statuses

Revision ID: 0006_table_data_version
Revises: 0005_formula_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_table_data_version"
down_revision = "0005_formula_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tables", sa.Column("data_version", sa.BigInteger(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("tables", schema=None) as batch_op:
        batch_op.drop_column("data_version")
