"""``insights bench asr FILE``: our whole transcribe vs plain faster-whisper on the same model.

Each run is a fresh subprocess (its peak RSS is its own); models load before the clock starts in
both, so the ratio compares the work on the file: decode + VAD + speakers + ASR + text passes
for ours, plain ``WhisperModel.transcribe`` (language zh, beam 5, VAD on) for the baseline.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from insights.errors import AudioError, ErrorCode


def measure(system: str, audio: str, model: str | None) -> dict[str, Any]:
    from insights.asr.model import load_whisper, resolve_model

    resolved = resolve_model(model)
    whisper = load_whisper(resolved)
    if system == "plain":
        t0 = time.perf_counter()
        segments, info = whisper.transcribe(audio, language="zh", beam_size=5, vad_filter=True)
        n = len(list(segments))
        seconds = time.perf_counter() - t0
        duration = info.duration
    else:
        from insights.asr.speakers import voice_encoder
        from insights.asr.transcribe import Transcriber
        from insights.asr.vocabulary import get_vocabulary

        get_vocabulary()
        voice_encoder()
        transcriber = Transcriber(model=model)
        t0 = time.perf_counter()
        transcript = transcriber.transcribe(Path(audio))
        seconds = time.perf_counter() - t0
        n = len(transcript.segments)
        duration = transcript.duration
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"system": system, "seconds": seconds, "duration": duration, "segments": n, "peak_rss_mb": rss}


def run_bench(audio: Path, *, model: str | None = None, repeat: int = 1) -> list[str]:
    if not audio.is_file():
        raise AudioError(ErrorCode.AUDIO_UNREADABLE, f"{audio}: no such file")
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "ours": []}
    for _ in range(repeat):
        for system in ("plain", "ours"):  # alternate, so that machine noise hits both alike
            cmd = [sys.executable, "-m", "insights.bench.asr", system, str(audio)] + (
                [model] if model else []
            )
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                return [f"{system}: failed: {proc.stderr.strip()[-800:]}"]
            runs[system].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    dur = best["plain"]["duration"] or 1.0
    lines = [
        f"{k}: {r['seconds']:.1f} s for {r['duration']:.1f} s of audio (RTF {r['seconds'] / dur:.3f}), "
        f"{r['segments']} segments, peak RSS {r['peak_rss_mb']:.0f} MB"
        for k, r in (("faster-whisper", best["plain"]), ("insights", best["ours"]))
    ]
    ratio = best["ours"]["seconds"] / max(1e-9, best["plain"]["seconds"])
    lines.append(f"wall-time ratio insights / faster-whisper: {ratio:.3f} (best of {repeat})")
    return lines


if __name__ == "__main__":
    result = measure(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    sys.stdout.write(json.dumps(result) + "\n")
