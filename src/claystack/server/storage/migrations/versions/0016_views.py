"""search and filter indexes for big views (storage/search_index.py)

Revision ID: 0016_views
Revises: 0015_clients
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from claystack.server.storage import search_index

revision = "0016_views"
down_revision = "0015_clients"
branch_labels = None
depends_on = None
log = logging.getLogger("claystack.migrate")


def _trigram_ops() -> str | None:
    """``pg_trgm``'s GIN operator class, qualified by the schema that holds it (``public``
    when this migration installs the extension, so no private schema's drop takes it);
    None when the extension cannot be installed (then ``record_search`` has no GIN index
    and a search reads its lowered text in full: right, but not fast)."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): view search on PostgreSQL scans", exc)
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace "
            "WHERE c.opcname = 'gin_trgm_ops'"
        )
    ).scalar_one_or_none()
    return None if schema is None else f'"{schema}".gin_trgm_ops'


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
        if "{ops}" in statement and ops is None:
            continue
        op.execute(statement.replace("{ops}", ops or ""))


def downgrade() -> None:
    for statement in search_index.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("search_tables")
