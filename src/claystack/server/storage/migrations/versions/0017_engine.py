"""a formula column's fill: its cells queued as a range of rows beside them (formula_runs.
fill_until) instead of a QUEUED mark written into every row

Revision ID: 0017_engine
Revises: 0016_views
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_engine"
down_revision = "0016_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("formula_runs", sa.Column("fill_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("formula_runs") as batch:
        batch.drop_column("fill_until")
