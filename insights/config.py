"""The one typed settings object, read from ``INSIGHTS_*`` environment variables.

Nothing else in the package reads the environment: ask :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("insights"))


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("insights"))


class Settings(BaseSettings):
    """Service settings. Every field can be set as ``INSIGHTS_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    data_dir: Path = Field(default_factory=_default_data_dir)
    # Extra ontology YAML files or folders, merged over the shipped ontology.
    ontology_paths: list[Path] = Field(default_factory=list)
    # ``fast``: patterns + CRF + linear models; ``transformer``: fine-tuned encoder heads.
    backend: Literal["fast", "transformer"] = "fast"
    # A local Hugging Face model directory for the transformer backend (else the built one).
    model_path: Path | None = None
    # Fuzzy concept linking accepts a match at or above this confidence.
    link_threshold: float = 0.72
    # Longest input text analysed; longer lines are rejected with a specific error.
    max_text_chars: int = 100_000
    # Unpunctuated runs longer than this are cut into sentences at discourse markers.
    max_sentence_chars: int = 100
    # Corpus location (annotations/); the default is the source checkout's.
    annotations_dir: Path | None = None
    log_level: str = "WARNING"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
