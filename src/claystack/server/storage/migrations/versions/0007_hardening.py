"""users.auth_version and api_token_revoked_at; login_failures shared by every process

Revision ID: 0007_hardening
Revises: 0006_table_data_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_hardening"
down_revision = "0006_table_data_version"
branch_labels = None
depends_on = None

_BIGPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("users", sa.Column("api_token_revoked_at", sa.BigInteger(), nullable=True))
    op.add_column(
        "users", sa.Column("auth_version", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.create_table(
        "login_failures",
        sa.Column("id", _BIGPK, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_created_at", "login_failures", ["key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_key_created_at", table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("auth_version")
        batch_op.drop_column("api_token_revoked_at")
