"""The one typed settings object, read from ``SUPPORT_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me-0000"
ModelName = Literal["qwen2.5-coder-1.5b", "smollm2-135m"]
"""Models known by name (``agent.llm.models`` says where their files are)."""


class Settings(BaseSettings):
    """Service configuration. Defaults run fully offline on the bundled model, SQLite and local Chroma."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    """Deployment kind; ``prod`` refuses the development signing secret."""

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
    n_ctx: int = Field(4096, ge=512, le=131072)
    """Context window in tokens."""
    n_threads: int | None = Field(None, ge=1)
    """CPU threads for generation; empty uses every core."""
    n_gpu_layers: int = Field(0, ge=-1)
    """Layers offloaded to a GPU (-1 = all); 0 runs on the CPU."""
    max_tokens: int = Field(256, ge=16, le=4096)
    """Upper bound on tokens in one generated reply."""
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    """Sampling temperature for free wording (structured calls always use 0)."""
    seed: int = 7
    """Sampling seed, so runs are repeatable where the backend allows it."""
    answer_style: Literal["auto", "model", "quote"] = "auto"
    """How help-center answers are worded: ``model`` words them from the retrieved passages (every sentence
    checked against them), ``quote`` quotes the closest help-center sentences, ``auto`` quotes with the bundled
    135M model (its own wording fails the evidence check on most answers) and lets any other model word them."""
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    """Base URL of the OpenAI-compatible server when ``llm_backend=openai``."""
    openai_model: str = "default"
    """Model name sent to that server."""
    openai_api_key: str = "not-needed"
    """API key sent to that server (most local servers ignore it)."""

    # --- stores ----------------------------------------------------------------------------
    database_url: str | None = None
    """SQLAlchemy URL of the store; empty means ``sqlite:///<data_dir>/store.db``."""
    checkpoint_url: str | None = None
    """Conversation checkpoints: a SQLite path or a ``postgresql://`` URL; empty means
    ``<data_dir>/checkpoints.db``."""
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
    jwt_secret: str = DEV_SECRET
    """HMAC secret that signs and checks access tokens."""
    max_message_chars: int = Field(4000, ge=1)
    """Longest customer message accepted."""
    max_body_bytes: int = Field(64_000, ge=1024)
    """Largest request body accepted."""
    customer_turns_per_minute: int = Field(30, ge=1)
    """Chat turns one signed-in customer may start per minute, with a burst of as many (429 beyond)."""
    ip_turns_per_minute: int = Field(120, ge=1)
    """Chat turns and new conversations per client address per minute, with a burst of as many (429 beyond)."""
    max_concurrent_turns: int = Field(2, ge=1, le=64)
    """Turns worked on at once; more wait in a queue served fairly, round-robin between customers."""
    max_queued_turns: int = Field(32, ge=0)
    """Turns that may wait for a free slot; beyond that the server answers 503 with ``Retry-After``."""
    cors_origins: Annotated[list[str], NoDecode] = []
    """Other web origins allowed to call the API from a browser (comma-separated); the built-in chat page
    needs none."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_dev_secret_in_prod(self) -> Settings:
        if self.env == "prod" and (self.jwt_secret == DEV_SECRET or len(self.jwt_secret) < 32):
            raise ValueError("SUPPORT_JWT_SECRET must be set to a random value of >= 32 characters in prod")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'store.db'}"

    @cached_property
    def resolved_checkpoint_url(self) -> str:
        return self.checkpoint_url or str(self.data_dir / "checkpoints.db")

    @cached_property
    def resolved_policy_path(self) -> Path:
        return self.policy_path or self.data_dir / "policy.yaml"

    @cached_property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"
