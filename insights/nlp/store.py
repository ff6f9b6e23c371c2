"""Where built models live: a versioned folder in the user cache, with a checksummed manifest."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from insights.config import Settings
from insights.errors import ErrorCode, ModelError

logger = logging.getLogger(__name__)

# Bump when features, labels or training change: old caches are then rebuilt, never misread.
FAST_MODEL_VERSION = "fast-1"
TRANSFORMER_MODEL_VERSION = "transformer-1"
BASE_E5 = "e5-small-base"
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_dir(settings: Settings, version: str = FAST_MODEL_VERSION) -> Path:
    return settings.cache_dir / "models" / version


def transformer_dir(settings: Settings) -> Path:
    """Fine-tuned transformer models; a user-supplied base encoder gets its own folder."""
    if settings.model_path is None:
        return model_dir(settings, TRANSFORMER_MODEL_VERSION)
    tag = hashlib.sha1(str(settings.model_path.resolve()).encode()).hexdigest()[:10]
    return model_dir(settings, f"{TRANSFORMER_MODEL_VERSION}-{tag}")


def base_encoder_dir(settings: Settings) -> Path:
    """The encoder to fine-tune: ``INSIGHTS_MODEL_PATH`` or the converted multilingual-e5-small."""
    return settings.model_path or model_dir(settings, BASE_E5)


def write_manifest(folder: Path, files: list[str], meta: dict[str, Any]) -> Path:
    manifest = {
        "files": {name: sha256_file(folder / name) for name in files},
        **meta,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        command = "insights models build"
        if folder.name.startswith(TRANSFORMER_MODEL_VERSION):
            command += " --backend transformer"
        raise ModelError(ErrorCode.MODEL_MISSING, f"{folder} (run `{command}`)")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(ErrorCode.MODEL_INVALID, f"{path}: {exc}") from exc
    return data


def verify(folder: Path) -> dict[str, Any]:
    """Check every file against the manifest's sha256; raise :class:`ModelError` on mismatch."""
    manifest = read_manifest(folder)
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.exists():
            raise ModelError(ErrorCode.MODEL_INVALID, f"{path} is missing")
        if sha256_file(path) != digest:
            raise ModelError(ErrorCode.MODEL_INVALID, f"{path} does not match its checksum")
    return manifest


def is_built(folder: Path) -> bool:
    try:
        verify(folder)
    except ModelError:
        return False
    return True
