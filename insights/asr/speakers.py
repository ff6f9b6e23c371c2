"""Who speaks when, and which of the two speakers is the doctor.

Stereo recordings with a sidecar ``channels`` map are separated by channel. Otherwise speech
regions are embedded with resemblyzer's speaker encoder (shipped in its wheel), clustered into two
voices, and the voices are named ``caller``/``hcp`` from what they say (:func:`assign_roles`), or
from an enrolled voice print of the caller (:mod:`insights.asr.voices`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from insights.asr.audio import SAMPLE_RATE
from insights.asr.vad import Region

logger = logging.getLogger(__name__)

CALLER, HCP, UNKNOWN = "caller", "hcp", "unknown"
ROLES = (CALLER, HCP, UNKNOWN)
# Regions longer than this are cut into windows of this length before embedding, so that a
# speaker change inside one region (no pause between turns) is still found.
WINDOW_S = 3.0
MIN_EMBED_S = 0.5


@dataclass(slots=True)
class Unit:
    """A stretch of one speaker's speech: ``speaker`` is a role or a voice label (``v0``/``v1``)."""

    start: float
    end: float
    channel: int
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def channel_units(regions_per_channel: Sequence[Sequence[Region]], labels: Sequence[str]) -> list[Unit]:
    """Units from per-channel speech regions; ``labels[k]`` names channel ``k``."""
    units = [
        Unit(r.start, r.end, k, labels[k]) for k, regions in enumerate(regions_per_channel) for r in regions
    ]
    units.sort(key=lambda u: (u.start, u.channel))
    return units


def split_windows(regions: Sequence[Region], *, window_s: float = WINDOW_S) -> list[Region]:
    """Cut long regions into near-equal windows of at most ``window_s`` seconds."""
    out: list[Region] = []
    for r in regions:
        n = max(1, int(np.ceil(r.duration / window_s)))
        step = r.duration / n
        out.extend(Region(r.start + i * step, r.start + (i + 1) * step) for i in range(n))
    return out


_encoder_lock = threading.Lock()
_encoder: Any = None


def voice_encoder() -> Any:
    """resemblyzer's ``VoiceEncoder`` on the CPU, loaded once per process."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            from resemblyzer import VoiceEncoder

            _encoder = VoiceEncoder("cpu", verbose=False)
            # The first pass pays for lazy initialisation in librosa and torch (about 2 s): pay it
            # at load time, with the model, not inside the first call's transcription.
            noise = np.random.default_rng(0).normal(0, 0.01, 2 * SAMPLE_RATE).astype(np.float32)
            _embed_with(_encoder, noise, [Region(0.0, 2.0)], 0.0)
        return _encoder


PARTIAL_FRAMES = 160  # resemblyzer's partial utterance: 1.6 s of 10 ms mel frames
PARTIAL_STEP = 80


def embed(audio: np.ndarray, regions: Sequence[Region], *, offset: float = 0.0) -> np.ndarray:
    """One L2-normalised 256-d voice embedding per region of ``audio`` (which starts at ``offset``).

    resemblyzer's own ``embed_utterance`` runs the LSTM once per region; here the 1.6 s partial
    windows of all regions go through it as one batch, which is several times faster on a CPU.
    The mel features and the averaging of partials are resemblyzer's.
    """
    return _embed_with(voice_encoder(), audio, regions, offset)


def _embed_with(encoder: Any, audio: np.ndarray, regions: Sequence[Region], offset: float) -> np.ndarray:
    import torch
    from resemblyzer.audio import wav_to_mel_spectrogram

    partials: list[np.ndarray] = []
    owner: list[int] = []
    min_len = int(MIN_EMBED_S * SAMPLE_RATE)
    for i, r in enumerate(regions):
        a = max(0, int((r.start - offset) * SAMPLE_RATE))
        b = max(a, int((r.end - offset) * SAMPLE_RATE))
        clip = audio[a:b].astype(np.float32)
        if len(clip) < min_len:
            clip = np.pad(clip, (0, min_len - len(clip)))
        mel = wav_to_mel_spectrogram(clip)
        if len(mel) < PARTIAL_FRAMES:
            mel = np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))
        starts = list(range(0, len(mel) - PARTIAL_FRAMES + 1, PARTIAL_STEP)) or [0]
        if starts[-1] + PARTIAL_FRAMES < len(mel):
            starts.append(len(mel) - PARTIAL_FRAMES)
        for s0 in starts:
            partials.append(mel[s0 : s0 + PARTIAL_FRAMES])
            owner.append(i)
    out = np.zeros((len(regions), 256), dtype=np.float32)
    if not partials:
        return out
    with torch.no_grad():
        vectors = encoder(torch.from_numpy(np.stack(partials))).cpu().numpy()
    for k, i in enumerate(owner):
        out[i] += vectors[k]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


class VoiceClusters:
    """Two-voice clustering that stays consistent across the blocks of a long recording.

    The first block with enough speech fixes two centroids (agglomerative clustering, cosine);
    later regions join the nearer centroid, which drifts slowly toward them.
    """

    def __init__(self, *, n_voices: int = 2) -> None:
        self.n_voices = n_voices
        self.centroids: np.ndarray | None = None
        self.counts = np.zeros(n_voices)

    def assign(self, vectors: np.ndarray, durations: Sequence[float]) -> list[int]:
        if len(vectors) == 0:
            return []
        if self.centroids is None:
            if len(vectors) < self.n_voices:
                return [0] * len(vectors)
            labels = _agglomerate(vectors, self.n_voices, durations)
            self.centroids = np.stack(
                [
                    _unit(np.average(vectors[labels == k], axis=0, weights=_w(durations, labels == k)))
                    for k in range(self.n_voices)
                ]
            )
            self.counts = np.array([float(np.sum(labels == k)) for k in range(self.n_voices)])
            return [int(x) for x in labels]
        out: list[int] = []
        for v in vectors:
            k = int(np.argmax(self.centroids @ v))
            self.counts[k] += 1
            rate = 1.0 / self.counts[k]
            self.centroids[k] = _unit((1 - rate) * self.centroids[k] + rate * v)
            out.append(k)
        return out


def _w(durations: Sequence[float], mask: np.ndarray) -> np.ndarray:
    return np.asarray(durations, dtype=np.float64)[mask] + 1e-6


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) + 1e-9)


def _agglomerate(vectors: np.ndarray, k: int, durations: Sequence[float] | None = None) -> np.ndarray:
    """Two (k) voices, robust to short odd stretches (a spliced-in English term, a cough).

    Plain two-cluster agglomeration tends to set one outlier window apart as a "voice" and merge
    the two real speakers. So: over-cluster into up to ``k + 3`` groups, seed the k voices with the
    groups that hold the most speech, then refine with a few rounds of cosine k-means.
    """
    from sklearn.cluster import AgglomerativeClustering

    n = len(vectors)
    if n <= k:
        return np.arange(n) % k
    groups = min(n, k + 3)
    labels = np.asarray(
        AgglomerativeClustering(n_clusters=groups, metric="cosine", linkage="average").fit_predict(vectors)
    )
    weight = np.asarray(durations if durations is not None else np.ones(n), dtype=np.float64)
    mass = [float(weight[labels == g].sum()) for g in range(groups)]
    seeds = sorted(range(groups), key=lambda g: -mass[g])[:k]
    centroids = np.stack([_unit(vectors[labels == g].mean(axis=0)) for g in seeds])
    assign = np.argmax(vectors @ centroids.T, axis=1)
    for _ in range(10):
        new = []
        for j in range(k):
            members = vectors[assign == j]
            new.append(_unit(members.mean(axis=0)) if len(members) else centroids[j])
        centroids = np.stack(new)
        updated = np.argmax(vectors @ centroids.T, axis=1)
        if np.array_equal(updated, assign):
            break
        assign = updated
    return np.asarray(assign)


def smooth(labels: list[int], durations: Sequence[float], *, max_island_s: float = 0.6) -> list[int]:
    """A very short window voiced differently from both neighbours (that agree) is an error."""
    out = list(labels)
    for i in range(1, len(out) - 1):
        if out[i - 1] == out[i + 1] != out[i] and durations[i] <= max_island_s:
            out[i] = out[i - 1]
    return out


# What each party tends to say on a field call. The caller addresses the doctor as 您 and by title,
# introduces themselves and their company, and asks for time; the doctor speaks of "my patients",
# "our department", and answers the caller as 你/你们.
_CALLER_CUES = re.compile(
    r"您|主任|老师|教授|我是.{1,12}的|打扰|拜访|我们公司|我们的产品|我们医学部|给您|方便吗|资料|会议|学术|"
    r"感谢|谢谢您|推荐一下|介绍一下|跟您"
)
_HCP_CUES = re.compile(
    r"你们|你说|你这|你那|我们科|我们医院|我的病人|我们的病人|病人|患者|我一般|我还是|我们这边|临床上|"
    r"门诊|我会|我不太|我觉得|开药|处方|喂"
)


def role_scores(text: str) -> tuple[int, int]:
    """(caller cue count, doctor cue count) in ``text``."""
    return len(_CALLER_CUES.findall(text)), len(_HCP_CUES.findall(text))


def assign_roles(texts: dict[str, str], *, first_voice: str | None = None) -> dict[str, str]:
    """Name two voices ``caller`` and ``hcp`` from their words.

    ``texts`` maps voice label → everything that voice said. Each voice gets (caller cues −
    doctor cues) per 100 characters; the voice with the higher score is the caller. A tie (or a
    single voice) falls back to the opening: calls usually open with the caller.
    """
    voices = list(texts)
    if not voices:
        return {}
    if len(voices) == 1:
        v = voices[0]
        c, h = role_scores(texts[v])
        return {v: CALLER if c > h else HCP if h > c else UNKNOWN}

    def score(v: str) -> float:
        c, h = role_scores(texts[v])
        return (c - h) / max(20, len(texts[v])) * 100

    ranked = sorted(voices, key=score, reverse=True)
    if abs(score(ranked[0]) - score(ranked[1])) < 1e-6 and first_voice in voices:
        caller = first_voice
    else:
        caller = ranked[0]
    return {v: (CALLER if v == caller else HCP) for v in voices}
