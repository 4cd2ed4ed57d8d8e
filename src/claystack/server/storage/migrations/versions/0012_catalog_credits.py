"""sources without a table (subscriptions buffer), and actions in the credit ledger

Revision ID: 0012_catalog_credits
Revises: 0008_engine_fairness
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_catalog_credits"
down_revision = "0008_engine_fairness"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Executions (actions) beside credits: every charge entry counts the executions it bills.
    op.add_column(
        "credit_ledger",
        sa.Column("actions", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute("UPDATE credit_ledger SET actions = 1 WHERE kind = 'charge'")
    # A source made by POST /v3/sources has no table until a source field subscribes it.
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.alter_column("table_id", existing_type=sa.String(length=40), nullable=True)
        batch_op.alter_column("field_id", existing_type=sa.String(length=60), nullable=True)
    op.create_table(
        "source_buffer",
        sa.Column("seq", _PK, autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("payload", _JSON, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_buffer_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_source_buffer")),
    )
    op.create_index(
        op.f("ix_source_buffer_source_id"), "source_buffer", ["source_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_source_buffer_source_id"), table_name="source_buffer")
    op.drop_table("source_buffer")
    op.execute("DELETE FROM sources WHERE table_id IS NULL")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.alter_column("field_id", existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column("table_id", existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_column("actions")
