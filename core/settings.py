"""The one typed settings object, read from ``SUPPORT_*`` environment variables and ``.env``."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

MIN_SECRET_CHARS = 32
MIN_METRICS_TOKEN_CHARS = 16
DEFAULT_PUBLIC_URL = "http://localhost:8000"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/\[\]%-]+")
ModelName = Literal["qwen2.5-coder-1.5b", "smollm2-135m"]
"""Models known by name (``agent.llm.models`` says where their files are)."""


class Settings(BaseSettings):
    """Service configuration. Defaults run fully offline on the bundled model, SQLite and local Chroma."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    """Folder for the SQLite files and the Chroma folder unless their own settings say otherwise."""

    # --- model -----------------------------------------------------------------------------
    llm_backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    """``llama_cpp`` runs a GGUF in-process; ``openai`` calls any OpenAI-compatible server."""
    model: ModelName = "qwen2.5-coder-1.5b"
    """The model to run by name: Qwen2.5-Coder-1.5B-Instruct (assembled at set-up) plans; the bundled
    SmolLM2-135M-Instruct is fast but cannot, so the intent router reads messages alone."""
    model_path: Path | None = None
    """Any GGUF file to run instead of the named model."""
    planner: Literal["auto", "model", "router"] = "auto"
    """Who reads a message that is not a plain answer or a clear single request: ``model`` (the planner),
    ``router`` (nearest-neighbour intents and rules only), ``auto`` (the model, except the bundled 135M one)."""
    prepare_next_turn: bool = True
    """After each turn, while the customer reads and writes, evaluate the start of the next planning prompt (their
    orders and the conversation so far) when the in-process model is idle, so their next message is planned from
    its own tokens on. Turn it off when many conversations share one model: each one's start displaces the last."""
    n_ctx: int = Field(4096, ge=512, le=131072)
    """Context window in tokens."""
    n_threads: int | None = Field(None, ge=1)
    """CPU threads for generation; empty uses every core."""
    n_gpu_layers: int = Field(0, ge=-1)
    """Layers offloaded to a GPU (-1 = all); 0 runs on the CPU."""
    max_tokens: int = Field(256, ge=16, le=4096)
    """Upper bound on tokens in one generated reply."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    """Sampling temperature for free wording (structured calls always use 0)."""
    seed: int = 7
    """Sampling seed, so runs are repeatable where the backend allows it."""
    answer_style: Literal["auto", "model", "quote"] = "auto"
    """How help-center answers are worded: ``model`` words them from the retrieved passages (every sentence
    checked against them), ``quote`` quotes the closest help-center sentences, ``auto`` quotes with the built-in
    models (the bundled 135M and the default 1.5B: their own wording fails the evidence check, or passes it with
    wrong answers) and lets any other model word them."""
    reply_style: Literal["auto", "template", "model"] = "auto"
    """How replies about orders and actions are worded: ``template`` says the facts in fixed sentences; ``model``
    lets the model reword them for the customer (answering what was asked first, acknowledging an upset customer),
    every sentence checked against the facts (numbers, ids, statuses, items, days) and the facts said as written
    when one fails; ``auto`` words them with the configured model (the default 1.5B one or any other) and says
    them as written with the bundled 135M model, which cannot word them."""
    reply_languages: Literal["auto", "en"] = "auto"
    """``auto``: a customer writing Spanish, French, German, Portuguese or Italian is answered in that language
    (hand-written translations of the fixed wording, the model's translation of the rest, checked to keep every
    number, id, date and product name) when the model plans; ``en``: always English."""
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    """Base URL of the OpenAI-compatible server when ``llm_backend=openai``."""
    openai_model: str = "default"
    """Model name sent to that server."""
    openai_api_key: str = "not-needed"
    """API key sent to that server (most local servers ignore it)."""
    openai_structured: Literal["json_object", "json_schema", "tools"] = "json_object"
    """How that server is asked for schema-shaped output (plans, addresses): ``json_object`` with the schema
    (llama.cpp's servers), ``json_schema`` (OpenAI's form: vLLM, Ollama, llama.cpp's ``llama-server``) or a forced
    ``tools`` call; every reply is validated against the schema either way."""
    openai_timeout_seconds: float = Field(10.0, gt=0, le=600)
    """Deadline of one call to that server, retries included: a whole answer, or a whole streamed reply."""
    openai_connect_timeout_seconds: float = Field(2.0, gt=0, le=60)
    """Longest wait for a connection to that server, per attempt."""
    openai_max_retries: int = Field(2, ge=0, le=10)
    """Retries of a call (with backoff, within its deadline) after a connection error, a 5xx or a 429."""
    openai_breaker_failures: int = Field(3, ge=1, le=100)
    """Consecutive failed calls (down, too slow, 5xx) after which calls fail at once, without trying the server."""
    openai_breaker_reset_seconds: float = Field(30.0, gt=0, le=3600)
    """How long calls fail at once before one trial call may try the server again."""

    # --- stores ----------------------------------------------------------------------------
    database_url: str | None = None
    """SQLAlchemy URL of the store; empty means ``sqlite:///<data_dir>/store.db``."""
    checkpoint_url: str | None = None
    """Conversation checkpoints: a SQLite path or a ``postgresql://`` URL; empty means the store's database when
    that is PostgreSQL, else ``<data_dir>/checkpoints.db``."""
    chroma_path: Path | None = None
    """Embedded Chroma folder; empty means ``<data_dir>/chroma``."""
    chroma_url: str | None = None
    """URL of a Chroma server (``http://host:8000``); when set it is used instead of the folder."""
    kb_collection: str = "help_center"
    """Chroma collection holding the knowledge base."""
    kb_top_k: int = Field(3, ge=1, le=20)
    """Passages retrieved per question."""
    kb_min_score: float = Field(0.35, ge=0.0, le=1.0)
    """Cosine similarity below which a passage counts as not relevant."""
    seed_demo_data: bool = True
    """Create demo customers, orders and the help center on first start."""
    policy_path: Path | None = None
    """Policy YAML kept in step with the admin API (hand edits are picked up, validated and versioned);
    empty means ``<data_dir>/policy.yaml``, created from the bundled default on first start."""

    # --- server ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address the HTTP server binds to."""
    port: int = Field(8000, ge=1, le=65535)
    """Port the HTTP server listens on."""
    jwt_secret: SecretStr | None = None
    """HMAC secret that signs and checks access tokens (at least 32 characters); empty: a random one is generated
    on first start and kept in the store's database, so every process on that database uses the same one."""
    jwt_issuer: str = Field("support-agent", min_length=1)
    """The ``iss`` every token must carry: set it to your login service's when that mints customer tokens."""
    jwt_audience: str = Field("support-agent", min_length=1)
    """The ``aud`` every token must carry."""
    max_message_chars: int = Field(4000, ge=1)
    """Longest customer message accepted."""
    max_body_bytes: int = Field(64_000, ge=1024)
    """Largest request body accepted."""
    customer_turns_per_minute: int = Field(30, ge=1)
    """Chat turns one signed-in customer may start per minute, with a burst of as many (429 beyond)."""
    ip_turns_per_minute: int = Field(120, ge=1)
    """Chat turns and new conversations per client address per minute, with a burst of as many (429 beyond)."""
    reads_per_minute: int = Field(600, ge=1)
    """Other customer API requests (reading, listing or deleting conversations, opening event streams,
    ``/healthz``) per caller per minute: per token holder, else per client address (429 beyond)."""
    max_open_streams: int = Field(10, ge=1)
    """Event streams (``GET .../events``) one token holder, or one client address without a token, may keep
    open at once; a new one past that gets 429."""
    password_resets_per_minute: int = Field(10, ge=1)
    """``POST /v1/password-reset`` requests per client address per minute (429 beyond)."""
    staff_requests_per_minute: int = Field(600, ge=1)
    """Requests to the staff routes (``/console``, ``/admin``, ``/v1/handoffs``, ``/v1/admin``) per staff token,
    else per client address, per minute (429 beyond)."""
    page_loads_per_minute: int = Field(300, ge=1)
    """Pages, static files and the API description (``/docs``, ``/openapi.json``) per client address per
    minute (429 beyond)."""
    max_concurrent_turns: int = Field(2, ge=1, le=64)
    """Turns worked on at once; more wait in a queue served fairly, round-robin between customers."""
    max_queued_turns: int = Field(32, ge=0)
    """Turns that may wait for a free slot; beyond that the server answers 503 with ``Retry-After``."""
    turn_lease_seconds: float = Field(30.0, ge=1, le=600)
    """How long a turn's hold on its conversation outlives the last renewal by its server process (renewed every
    third of that): when a process dies mid-turn, another one ends the turn with an error within about that."""
    resolution_window_hours: float = Field(24.0, gt=0, le=24 * 30)
    """Hours without a new customer message after which a conversation's outcome is final (resolved, unresolved
    or abandoned); before that it counts as open."""
    cors_origins: Annotated[list[str], NoDecode] = []
    """Other web origins allowed to call the API from a browser (comma-separated); the built-in chat page
    needs none."""
    public_url: str = DEFAULT_PUBLIC_URL
    """The address customers reach this service at (links in emails, the site address in the help center):
    ``https://``, or ``http://`` on localhost only."""

    # --- observability ---------------------------------------------------------------------
    metrics_token: SecretStr | None = None
    """Bearer token ``/metrics`` requires from every client (at least 16 characters); empty: ``/metrics`` answers
    loopback clients only, and never a request relayed by a proxy."""
    metrics_requests_per_minute: int = Field(60, ge=1)
    """``/metrics`` requests per client address per minute (429 beyond)."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces URL of an OpenTelemetry collector (``http://localhost:4318/v1/traces``); empty: no
    tracing and no network."""
    trace_content: bool = False
    """Put customer text (the masked message, the reply, the help-center question) into spans."""

    # --- mail ------------------------------------------------------------------------------
    smtp_host: str = ""
    """SMTP server that delivers the outbox's mail; empty: mail is not sent and waits in the outbox."""
    smtp_port: int = Field(587, ge=1, le=65535)
    """Port of the SMTP server (587 for STARTTLS, 465 for TLS, 25 unencrypted)."""
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    """Encryption: ``starttls`` upgrades a plain connection, ``tls`` connects encrypted, ``none`` sends in clear
    (refused with a password unless the server is on localhost)."""
    smtp_username: str = ""
    """User to sign in to the SMTP server as; empty: no sign-in."""
    smtp_password: SecretStr = SecretStr("")
    """Password for ``smtp_username``."""
    smtp_timeout_seconds: float = Field(30.0, gt=0, le=300)
    """Longest wait for the SMTP server at each step of sending one message."""
    mail_from: str = Field("Northwind Goods <support@localhost>", pattern=r"^[^\r\n]*@[^\r\n]*$")
    """The ``From`` of every email, an address with an optional display name."""
    mail_max_attempts: int = Field(5, ge=1, le=50)
    """Tries to send one message before it is recorded as failed."""
    mail_retry_seconds: float = Field(60.0, gt=0, le=3600)
    """Wait before the first retry; it doubles with each further failure, up to an hour."""
    mail_poll_seconds: float = Field(5.0, gt=0, le=3600)
    """How often the sender looks for mail that is due."""


    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("jwt_secret", mode="after")
    @classmethod
    def _refuse_short_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"SUPPORT_JWT_SECRET must be a random value of at least {MIN_SECRET_CHARS} characters "
                             "(or empty, to have one generated)")
        return value

    @field_validator("metrics_token", mode="after")
    @classmethod
    def _refuse_short_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value()) < MIN_METRICS_TOKEN_CHARS:
            raise ValueError(f"SUPPORT_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARS} characters")
        return value

    @field_validator("otlp_endpoint", mode="after")
    @classmethod
    def _check_otlp_endpoint(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("SUPPORT_OTLP_ENDPOINT must be an http:// or https:// URL")
        return value or None

    @field_validator("public_url", mode="after")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
        if (not secure or not parts.hostname or parts.query or parts.fragment or parts.username
                or parts.port == 0 or not _URL_CHARS.fullmatch(value)):  # .port raises on a malformed port
            raise ValueError("SUPPORT_PUBLIC_URL must be an https:// address (http:// only on localhost), "
                             "without query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_plain_text_smtp_password(self) -> Settings:
        if self.smtp_username and not self.smtp_password.get_secret_value():
            raise ValueError("SUPPORT_SMTP_USERNAME is set but SUPPORT_SMTP_PASSWORD is empty")
        if self.smtp_username and self.smtp_tls == "none" and self.smtp_host not in LOOPBACK_HOSTS:
            raise ValueError("SUPPORT_SMTP_TLS=none would send the SMTP password unencrypted: use starttls or tls")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'store.db'}"

    @cached_property
    def resolved_checkpoint_url(self) -> str:
        if self.checkpoint_url:
            return self.checkpoint_url
        store = make_url(self.resolved_database_url)
        if store.get_backend_name() == "postgresql":  # one URL is enough: checkpoints go to the same database
            return store.set(drivername="postgresql").render_as_string(hide_password=False)
        return str(self.data_dir / "checkpoints.db")

    @cached_property
    def resolved_policy_path(self) -> Path:
        return self.policy_path or self.data_dir / "policy.yaml"

    @cached_property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"
