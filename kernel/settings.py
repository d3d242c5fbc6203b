"""The one settings object. Every knob is an environment variable with the SHOUHU_ prefix.

Defaults serve the embedded case: LadybugDB and SQLite files under ./data, no server to start.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where the embedded stores live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the relational store; SQLite file under data_dir when unset.",
    )
    neo4j_uri: str | None = Field(default=None, description="bolt:// or neo4j:// URI; LadybugDB when unset.")
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str | None = None
    graph_buffer_pool_mb: int = Field(
        default=0, description="LadybugDB buffer pool in MB; 0 lets the engine take its default share of RAM."
    )
    graph_fold_chunk: int = Field(
        default=20_000,
        ge=1,
        description="Rows held at a time by graph verify and rebuild (graph rows read, lines sorted before "
        "spilling to a temporary file, rows per bulk load): their memory is bounded by it, not the county.",
    )
    graph_build_worker: bool = Field(
        default=True,
        description="A LadybugDB rebuild (and a first load's graph build) folds the record into rows in a "
        "worker process while it loads the rows folded before: the same graph on two cores. False: one "
        "process, one core.",
    )
    graph_build_ahead_rows: int = Field(
        default=1_000_000,
        ge=0,
        description="Rows the rebuild's worker may fold into files ahead of the loads (the kinds written "
        "and not yet loaded), beyond the kind after the one loading: disk for the files, no memory. "
        "0: at most one kind ahead.",
    )
    sync_buffer_pool_mb: int = Field(
        default=1536,
        ge=64,
        description=(
            "LadybugDB buffer pool in MB of a `shouhu sync` when graph_buffer_pool_mb is 0. The engine's "
            "default share is 80% of RAM, and a sync's pool grows towards it between the store's reopens "
            "(at 40% use). The rest is one graph transaction's headroom: with a 20,000-record batch in one "
            "transaction a 200,000-person county needed 4 GB (1 GB failed, 'buffer pool is full'); written "
            "in parts of sync_graph_tx_records the largest part of a 60,000-person sync pinned 218 MB, "
            "growing with the county, so 1.5 GB leaves 920 MB for one part above the reopen line."
        ),
    )
    sync_graph_tx_records: int = Field(
        default=5_000,
        ge=1,
        description=(
            "Records of a sync batch written per graph transaction (each writes the batch's watermark; "
            "the record moves after the last). LadybugDB holds every page a transaction touched until it "
            "ends, so the buffer pool a sync needs grows with this, not with the batch size."
        ),
    )
    sync_land_chunk_records: int = Field(
        default=5_000,
        ge=1,
        description=(
            "Records a sync lands per relational transaction while it reads a source (each chunk commits "
            "before the next is read, so a read that fails or is killed partway keeps what it landed)."
        ),
    )
    sync_worker_silence_seconds: float = Field(
        default=120.0,
        gt=0,
        description=(
            "A first load's land-ahead or spill-ahead worker that says nothing for this long (it reports "
            "every chunk, a fraction of a second apart) is taken as stuck: it is stopped and the sync "
            "does its work itself, so a hung helper never holds a run up for longer than this."
        ),
    )
    sync_land_ahead: bool = Field(
        default=True,
        description=(
            "In a county's first load, land the later sources in a worker process while the first is "
            "processed (connectors.land_ahead): the second core reads and stores them meanwhile. Off: "
            "every source is landed before any is processed, in the sync's own process."
        ),
    )
    sync_spill_ahead: bool = Field(
        default=True,
        description=(
            "In a county's first load, write each processed source into the graph build's spill in a "
            "worker process while the sync goes on (connectors.spill_ahead), so the build at the end "
            "reads only the rest. Off: the build writes its whole spill at the end."
        ),
    )
    sync_first_load_records: int = Field(
        default=50_000,
        ge=0,
        description=(
            "A sync with at least this many pending records, more than the record holds loaded (a "
            "county's first load), writes no graph batch by batch: it builds the graph once at its end "
            "from the record (as `shouhu graph rebuild` does, COPY into a new file). Batch by batch, each "
            "pool-pressure reopen checkpoints tables whose size grows with the county (33% of a "
            "200,000-person first load). The graph lags the record until the build; a kill before it "
            "leaves the graph behind, and the next open rebuilds it. 0: never."
        ),
    )
    graph_checkpoint_mb: int = Field(
        default=256,
        ge=0,
        description=(
            "LadybugDB: checkpoint the graph once its write-ahead log passes this many MB (and at the end "
            "of a sync), not in every COMMIT past the engine's 16 MB. A checkpoint rewrites each table it "
            "touched whole (2.3 s for one Person at 60,000 persons), so its cost grows with the graph; "
            "a committed transaction not yet checkpointed is in the log, replayed when the graph opens "
            "next. 0: as the engine does."
        ),
    )
    language: Literal["zh-CN", "en"] = Field(
        default="zh-CN", description="Language of the CLI, reports and messages (kernel/messages.py)."
    )
    error_detail: bool = Field(
        default=False,
        description="Show exceptions' own text: a CLI command ended by an unexpected error prints its "
        "traceback, and the service log keeps each exception's message. Off, both name the kind of error "
        "only (kernel/logs.py): an exception's text can quote the record being handled.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # --- the GraphQL API (api/) ---
    dev_mode: bool = Field(default=False, description="Introspection and GraphiQL on; never in production.")
    graphiql: bool = Field(
        default=False,
        description="Serve GraphiQL at /graphiql, with dev_mode only (its scripts load from unpkg.com).",
    )
    policy_file: Path | None = Field(
        default=None, description="Field policy (TOML); the shipped default when unset."
    )
    graphql_max_depth: int = 6
    graphql_max_aliases: int = 15
    graphql_max_cost: int = 5000  # priced from the schema: each list × its page (api/limits.py)
    graphql_max_directives: int = 50
    graphql_max_body_bytes: int = 64 * 1024
    graphql_write_wait_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Seconds a GraphQL mutation waits for the graph's writer when another write holds it (a "
        "sync's batch: seconds; a county's first load building its graph: minutes). Past it the mutation "
        "fails clearly and writes nothing (a case saved meanwhile is projected later); background work "
        "waits as long as it takes.",
    )
    console_request_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds the web console waits for the answer to one request before it stops "
        "waiting, tells the user (a change: it may or may not have been made, check before trying "
        "again) and gives the action's buttons back. Above graphql_write_wait_seconds, so a change "
        "queued behind a sync's batch is still answered; the console's reads take well under a "
        "second, the slowest (数据比对 of a county of 80,000 children) 2.5 s (bench/results).",
    )
    console_long_request_timeout_seconds: float = Field(
        default=1200.0,
        gt=0,
        description="The same bound for the console's whole-division work (重新排查: reclassifying "
        "every child of a division, 79 s for a county of 20,000 people at 54 children a second; "
        "this allows a county of some 300,000).",
    )
    graphql_max_response_nodes: int = Field(
        default=50_000,
        ge=0,
        description="Records and list items one response may hold (0: no bound). The cost limit prices a "
        "document before it runs; this bounds what it returns (a list without a page, a hub's fan-out), so "
        "no request can make the server build a response past it.",
    )
    rate_limit_per_minute: int = Field(default=600, description="Requests per client per minute; 0 disables.")
    persisted_operations_file: Path | None = Field(
        default=None,
        description="JSON {sha256: document}; when set, agency systems may only send these (by hash).",
    )
    # --- identities (auth/): OAuth2 client credentials, JWT access tokens, trusted external issuers ---
    token_issuer: str | None = Field(
        default=None,
        description="`iss` of the tokens we issue (our public base URL); http://{host}:{port} when unset.",
    )
    token_audience: str = Field(default="shouhu-api", description="`aud` of the tokens we issue and accept.")
    token_ttl_seconds: int = Field(default=900, ge=60, le=3600, description="Access-token lifetime.")
    token_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp, nbf.")
    signing_key_grace_seconds: int = Field(
        default=86400,
        ge=0,
        description="After a rotation, how long the previous signing key stays in the JWKS and verifies.",
    )
    signing_key_passphrase: SecretStr | None = Field(
        default=None, description="Encrypts signing keys' private PEMs at rest in the database when set."
    )
    trusted_issuers: list[dict[str, object]] = Field(
        default_factory=list,
        description="JSON list of external OIDC issuers whose tokens we accept: {issuer, jwks_uri, audience, "
        "agency_claim, agency_type_claim, role_claim, jurisdiction_claim, ...}; see auth/oidc.py.",
    )
    jwks_cache_ttl_seconds: int = Field(default=300, ge=0, description="How long an external JWKS is cached.")
    jwks_min_refetch_seconds: int = Field(
        default=30, ge=0, description="Minimum time between JWKS fetches per issuer (unknown-kid refetches)."
    )
    # --- protection workflows (protection/): deadlines of each step, webhooks ---
    report_accept_minutes: float = Field(
        default=60,
        ge=0,
        description="Police must accept a 强制报告 within this (the seeds: 第一时间, at once).",
    )
    emergency_notify_hours: float = Field(
        default=24, ge=0, description="From acceptance to the police's notification of the township (通报)."
    )
    assessment_days: float = Field(
        default=7, ge=0, description="From the township's notification to a completed assessment (评估)."
    )
    plan_days: float = Field(
        default=3, ge=0, description="From the assessment to the assistance plan (帮扶)."
    )
    follow_up_days: float = Field(default=30, ge=0, description="Default interval between follow-ups.")
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Analysts' pseudonym key (64 bytes, base64; auth/pseudonym.py); unset: a random key "
        "kept owner-only in the data directory.",
    )
    webhook_key: SecretStr | None = Field(
        default=None,
        description="Key from which each webhook subscription's signing secret is derived; a random key "
        "file under data_dir (mode 0600) when unset. Never logged.",
    )
    webhook_poll_seconds: float = Field(default=2.0, gt=0, description="Delivery worker's outbox poll.")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Per delivery HTTP timeout.")
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a delivery worker holds the outbox rows it claimed: another worker (or the "
        "service restarted after a kill) sends them only once it runs out. Longer than "
        "webhook_timeout_seconds, or a delivery still on its way would be claimed and sent again.",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Delivery attempts before a webhook is marked failed."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0, ge=0, description="First retry delay; doubles per attempt (capped at 1 hour)."
    )
    webhook_worker: bool = Field(default=True, description="Start the delivery worker with the API.")
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Non-public networks (CIDR) webhook receivers may be on, e.g. the e-government "
        "intranet: SHOUHU_WEBHOOK_ALLOWED_NETWORKS='[\"10.20.0.0/16\"]'. Public addresses are always "
        "allowed; loopback, private and link-local ones only when listed here.",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            if "webhook_lease_seconds" not in self.model_fields_set:
                # The default follows a long delivery timeout set before the lease was a setting.
                self.webhook_lease_seconds = 3 * self.webhook_timeout_seconds
                return self
            # A type of its own, so that the catalogue can say it (kernel.messages.settings_problems).
            raise PydanticCustomError(
                "lease_too_short",
                "SHOUHU_WEBHOOK_LEASE_SECONDS ({lease}) must be longer than SHOUHU_WEBHOOK_TIMEOUT_SECONDS "
                "({timeout}): a delivery still on its way when its lease ran out would be claimed and "
                "sent again",
                {
                    "lease": f"{self.webhook_lease_seconds:g}",
                    "timeout": f"{self.webhook_timeout_seconds:g}",
                    "var": "SHOUHU_WEBHOOK_LEASE_SECONDS",
                },
            )
        return self

    def for_sync(self) -> Settings:
        """These settings as a sync opens the graph: with ``sync_buffer_pool_mb`` unless a buffer pool
        is set explicitly."""
        if self.graph_buffer_pool_mb:
            return self
        return self.model_copy(update={"graph_buffer_pool_mb": self.sync_buffer_pool_mb})

    @property
    def graph_path(self) -> Path:
        return self.data_dir / "graph.lbug"

    @property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shouhu.sqlite3').as_posix()}"

    @property
    def graph_backend(self) -> str:
        return "neo4j" if self.neo4j_uri else "ladybug"


@lru_cache
def get_settings() -> Settings:
    return Settings()
