"""shared-table settings (spec part 2 §3.7) and saved presets (§11)

Revision ID: 0015_clients
Revises: 0014_scaledata
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_clients"
down_revision = "0014_scaledata"
branch_labels = None
depends_on = None

_WS_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "shared_tables",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", _WS_ID, nullable=False),
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("view_id", sa.String(length=40), nullable=False),
        sa.Column("sharing_type", sa.String(length=40), nullable=False),
        sa.Column("public_id", sa.String(length=60), nullable=False),
        sa.Column("shared_user_emails", _JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["tables.id"],
            name=op.f("fk_shared_tables_table_id_tables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_shared_tables_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_tables")),
        sa.UniqueConstraint("public_id", name=op.f("uq_shared_tables_public_id")),
        sa.UniqueConstraint("table_id", name=op.f("uq_shared_tables_table_id")),
    )
    op.create_index(
        op.f("ix_shared_tables_workspace_id"), "shared_tables", ["workspace_id"], unique=False
    )
    op.create_table(
        "presets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", _WS_ID, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("action_key", sa.String(length=200), nullable=True),
        sa.Column("action_package_id", sa.String(length=100), nullable=True),
        sa.Column("preset", _JSON, nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_presets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presets")),
    )
    op.create_index(op.f("ix_presets_workspace_id"), "presets", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_presets_workspace_id"), table_name="presets")
    op.drop_table("presets")
    op.drop_index(op.f("ix_shared_tables_workspace_id"), table_name="shared_tables")
    op.drop_table("shared_tables")
