from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_data_path
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The hosted product's webhook limits: 100 KB payloads, 50,000 submissions per source over
# its life, 10 rows/s per workspace with bursts of 20, 50,000 rows per table.
HOSTED_LIMITS: dict[str, Any] = {
    "webhook_max_payload_bytes": 100 * 1024,
    "webhook_max_submissions_per_source": 50_000,
    "webhook_rate_per_second": 10.0,
    "webhook_rate_burst": 20,
    "webhook_max_table_rows": 50_000,
}


class Settings(BaseSettings):
    """Every setting of the server; each can be given as ``CLAYSTACK_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CLAYSTACK_", extra="ignore")

    # Per user, never relative to the working directory: `serve` and the admin commands
    # must find the same database wherever they are run from.
    data_dir: Path = Field(default_factory=lambda: user_data_path("claystack", appauthor=False))
    database_url: str = ""
    # PostgreSQL only: the schema to live in (put first on the search_path).
    database_schema: str = ""
    # PostgreSQL only, set on every connection: "off" trades the last few hundred
    # milliseconds of commits on a database crash (never consistency) for write throughput.
    database_synchronous_commit: Literal["on", "off", "local", "remote_write", "remote_apply"] = (
        "on"
    )
    # PostgreSQL only: connections each process keeps open, and how many more it may open
    # under load. Every `serve --workers` process and `claystack worker` has its own pool:
    # keep processes x (pool + overflow) under the server's max_connections (docs/deploy.md).
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str = ""

    session_ttl_seconds: int = Field(default=86_400, gt=0)
    # How long a verified session or token is trusted without a database read. Logout in
    # this process takes effect at once; in other worker processes within this time.
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    cookie_secure: bool = False
    secret_key: str = ""

    # "low" hashes in well under a millisecond: for test suites only, never for real users.
    password_hash_cost: Literal["standard", "low"] = "standard"
    # Failed logins allowed per account, and per client address, within the window.
    login_max_failures: int = Field(default=10, gt=0)
    login_max_failures_per_address: int = Field(default=100, gt=0)
    login_window_seconds: int = Field(default=300, gt=0)
    # Comma-separated IPs or CIDR networks of reverse proxies whose X-Forwarded-For is
    # believed; from anyone else the header is ignored.
    trusted_proxies: str = ""

    demo_email: str = "demo@claystack.dev"
    demo_password: str = "claystack"
    demo_name: str = "Demo User"
    demo_workspace_name: str = "Demo Workspace"
    seed_demo: bool = True
    initial_credits: int = Field(default=10_000, ge=0)

    enable_reset: bool = False
    max_body_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_records_per_request: int = Field(default=10_000, gt=0)
    # Hosted Clay adds one blank row to a new table; off by default (spec part 2 §12).
    initial_blank_row: bool = False
    # How deep JSON in a request body may nest (objects and arrays); deeper bodies get 400.
    max_json_depth: int = Field(default=64, gt=0, le=250)
    # The largest cell value a write may store, as JSON bytes; larger ones get 413. A larger
    # formula or action result (value and full result) ends its cell ERROR.
    max_cell_bytes: int = Field(default=1024 * 1024, gt=0)

    # Enrichment runs: background workers inside the server.
    run_workers: bool = True
    run_concurrency: int = Field(default=64, gt=0)
    run_claim_batch: int = Field(default=1_000, gt=0)
    run_formula_batch: int = Field(default=10_000, gt=0)
    run_max_attempts: int = Field(default=4, gt=0)
    run_retry_base_seconds: float = Field(default=1.0, ge=0)
    run_retry_max_seconds: float = Field(default=300.0, ge=0)
    run_action_timeout_seconds: float = Field(default=120.0, gt=0)
    # A claimed job's lease: its process renews it every third of this (heartbeat); a job
    # whose lease lapsed (its process died) is taken over by any other process.
    run_lease_seconds: float = Field(default=30.0, gt=0)
    # On SIGTERM: how long the jobs in hand may take to finish before the rest are released.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    run_poll_seconds: float = Field(default=0.2, gt=0)
    # Formulas (columns, run conditions, action inputs) run in worker processes; one that
    # takes longer than this per cell is killed and its cell ends ERROR.
    formula_time_limit_seconds: float = Field(default=2.0, gt=0)
    # How long past its time limit a worker may take to answer (a loaded machine) before
    # it is killed: what a formula that never returns costs on top of the limit.
    formula_kill_grace_seconds: float = Field(default=0.5, gt=0)
    formula_workers: int = Field(default=4, gt=0)
    # Per-integration overrides of ``Integration.max_concurrency`` / ``rate_per_second``,
    # e.g. CLAYSTACK_INTEGRATION_CONCURRENCY='{"use-ai": 8}'.
    integration_concurrency: dict[str, int] = {}
    integration_rate_per_second: dict[str, float] = {}

    # Outbound HTTP of actions: loopback, private, link-local, multicast, reserved and other
    # non-global targets are refused (server-side request forgery) unless allowed here.
    http_allow_private: bool = False
    # Comma-separated host names, IP addresses or CIDR networks allowed even when private.
    http_allowed_hosts: str = ""

    # The default OpenAI-compatible endpoint of `use-ai` (a connected account overrides it).
    ai_base_url: str = ""
    ai_api_key: SecretStr = SecretStr("")
    ai_model: str = "gpt-4o-mini"
    # Credits per successful `use-ai` execution by model, as JSON; merged over the built-in table.
    ai_prices: dict[str, int] = Field(default_factory=dict)
    ai_timeout_seconds: float = Field(default=120.0, gt=0)
    # Credits per execution by action, as JSON {"actionKey" or "package/actionKey": credits};
    # replaces the action's own price, so a team can simulate what a table will cost.
    action_prices: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # Webhook sources. 0 means "no limit". ``limits_profile = "hosted"`` gives every limit
    # not set explicitly the hosted product's value (see ``HOSTED_LIMITS``).
    limits_profile: Literal["self-hosted", "hosted"] = "self-hosted"
    webhook_max_payload_bytes: int = Field(default=100 * 1024, gt=0)
    webhook_max_submissions_per_source: int = Field(default=0, ge=0)
    webhook_rate_per_second: float = Field(default=0.0, ge=0)
    webhook_rate_burst: int = Field(default=20, gt=0)
    webhook_max_table_rows: int = Field(default=0, ge=0)
    # How long a webhook URL → source lookup is trusted without a database read (deleting a
    # source in this process takes effect at once; rows are re-checked at commit anyway).
    webhook_cache_seconds: float = Field(default=2.0, ge=0)
    # Group commit: at most this many webhook rows are written per transaction.
    webhook_batch_size: int = Field(default=512, gt=0)
    # Group commit: while fewer requests wait than the last batch held, the writer waits
    # up to this long for more (0: it takes what is there after one event-loop turn).
    webhook_batch_wait_ms: float = Field(default=2.0, ge=0, le=60_000)

    # Export and import jobs run inside the server; a job whose process stops holding its
    # lease for this long is taken over by another (or the next) server process.
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_poll_seconds: float = Field(default=5.0, gt=0)
    # Signed links: export downloads, and the upload form of an import.
    export_link_seconds: int = Field(default=86_400, gt=0)
    upload_link_seconds: int = Field(default=3_600, gt=0)
    # Files are deleted this long after an export finished, or after an upload arrived; the
    # job runner of every server process looks for them every retention_sweep_seconds.
    export_retention_hours: float = Field(default=72.0, gt=0)
    upload_retention_hours: float = Field(default=24.0, gt=0)
    retention_sweep_seconds: float = Field(default=600.0, gt=0)
    import_max_file_bytes: int = Field(default=2 * 1024**3, gt=0)
    # Rows stored per transaction by an import job.
    import_batch_size: int = Field(default=5_000, gt=0)
    # Views of tables with at least this many rows are helped by indexes (a search index,
    # one per field an EQUAL filter reads); smaller tables are scanned. The search index is
    # built in the background, this many rows per write transaction.
    view_index_min_rows: int = Field(default=10_000, gt=0)
    view_index_build_chunk: int = Field(default=20_000, gt=0)

    @model_validator(mode="after")
    def _hosted_limits(self) -> Settings:
        if self.limits_profile == "hosted":
            for name, value in HOSTED_LIMITS.items():
                if name not in self.model_fields_set:
                    setattr(self, name, value)
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        from .security import parse_networks

        parse_networks(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("CLAYSTACK_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL with the async driver filled in."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'claystack.db'}"
        if url.startswith("sqlite://"):
            url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url[len("postgresql://") :]
        elif url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url[len("postgres://") :]
        return url

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None on PostgreSQL."""
        url = self.resolved_database_url
        if not url.startswith("sqlite") or ":memory:" in url:
            return None
        return Path(url.split(":///", 1)[1]).expanduser()

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.host}:{self.port}"
