"""connected accounts; ledger index for credit reports

Revision ID: 0004_app_accounts
Revises: 0001
Create Date: 2026-11-23 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_app_accounts"
down_revision = "0003_engine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column(
            "credential_keys",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_app_accounts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_accounts")),
    )
    with op.batch_alter_table("app_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_app_accounts_workspace_id"), ["workspace_id"], unique=False
        )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_ledger_workspace_id_created_at",
            ["workspace_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_ledger_workspace_id_created_at")
    with op.batch_alter_table("app_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_accounts_workspace_id"))
    op.drop_table("app_accounts")
