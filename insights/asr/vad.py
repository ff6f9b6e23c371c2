"""Speech regions with Silero VAD (the ONNX model that faster-whisper ships)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insights.asr.audio import SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class VadParams:
    """Silero settings. Turn-taking pauses on calls are 0.2–1 s, so regions split at short
    silences: a region then rarely holds two speakers, which diarisation relies on."""

    threshold: float = 0.5
    min_silence_ms: int = 200
    min_speech_ms: int = 200
    speech_pad_ms: int = 60
    max_speech_s: float = 28.0


@dataclass(frozen=True, slots=True)
class Region:
    start: float  # seconds
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def speech_regions(
    audio: np.ndarray, params: VadParams | None = None, *, offset: float = 0.0
) -> list[Region]:
    """Speech regions of a 16 kHz float32 array, in seconds from ``offset``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    p = params or VadParams()
    if len(audio) < SAMPLE_RATE // 10:
        return []
    options = VadOptions(
        threshold=p.threshold,
        min_silence_duration_ms=p.min_silence_ms,
        min_speech_duration_ms=p.min_speech_ms,
        speech_pad_ms=p.speech_pad_ms,
        max_speech_duration_s=p.max_speech_s,
    )
    stamps = get_speech_timestamps(audio, options)
    return [Region(offset + s["start"] / SAMPLE_RATE, offset + s["end"] / SAMPLE_RATE) for s in stamps]
