"""export and import jobs

Revision ID: 0010_exports_imports
Revises: 0007_hardening
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_exports_imports"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_WS_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _common(name: str) -> list[Any]:
    return [
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", _WS_ID, nullable=False),
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["table_id"], ["tables.id"], name=f"fk_{name}_table_id_tables", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=f"fk_{name}_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    ]


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        *_common("export_jobs"),
        sa.Column("view_id", sa.String(length=40), nullable=False),
        sa.Column("filtered", sa.Boolean(), nullable=False),
        sa.Column("file_name", sa.String(length=600), nullable=False),
        sa.Column("total_records", sa.BigInteger(), nullable=False),
        sa.Column("records_exported", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "import_jobs",
        *_common("import_jobs"),
        sa.Column("config", _JSON, nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_imported", sa.BigInteger(), nullable=False),
        sa.Column("row_errors", _JSON, nullable=False),
        sa.Column("error_count", sa.BigInteger(), nullable=False),
    )
    for name in ("export_jobs", "import_jobs"):
        op.create_index(f"ix_{name}_workspace_id", name, ["workspace_id"])
        op.create_index(f"ix_{name}_table_id", name, ["table_id"])


def downgrade() -> None:
    op.drop_table("import_jobs")
    op.drop_table("export_jobs")
