"""``insights eval asr DIR``: our transcriber against plain faster-whisper on calls with truth files.

DIR has the layout of ``shared/audio``: ``calls/<id>.<ext>`` (+ sidecar ``calls/<id>.json``) and
``truth/<id>.json``. Both systems run in the same process on the same model, so the figures and
the real-time factors compare like with like.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from insights.asr.audio import AUDIO_SUFFIXES
from insights.asr.model import load_whisper, resolve_model
from insights.asr.text import to_simplified
from insights.asr.transcribe import PartialTranscript, TranscribeOptions, Transcriber
from insights.errors import InsightsError
from insights.eval.asr_scoring import CallScore, score_call, summarize

logger = logging.getLogger(__name__)

# Variants ``--variant`` runs beside the default, one step changed each, to measure what it adds.
ABLATIONS: dict[str, dict[str, Any]] = {
    "no-correct": {"correct_terms": False},
    "no-diarize": {"diarize": False},
    "prompt": {"domain_prompt": True},
    "batched": {"batched": True},
}


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    audio: Path
    truth: dict[str, Any]


def find_calls(folder: Path) -> list[Call]:
    calls_dir = folder / "calls" if (folder / "calls").is_dir() else folder
    truth_dir = folder / "truth" if (folder / "truth").is_dir() else folder
    out: list[Call] = []
    for truth_path in sorted(truth_dir.glob("*.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if not isinstance(truth, dict) or "turns" not in truth:
            continue
        stem = Path(str(truth.get("audio") or truth.get("call_id") or truth_path.stem)).stem
        audio = next(
            (p for p in sorted(calls_dir.glob(stem + ".*")) if p.suffix.lower() in AUDIO_SUFFIXES), None
        )
        if audio is not None:
            out.append(Call(str(truth.get("call_id", stem)), audio, truth))
    return out


def plain_whisper(model_spec: str | None, *, beam_size: int = 5) -> Callable[[Path], dict[str, Any]]:
    """Plain faster-whisper ``transcribe()``: language zh, beam 5, VAD on, Traditional → Simplified."""
    model = load_whisper(resolve_model(model_spec))

    def run(path: Path) -> dict[str, Any]:
        segments, info = model.transcribe(str(path), language="zh", beam_size=beam_size, vad_filter=True)
        segs = [
            {"start": s.start, "end": s.end, "speaker": "unknown", "text": to_simplified(s.text)}
            for s in segments
        ]
        return {"audio": path.name, "duration": info.duration, "segments": segs}

    return run


def ours(model_spec: str | None, options: TranscribeOptions) -> Callable[[Path], dict[str, Any]]:
    transcriber = Transcriber(options=options, model=model_spec)

    def run(path: Path) -> dict[str, Any]:
        try:
            return transcriber.transcribe(path).to_json()
        except PartialTranscript as exc:
            return exc.transcript.to_json() | {"error": str(exc)}

    return run


@dataclass
class SystemResult:
    name: str
    scores: list[CallScore]
    seconds: dict[str, float]
    audio_seconds: dict[str, float]
    lines: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        out = summarize(self.scores)
        out["rtf"] = round(sum(self.seconds.values()) / max(1e-9, sum(self.audio_seconds.values())), 3)
        out["seconds"] = round(sum(self.seconds.values()), 1)
        return out


def run_system(
    name: str, system: Callable[[Path], dict[str, Any]], calls: list[Call], *, on_call: Callable[[str], None]
) -> SystemResult:
    result = SystemResult(name, [], {}, {}, [])
    for call in calls:
        on_call(f"{name}: {call.call_id}")
        started = time.perf_counter()
        try:
            line = system(call.audio)
        except InsightsError as exc:
            line = {"audio": call.audio.name, "error": str(exc)}
        result.seconds[call.call_id] = time.perf_counter() - started
        result.audio_seconds[call.call_id] = float(line.get("duration") or call.truth.get("duration") or 0.0)
        result.lines.append(line)
        result.scores.append(score_call(call.truth, line))
    return result


def systems(
    model_spec: str | None, options: TranscribeOptions, ablate: list[str], *, baseline: bool = True
) -> Iterator[tuple[str, Callable[[Path], dict[str, Any]]]]:
    if baseline:
        yield "faster-whisper", plain_whisper(model_spec)
    yield "insights", ours(model_spec, options)
    for step in ablate:
        yield f"insights {step}", ours(model_spec, replace(options, **ABLATIONS[step]))
