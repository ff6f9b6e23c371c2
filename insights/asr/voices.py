"""Enrolled voice prints of callers (reps, MSLs): ``insights voices enroll REP_ID AUDIO``.

A print is the mean resemblyzer embedding of the speech in one or more recordings of the caller
alone. When a call's sidecar names its caller (``caller_id``) and a print exists, the voice
nearer the print is the caller, whatever the words say.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from insights.asr.audio import decode, probe
from insights.asr.speakers import embed, split_windows
from insights.asr.vad import speech_regions
from insights.config import Settings, get_settings
from insights.errors import AudioError, ErrorCode

_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# Below this cosine similarity to the print, neither voice is taken to be the enrolled caller.
MATCH_FLOOR = 0.6


def voices_dir(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.voices_dir or settings.data_dir / "voices"


def _path(caller_id: str, settings: Settings | None) -> Path:
    if not _ID.match(caller_id):
        raise ValueError(f"caller id {caller_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    return voices_dir(settings) / f"{caller_id}.json"


def enroll(caller_id: str, audio: list[Path], *, settings: Settings | None = None) -> dict[str, object]:
    """Compute and store the print; returns what was stored (without the vector)."""
    vectors: list[np.ndarray] = []
    seconds = 0.0
    for path in audio:
        probe(path)  # a specific error (empty, not audio…) before decoding
        block = decode(path, stereo=False)
        regions = speech_regions(block.mono())
        windows = split_windows(regions)
        if windows:
            vectors.append(embed(block.mono(), windows))
            seconds += sum(w.duration for w in windows)
    if not vectors or seconds < 3.0:
        raise AudioError(
            ErrorCode.AUDIO_SILENT, f"enrolment needs at least 3 s of speech, found {seconds:.1f} s"
        )
    mean = np.concatenate(vectors).mean(axis=0)
    mean /= np.linalg.norm(mean) + 1e-9
    target = _path(caller_id, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {"caller_id": caller_id, "seconds": round(seconds, 1), "files": [p.name for p in audio]}
    target.write_text(json.dumps(record | {"vector": [round(float(x), 6) for x in mean]}), encoding="utf-8")
    return record


def load(caller_id: str, *, settings: Settings | None = None) -> np.ndarray | None:
    try:
        path = _path(caller_id, settings)
    except ValueError:
        return None
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return np.asarray(data["vector"], dtype=np.float32)


def caller_voice(centroids: np.ndarray, print_vector: np.ndarray) -> int | None:
    """Index of the centroid that is the enrolled caller, or None when neither is close enough."""
    sims = centroids @ print_vector
    best = int(np.argmax(sims))
    return best if float(sims[best]) >= MATCH_FLOOR else None
