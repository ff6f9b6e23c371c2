"""Decode any call recording into 16 kHz float32 channels, in bounded-memory blocks.

PyAV (the FFmpeg libraries faster-whisper already ships) reads wav, mp3, m4a/aac, ogg/opus,
flac and amr at any rate. Long recordings are never held whole: :func:`iter_blocks` yields
fixed-length blocks (10 minutes by default) that the transcriber processes one after another, so
a two-hour call costs the memory of one block, not of the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from insights.errors import AudioError, ErrorCode

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".aac", ".mp4", ".ogg", ".oga", ".opus", ".flac", ".amr", ".webm", ".wma"}
)
# Below this peak level (about -60 dBFS) a whole file counts as silence.
SILENCE_PEAK = 1e-3


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the container says about a recording, before decoding it."""

    path: Path
    duration: float  # seconds, from the container (0.0 when it does not say)
    channels: int
    sample_rate: int
    codec: str


@dataclass(slots=True)
class Block:
    """``channels`` 16 kHz float32 arrays (one for mono, two for stereo) starting at ``offset`` s."""

    offset: float
    channels: list[np.ndarray]

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE if self.channels else 0.0

    def mono(self) -> np.ndarray:
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)


def probe(path: Path) -> AudioInfo:
    """Open ``path`` and describe its first audio stream, or raise a specific :class:`AudioError`."""
    import av

    if not path.exists():
        raise AudioError(ErrorCode.AUDIO_UNREADABLE, f"{path}: no such file")
    if path.is_dir():
        raise AudioError(ErrorCode.AUDIO_UNREADABLE, f"{path}: is a folder")
    if path.stat().st_size == 0:
        raise AudioError(ErrorCode.AUDIO_EMPTY, f"{path.name}: file is 0 bytes")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(ErrorCode.NOT_AUDIO, f"{path.name}: the file holds no audio stream")
            stream = container.streams.audio[0]
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            if path.suffix.lower() == ".wav":
                duration = max(duration, _wav_declared_seconds(path))
            return AudioInfo(
                path=path,
                duration=duration,
                channels=stream.codec_context.channels or 1,
                sample_rate=stream.codec_context.sample_rate or 0,
                codec=stream.codec_context.name or "",
            )
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises one of many FFmpeg error classes
        raise AudioError(ErrorCode.NOT_AUDIO, f"{path.name}: not a readable audio file ({exc})") from exc


def _wav_declared_seconds(path: Path) -> float:
    """The length a PCM WAV header promises (FFmpeg measures the file instead, which hides a cut)."""
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError, OSError):
        return 0.0


def iter_blocks(path: Path, *, stereo: bool, block_s: float = 600.0) -> Iterator[Block]:
    """Decode ``path`` to 16 kHz float32, ``block_s`` seconds at a time.

    ``stereo`` keeps the two channels apart (a mono file then yields the same signal twice is
    avoided: the caller asks for stereo only when :func:`probe` saw two channels). A decoding
    failure part-way raises :class:`AudioError` ``AUDIO_TRUNCATED`` naming how far it got, after
    the blocks decoded so far were yielded, so the caller keeps what was readable.
    """
    import av

    layout = "stereo" if stereo else "mono"
    n_channels = 2 if stereo else 1
    block_len = int(block_s * SAMPLE_RATE)
    resampler = av.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_len = 0
    emitted = 0

    def flush(limit: int | None) -> Iterator[Block]:
        nonlocal pending, pending_len, emitted
        data = np.concatenate(pending) if len(pending) > 1 else pending[0]
        while len(data) >= (limit or 1):
            take = data[:limit] if limit else data
            yield _to_block(take, emitted, n_channels)
            emitted += len(take)
            data = data[len(take) :]
            if not limit:
                break
        pending = [data] if len(data) else []
        pending_len = len(data)

    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except Exception as exc:
        raise AudioError(ErrorCode.NOT_AUDIO, f"{path.name}: not a readable audio file ({exc})") from exc
    error: Exception | None = None
    with container:
        try:
            for frame in container.decode(audio=0):
                frame.pts = None  # let the resampler re-time frames: broken pts must not stop us
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1, n_channels)
                    pending.append(arr)
                    pending_len += len(arr)
                if pending_len >= block_len:
                    yield from flush(block_len)
            for out in resampler.resample(None):
                arr = out.to_ndarray().reshape(-1, n_channels)
                pending.append(arr)
                pending_len += len(arr)
        except Exception as exc:  # corrupt or cut-off data part-way through
            error = exc
    if pending_len:
        yield from flush(None)
    if error is not None:
        raise AudioError(
            ErrorCode.AUDIO_TRUNCATED,
            f"{path.name}: decoding stopped at {emitted / SAMPLE_RATE:.1f} s ({error})",
        )
    if emitted == 0:
        raise AudioError(ErrorCode.AUDIO_EMPTY, f"{path.name}: no audio samples could be decoded")


def _to_block(data: np.ndarray, start: int, n_channels: int) -> Block:
    floats = data.astype(np.float32) / 32768.0
    return Block(offset=start / SAMPLE_RATE, channels=[floats[:, k].copy() for k in range(n_channels)])


def decode(path: Path, *, stereo: bool = False) -> Block:
    """The whole file as one block (for short clips, tests and tools; the transcriber streams)."""
    blocks = list(iter_blocks(path, stereo=stereo, block_s=10**9))
    if len(blocks) == 1:
        return blocks[0]
    return Block(
        0.0, [np.concatenate([b.channels[k] for b in blocks]) for k in range(len(blocks[0].channels))]
    )
