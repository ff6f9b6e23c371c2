"""Make redistributable test calls: espeak-ng's Mandarin voice, two speakers, any container.

Used by the tests (each input format, stereo by channel, mono diarisation) and by ``make demo``
(an example call the repository can ship without licence questions: everything is generated).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from insights.asr.audio import SAMPLE_RATE

# Container → (PyAV codec, sample format, rate to encode at).
FORMATS: dict[str, tuple[str, str, int]] = {
    ".wav": ("pcm_s16le", "s16", 16_000),
    ".flac": ("flac", "s16", 16_000),
    ".mp3": ("libmp3lame", "s16p", 16_000),
    ".m4a": ("aac", "fltp", 16_000),
    ".ogg": ("libopus", "s16", 48_000),
    ".opus": ("libopus", "s16", 48_000),
    ".amr": ("libopencore_amrnb", "s16", 8_000),
}


@dataclass(frozen=True, slots=True)
class Voice:
    """An espeak-ng voice: Mandarin with a variant, pitch (0–99) and speed (words/min)."""

    variant: str = "m3"
    pitch: int = 50
    speed: int = 150


CALLER_VOICE = Voice("m3", pitch=25, speed=160)
HCP_VOICE = Voice("f2", pitch=75, speed=140)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def to_pinyin(text: str) -> str:
    """Chinese → tone-numbered pinyin (你好 → ni3 hao3), punctuation kept as pauses.

    Debian's espeak-ng ships the small Mandarin dictionary, with which its ``cmn`` voice reads
    characters as pinyin *with the tone digits spoken in English*; Whisper then hears numbers.
    The ``cmn-latn-pinyin`` voice reads tone-numbered pinyin as Mandarin syllables instead.
    """
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


def speak(text: str, voice: Voice = CALLER_VOICE) -> np.ndarray:
    """``text`` spoken by espeak-ng's Mandarin (pinyin) voice, as 16 kHz float32."""
    from insights.asr.audio import decode

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(
            [
                exe,
                "-v",
                f"cmn-latn-pinyin+{voice.variant}",
                "-p",
                str(voice.pitch),
                "-s",
                str(voice.speed),
                "-w",
                str(wav),
                to_pinyin(text),
            ],
            check=True,
            capture_output=True,
        )
        return decode(wav).channels[0]


def write_audio(path: Path, channels: Sequence[np.ndarray], *, codec: str | None = None) -> Path:
    """Encode 16 kHz float32 channels (one or two) into the container ``path``'s suffix names."""
    import av

    suffix = path.suffix.lower()
    name, fmt, rate = FORMATS[suffix]
    if codec:
        name = codec
    layout = "stereo" if len(channels) == 2 else "mono"
    if suffix == ".amr":
        layout = "mono"
        channels = [np.mean(np.stack(channels), axis=0)] if len(channels) > 1 else channels
    data = np.stack([np.clip(c, -1, 1) for c in channels])  # (channels, samples)
    pcm = (data * 32767).astype(np.int16)
    with av.open(str(path), mode="w") as container:
        stream: Any = container.add_stream(name, rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(
            pcm.T.reshape(1, -1).copy() if len(channels) == 2 else pcm, format="s16", layout=layout
        )
        frame.sample_rate = SAMPLE_RATE
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str  # "caller" or "hcp"
    text: str


def make_call(
    turns: Sequence[Turn], *, stereo: bool, pause_s: float = 0.6, lead_s: float = 0.5
) -> tuple[list[np.ndarray], list[tuple[str, float, float]]]:
    """Render a two-party call. Returns the channels (caller left, doctor right when stereo) and
    the true timeline ``[(speaker, start, end)]``."""
    voices = {"caller": CALLER_VOICE, "hcp": HCP_VOICE}
    timeline: list[tuple[str, float, float]] = []
    parts: list[tuple[str, np.ndarray]] = []
    pos = lead_s
    for t in turns:
        audio = speak(t.text, voices[t.speaker])
        timeline.append((t.speaker, pos, pos + len(audio) / SAMPLE_RATE))
        parts.append((t.speaker, audio))
        pos += len(audio) / SAMPLE_RATE + pause_s
    total = int((pos + lead_s) * SAMPLE_RATE)
    left = np.zeros(total, np.float32)
    right = np.zeros(total, np.float32)
    for (speaker, start, _), (_, audio) in zip(timeline, parts, strict=True):
        a = int(start * SAMPLE_RATE)
        target = left if (speaker == "caller" or not stereo) else right
        target[a : a + len(audio)] += audio
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 0.002, total).astype(np.float32) for _ in range(2)]
    if stereo:
        return [left + noise[0], right + noise[1]], timeline
    return [left + noise[0]], timeline


DEMO_TURNS = (
    Turn("caller", "王主任您好，我是阿斯利康的小李，打扰您两分钟，想跟您聊聊奥希替尼联合化疗的新数据。"),
    Turn("hcp", "你说吧，我下午还有门诊。"),
    Turn("caller", "联合组的无进展生存期延长了将近九个月，脑转移的病人获益更明显。"),
    Turn("hcp", "数据是不错，但是我们的病人一听要加化疗，好多都不愿意，我还是首选单药奥希替尼。"),
    Turn("caller", "明白，那下个月我们医学部的老师过来给您讲讲亚组数据，您看方便吗？"),
    Turn("hcp", "可以，到时候你跟我们科秘书约时间。"),
)
