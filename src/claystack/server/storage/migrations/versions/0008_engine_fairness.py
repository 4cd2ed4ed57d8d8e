"""run_jobs index by workspace: claims take each workspace's ready jobs in turn

Revision ID: 0008_engine_fairness
Revises: 0010_exports_imports
"""

from __future__ import annotations

from alembic import op

revision = "0008_engine_fairness"
down_revision = "0010_exports_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_jobs_kind_workspace_id_not_before",
            ["kind", "workspace_id", "not_before"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("run_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_run_jobs_kind_workspace_id_not_before")
