"""Settings from the environment (prefix PROBITY_), via pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET = "dev-insecure-secret-change-me"
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "probity.db"
# The WebSocket protocol the server runs (uvicorn's `ws`; see probity/socket_protocol.py).
SOCKET_PROTOCOL = "probity.socket_protocol:ChatSocketProtocol"

# The display zone where nothing else is set: the one literal of it in the code.
DEFAULT_TIMEZONE = "Asia/Shanghai"


class ConfigurationError(RuntimeError):
    """The configuration cannot run in the selected mode."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROBITY_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}"
    redis_url: str | None = None
    # Pub/sub channel names start with this (one Redis may serve several deployments).
    redis_channel_prefix: str = "probity"
    # "INDEX/COUNT": this process is worker INDEX of COUNT behind `probity serve --workers`'s
    # dispatcher (probity.dispatch), which places every socket of conversation id on worker
    # id % COUNT; the conversations' screening contexts then stay in the process's memory even
    # with Redis. Set by the dispatcher for its workers, never by hand: behind any other
    # balancer a conversation's sockets may be in two processes (unset: contexts in Redis).
    chat_affinity: str | None = Field(default=None, pattern=r"^[0-9]+/[1-9][0-9]*$")
    # The chat writer host's Unix socket and its key (hex), where the direct chat batches of
    # this process are stored (probity.chat.host). Set by the dispatcher for its workers on
    # a SQLite file, never by hand.
    chat_writer: str | None = None
    # Whether `probity serve --workers N` on a SQLite file starts that host (off: each worker
    # stores its own batches, taking turns on the file's write lock).
    chat_writer_host: bool = True
    chat_writer_key: str = Field(default="", pattern=r"^([0-9a-f]{2})*$")
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    # Requests larger than this are refused with 413 before the body is read.
    max_body_bytes: int = 2 * 1024 * 1024
    # Finance file imports (CSV/XLSX) may be larger: 100,000 rows are about 8 MB.
    max_import_bytes: int = 50 * 1024 * 1024
    session_max_age_s: int = 8 * 3600
    # A chat socket keeps its access check (credential still valid, agent still holds the
    # conversation) for at most this long; the events that take access away drop it at once,
    # so this only bounds what a lost event could still allow (0: check before every frame).
    chat_access_recheck_s: float = 10.0
    # The serving process's garbage-collector policy (probity.gcpolicy: a full collection
    # walks only what is new since the last one; everything every `gc_sweep_s`). None: on,
    # except under env=test (the test process is no server).
    gc_policy: bool | None = None
    gc_sweep_s: float = 6 * 3600.0
    default_timezone: str = DEFAULT_TIMEZONE
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    # Login throttling: after `lockout_threshold` failures within `lockout_window_s`, the
    # account is locked for `lockout_s` seconds (doubling with each further lock).
    lockout_threshold: int = 5
    lockout_window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    password_min_length: int = 10
    ledger_signing_key: str | None = Field(default=None, repr=False)
    attachments_dir: Path = PROJECT_ROOT / "var" / "attachments"
    # Signed ledger checkpoints are also written here as they are committed (one file per
    # checkpoint, never rewritten): point it at storage the database's administrators cannot
    # rewrite, or let a witness copy it, and `probity ledger verify --checkpoints DIR` checks the
    # ledger against those copies.
    checkpoint_dir: Path | None = None
    # Outgoing e-mail for case notifications (none sent when smtp_host is unset).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "probity@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    # Reading a conversation one does not take part in is recorded in the access log; these
    # roles must also say why (a reason), unless access_reason_required is off.
    access_reason_required: bool = True
    access_reason_roles: list[str] = ["compliance", "hr"]
    # Background jobs (Dramatiq). With a broker URL (redis://…) the app only enqueues and
    # `probity worker` / `probity scheduler` run the work; without one the app process runs an
    # embedded worker (threads) and the schedules itself.
    broker_url: str | None = None
    # "worker": Dramatiq (a broker, or the embedded worker); "inline": asyncio tasks of the
    # caller's loop (the default under env=test, whose sessions are rolled back).
    jobs_runner: Literal["worker", "inline"] | None = None
    jobs_worker_threads: int = 2
    # A worker silent for this long is presumed dead and its messages are delivered again.
    jobs_heartbeat_timeout_ms: int = 60_000
    jobs_maintenance_chance: int = 10_000  # per million broker commands
    # Schedule periods in seconds by schedule name (0 switches one off), e.g.
    # PROBITY_SCHEDULES='{"cases.sla_sweep": 60}'.
    schedules: dict[str, int] = {}
    # /metrics asks for this bearer token when set (else keep it off the public proxy).
    metrics_token: str | None = Field(default=None, repr=False)
    # More modules declaring tasks (plugins, tests), imported with registry.TASK_MODULES.
    task_modules: list[str] = []
    # Outbound webhooks (probity.webhooks). A URL must resolve to public addresses only; the
    # operator may allow networks (CIDRs) inside the company, e.g. '["10.20.0.0/16"]'.
    webhook_allowed_networks: list[str] = []
    webhook_timeout_s: float = 10.0
    # An endpoint is disabled (and its managers notified) after this many consecutive failed
    # attempts.
    webhook_disable_after: int = 15
    # The signed finance feed refuses a timestamp further than this from the server's clock.
    feed_tolerance_s: int = 300

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_production(self) -> None:
        """Refuse to run in production with a default or weak secret."""
        if self.env != "production":
            return
        if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
            raise ConfigurationError(
                "PROBITY_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        if not self.ledger_signing_key:
            raise ConfigurationError(
                "PROBITY_LEDGER_SIGNING_KEY must be set in production (an Ed25519 key that "
                "signs ledger checkpoints; `probity ledger` commands print the public key)"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
