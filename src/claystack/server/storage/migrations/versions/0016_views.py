"""search and filter indexes for big views (storage/search_index.py)

Revision ID: 0016_views
Revises: 0015_clients
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claystack.server.storage import search_index

revision = "0016_views"
down_revision = "0015_clients"
branch_labels = None
depends_on = None


def _trigram_ops() -> str:
    """``pg_trgm``'s GIN operator class, qualified by the schema that holds it (``public``
    when this migration installs the extension, so no private schema's drop takes it)."""
    bind = op.get_bind()
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace "
            "WHERE c.opcname = 'gin_trgm_ops'"
        )
    ).scalar_one()
    return f'"{schema}".gin_trgm_ops'


def upgrade() -> None:
    op.create_table(
        "search_tables",
        sa.Column("table_id", sa.String(length=40), nullable=False),
        sa.Column("built_to", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["tables.id"],
            name=op.f("fk_search_tables_table_id_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_search_tables")),
    )
    dialect = op.get_bind().dialect.name
    ops = _trigram_ops() if dialect == "postgresql" else ""
    for statement in search_index.CREATE[dialect]:
        op.execute(statement.replace("{ops}", ops))


def downgrade() -> None:
    for statement in search_index.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("search_tables")
