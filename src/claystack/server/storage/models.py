"""The schema. Timestamps are integer epoch milliseconds on every backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only aliases rowid for a column typed exactly INTEGER.
BigPK = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Instance(Base):
    """Key/value facts about this installation (the generated secret key, seed state)."""

    __tablename__ = "instance"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    token_salt: Mapped[str] = mapped_column(String(64))
    api_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    default_workspace_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    # Set when the API token was revoked (``DELETE /v3/me/api-token``); a rotation clears it.
    api_token_revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Grows whenever a credential of the user is revoked: cached credentials carry the
    # version they were checked at, so every process drops them at once.
    auth_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Session(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LoginFailure(Base):
    """One failed login, under the keys it counts against (``account:<email>``,
    ``address:<ip>``); shared by every server process, pruned as the window passes."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_login_failures_key_created_at", "key", "created_at"),)


class RateBucket(Base):
    """A rate limit shared by every server process (generic cell rate algorithm): ``tat``
    is the theoretical arrival time, in microseconds, of the next request at the rate."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[int] = mapped_column(BigInteger)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Membership(Base):
    __tablename__ = "memberships"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[int] = mapped_column(BigInteger)


class Folder(Base):
    __tablename__ = "folders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    parent_folder_id: Mapped[str | None] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Workbook(Base):
    __tablename__ = "workbooks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    parent_folder_id: Mapped[str | None] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(Json)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Table(Base):
    __tablename__ = "tables"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    workbook_id: Mapped[str | None] = mapped_column(
        ForeignKey("workbooks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    parent_folder_id: Mapped[str | None] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    type: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(Json)
    field_group_map: Mapped[dict[str, Any]] = mapped_column(Json)
    first_view_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Kept in step with ``records`` inside every transaction that adds or removes rows,
    # so that counting a million-row table is one primary-key read.
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Grows with every change to the rows or to their cells' run statuses, in the same
    # transaction: readers that cache what they read of the rows (lookups) check it, and
    # writers take the table's row before its records' (a lock order).
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Field(Base):
    __tablename__ = "fields"
    __table_args__ = (UniqueConstraint("table_id", "name"),)
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    table_id: Mapped[str] = mapped_column(
        ForeignKey("tables.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(40))
    type_settings: Mapped[dict[str, Any]] = mapped_column(Json)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class View(Base):
    __tablename__ = "views"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Record(Base):
    """One row. ``cells`` maps field id to the plain value; ``meta`` holds enrichment
    state per field (status, full value, error) and is NULL for plain rows."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("table_id", "id"),
        # Covers "all ids of a table in insertion order" without touching the rows.
        Index("ix_records_table_seq_id", "table_id", "seq", "id"),
    )
    seq: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    # On PostgreSQL a trigger on ``tables`` does the cascade and ``UnitOfWork.write_tables``
    # the check (migration 0018_pgwrite): the foreign key checked every inserted row.
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    id: Mapped[str] = mapped_column(String(200))
    cells: Mapped[dict[str, Any]] = mapped_column(Json)
    meta: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class CreditEntry(Base):
    """Append-only credit ledger: grants are positive, charges negative; never updated."""

    __tablename__ = "credit_ledger"
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    integration: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    table_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    field_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Executions this entry bills (Clay's "actions"): 1 per charge, even a free one.
    actions: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # One execution can be charged once: the engine passes its job key here.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)


# -- connected accounts and credit reports ---------------------------------------------------


class AppAccount(Base):
    """A connected account (``aa_…``): credentials for one integration in one workspace.
    ``credentials`` is a Fernet token (key derived from the instance secret); the names of
    the keys it holds are kept in the clear so responses can say what is set."""

    __tablename__ = "app_accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[str] = mapped_column(Text)
    credential_keys: Mapped[list[str]] = mapped_column(Json)
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# -- webhook sources -------------------------------------------------------------------------


class Source(Base):
    """A webhook source feeding one table. ``hook_uuid`` and ``slug`` make up its public URL;
    a deleted source keeps its row (``deleted_at``) so that URL answers 404 for good."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # NULL (both) while a source made by POST /v3/sources waits for a subscribing field.
    table_id: Mapped[str | None] = mapped_column(
        ForeignKey("tables.id", ondelete="CASCADE"), index=True, nullable=True
    )
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    field_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(40))
    type_settings: Mapped[dict[str, Any]] = mapped_column(Json)
    slug: Mapped[str] = mapped_column(String(200))
    hook_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    auth_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    num_records: Mapped[int] = mapped_column(BigInteger, default=0)
    num_submissions: Mapped[int] = mapped_column(BigInteger, default=0)
    owner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# Every report filters the ledger by workspace and time range.
Index(
    "ix_credit_ledger_workspace_id_created_at",
    CreditEntry.workspace_id,
    CreditEntry.created_at,
)


class SourceBuffer(Base):
    """A payload a source received before any field subscribed it; it becomes the row
    ``record_id`` (the id its POST answered) when one does."""

    __tablename__ = "source_buffer"
    seq: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(Json, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class SourceDelivery(Base):
    """A webhook POST that carried an ``Idempotency-Key``: a retry with the same key finds
    the row made the first time. The primary key is what makes retries exact under
    concurrency."""

    __tablename__ = "source_deliveries"
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)


# -- enrichment run engine -----------------------------------------------------------------


class RunJob(Base):
    """One queued execution of one cell (field × record). Deleted in the transaction that
    writes the cell's final result, so a row here is work still to do.

    ``key`` is fresh for every enqueue and is the credit ledger's idempotency key, so a job
    re-run after a crash can never be charged twice. ``lease_until`` is set while a worker
    holds the job (``lease_owner`` names the process, which renews the lease by heartbeat);
    an expired lease makes it claimable again, by any process.
    """

    __tablename__ = "run_jobs"
    __table_args__ = (
        UniqueConstraint("table_id", "field_id", "record_id"),
        Index("ix_run_jobs_kind_not_before", "kind", "not_before"),
        Index("ix_run_jobs_kind_id", "kind", "id"),
        Index("ix_run_jobs_kind_workspace_id_not_before", "kind", "workspace_id", "not_before"),
        Index("ix_run_jobs_lease_owner", "lease_owner"),
    )
    id: Mapped[int] = mapped_column(BigPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "action" or "formula"
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    field_id: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[int] = mapped_column(BigInteger)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class FormulaRun(Base):
    """A formula column's pending work. Its cells marked QUEUED are the work itself; every
    one lies after ``after_seq`` (rows in ``seq`` order), so a sweep walks them in row order
    without a job per cell, moving ``after_seq`` on in the transaction that writes them.
    A fill (a new or changed formula computing every row) queues cells without writing the
    rows: with ``fill_until`` set, a cell of a row with ``after_seq < seq <= fill_until``
    that has no status is QUEUED too. ``pending`` counts cells queued and not yet written,
    for run status; the row goes when the sweep finds no more.
    """

    __tablename__ = "formula_runs"
    table_id: Mapped[str] = mapped_column(
        ForeignKey("tables.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    after_seq: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    fill_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# -- export and import jobs ------------------------------------------------------------------


class ExportJob(Base):
    """A CSV export of a table or view (``ej_…``). The file is written under the data dir
    by whichever server process holds ``lease_until``; an expired lease lets another start
    it again from scratch."""

    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), index=True)
    view_id: Mapped[str] = mapped_column(String(40))
    filtered: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(600))
    total_records: Mapped[int] = mapped_column(BigInteger)
    records_exported: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ImportJob(Base):
    """A CSV import into a table (``ij_…``). ``rows_read`` (data rows consumed, bad ones
    included) moves in the transaction that stores those rows, so a job taken over after a
    crash resumes after them and never adds a row twice."""

    __tablename__ = "import_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_imported: Mapped[int] = mapped_column(BigInteger, default=0)
    # The first bad rows as [{"line", "message"}]; ``error_count`` counts all of them.
    row_errors: Mapped[list[Any]] = mapped_column(Json)
    error_count: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# -- counts the database keeps (storage/counters.py: triggers, checks) ------------------------


class CellStatusCount(Base):
    """How many of a table's rows have ``status`` in ``meta[field_id]``, summed over
    ``shard`` slots; written only by triggers on ``records``."""

    __tablename__ = "cell_status_counts"
    table_id: Mapped[str] = mapped_column(
        ForeignKey("tables.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    status: Mapped[str] = mapped_column(String(40), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CreditRollup(Base):
    """Sums of ``credit_ledger`` per UTC day and dimension, summed over ``shard`` slots;
    written only by a trigger on the ledger. A missing user is 0, a missing text ''."""

    __tablename__ = "credit_rollup"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integration: Mapped[str] = mapped_column(String(100), primary_key=True)
    action_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    table_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(BigInteger)
    actions: Mapped[int] = mapped_column(BigInteger)


class SharedTable(Base):
    """A table's sharing settings (``share_…``, spec part 2 §3.7): one per table. claystack
    stores them; it serves no public page."""

    __tablename__ = "shared_tables"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    table_id: Mapped[str] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), unique=True)
    view_id: Mapped[str] = mapped_column(String(40))
    sharing_type: Mapped[str] = mapped_column(String(40))
    public_id: Mapped[str] = mapped_column(String(60), unique=True)
    shared_user_emails: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Preset(Base):
    """A saved configuration of an action or column (``pre__…``), per workspace."""

    __tablename__ = "presets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(60))
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action_package_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    preset: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class SearchTable(Base):
    """A table whose rows the search index holds (storage/search_index.py): rows with
    ``seq <= built_to`` or ``seq > target`` are in it; the index serves searches once
    ``built_to`` reaches ``target``."""

    __tablename__ = "search_tables"
    table_id: Mapped[str] = mapped_column(
        ForeignKey("tables.id", ondelete="CASCADE"), primary_key=True
    )
    built_to: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[int] = mapped_column(BigInteger)
