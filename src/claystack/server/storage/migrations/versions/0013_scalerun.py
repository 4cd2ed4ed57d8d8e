"""run_jobs.lease_owner (heartbeat leases); rate_buckets (webhook rate limits shared by
every process)

Revision ID: 0013_scalerun
Revises: 0012_catalog_credits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_scalerun"
down_revision = "0012_catalog_credits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_run_jobs_lease_owner", ["lease_owner"], unique=False)
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_run_jobs_lease_owner")
        batch_op.drop_column("lease_owner")
