"""The transcription pipeline: one recording in, timed, speaker-labelled Simplified text out.

Stages, per block of at most ten minutes (so memory stays bounded on long calls):

1. VAD per channel (stereo) or on the mix (mono) → speech regions;
2. speakers: stereo → the channel says who; mono → voice embeddings + two-voice clustering;
3. a *tape* of the block's speech regions in time order (each region cut from its own channel,
   0.4 s of silence between regions) is transcribed once by Whisper with word timestamps, a
   domain prompt and hotwords. Packing regions keeps the encoder at one pass per 30 s of speech,
   as plain faster-whisper does, instead of one pass per turn;
4. every word goes back to the region it came from, so a segment never straddles a speaker change;
   consecutive words of one region form a segment at that region's original time;
5. text: Simplified, artefacts and loops removed, punctuation, near-miss domain terms corrected.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from insights.asr import text as textpass
from insights.asr.audio import SAMPLE_RATE, SILENCE_PEAK, AudioInfo, Block, iter_blocks, probe
from insights.asr.model import ResolvedModel, load_whisper, model_label, resolve_model
from insights.asr.speakers import (
    CALLER,
    HCP,
    UNKNOWN,
    Unit,
    VoiceClusters,
    assign_roles,
    channel_units,
    embed,
    smooth,
    split_windows,
)
from insights.asr.vad import Region, VadParams, speech_regions
from insights.asr.vocabulary import Vocabulary, get_vocabulary
from insights.config import Settings, get_settings
from insights.errors import AudioError, ErrorCode, InsightsError

logger = logging.getLogger(__name__)

GAP_S = 0.4  # silence between regions on the tape: Whisper ends words there
RECOVER_MIN_S = 0.8  # a unit this long that got no words is decoded again on its own
# Whisper falls back to sampling on windows it is unsure of; a fixed seed makes a file's
# transcript the same on every run.
DECODE_SEED = 20260314
# faster-whisper's own thresholds for a failed window (temperature fallback).
COMPRESSION_LIMIT = 2.4
LOGPROB_FLOOR = -1.0
# A batched window whose words cover less of its speech than this ended early: decode it again.
MIN_COVERAGE = 0.7
Progress = Callable[[float, float], None]  # (seconds done, total seconds)


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """What to run; every step can be switched off to measure what it adds (``insights eval asr``)."""

    language: str = "zh"
    beam_size: int | None = None  # None: Settings.asr_beam_size
    block_s: float = 600.0
    vad: VadParams = field(default_factory=VadParams)
    diarize: bool = True
    # Off by default: measured on the 12 dev calls, a domain prompt or hotwords made Whisper base
    # loop and drop speech (CER up, 2× slower); see the closing note of the transcription issue.
    domain_prompt: bool = False
    correct_terms: bool = True
    punctuate: bool = True
    # Off by default: faster-whisper's batched pipeline decodes without timestamps or temperature
    # fallback, and on packed turns it often stopped after the first turn of a window.
    batched: bool = False


@dataclass(slots=True)
class Segment:
    start: float
    end: float
    speaker: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 2),
            "end": round(self.end, 2),
            "speaker": self.speaker,
            "text": self.text,
        }


@dataclass(slots=True)
class Transcript:
    audio: str
    duration: float
    language: str
    model: str
    segments: list[Segment]
    therapy_area: str | None = None
    corrections: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # wall time spent

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "audio": self.audio,
            "duration": round(self.duration, 2),
            "language": self.language,
            "model": self.model,
            "segments": [s.to_json() for s in self.segments],
        }
        if self.therapy_area:
            out["therapy_area"] = self.therapy_area
        if self.corrections:
            out["corrections"] = self.corrections
        return out


def read_sidecar(audio: Path) -> dict[str, Any] | None:
    """The call metadata beside ``audio`` (``AUDIO_STEM.json``), if any; invalid JSON is an error."""
    path = audio.with_suffix(".json")
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AudioError(ErrorCode.SIDECAR_INVALID, f"{path.name}: {exc}") from exc
    if not isinstance(meta, dict):
        raise AudioError(ErrorCode.SIDECAR_INVALID, f"{path.name}: must be a JSON object")
    return meta


def channel_labels(meta: dict[str, Any] | None) -> list[str] | None:
    """``["caller", "hcp"]`` from a sidecar's ``channels`` map, or None when it gives none."""
    channels = (meta or {}).get("channels")
    if not isinstance(channels, dict):
        return None
    left, right = channels.get("left"), channels.get("right")
    if left in (CALLER, HCP, UNKNOWN) and right in (CALLER, HCP, UNKNOWN):
        return [str(left), str(right)]
    raise AudioError(
        ErrorCode.SIDECAR_INVALID, "'channels' must map left and right to caller, hcp or unknown"
    )


class Transcriber:
    """Loads its models on first use and transcribes one file at a time (thread-confined)."""

    def __init__(
        self,
        *,
        options: TranscribeOptions | None = None,
        model: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.options = options or TranscribeOptions()
        self.settings = settings or get_settings()
        self._model_spec = model
        self._resolved: ResolvedModel | None = None

    @property
    def resolved(self) -> ResolvedModel:
        if self._resolved is None:
            self._resolved = resolve_model(self._model_spec, settings=self.settings)
        return self._resolved

    def transcribe(
        self, path: Path, *, meta: dict[str, Any] | None = None, progress: Progress | None = None
    ) -> Transcript:
        started = time.perf_counter()
        info = probe(path)
        if info.duration > self.settings.max_audio_seconds:
            raise AudioError(
                ErrorCode.AUDIO_TOO_LONG,
                f"{path.name}: {info.duration:.0f} s is over the limit of "
                f"{self.settings.max_audio_seconds:.0f} s",
            )
        if meta is None:
            meta = read_sidecar(path)
        labels = channel_labels(meta)
        stereo = info.channels >= 2
        vocab = get_vocabulary()
        areas = vocab.areas_for_department(((meta or {}).get("hcp") or {}).get("department"))
        model = load_whisper(self.resolved, settings=self.settings)
        _seed_decoder()
        clusters = VoiceClusters()
        raw: list[tuple[Unit, str]] = []
        decoded = 0.0
        peak = 0.0
        context = ""
        truncated: AudioError | None = None
        blocks = iter_blocks(path, stereo=stereo, block_s=self.options.block_s)
        try:
            for block in blocks:
                decoded = block.offset + block.duration
                peak = max(peak, max(float(np.max(np.abs(c))) if len(c) else 0.0 for c in block.channels))
                units = self._units(block, labels, clusters)
                if units:
                    prompt, hotwords = (
                        vocab.prompt(areas, context) if self.options.domain_prompt else (None, None)
                    )
                    pieces = self._recognise(model, block, units, prompt=prompt, hotwords=hotwords)
                    raw.extend(pieces)
                    said = "".join(t for _, t in pieces)
                    if self.options.domain_prompt and not context:
                        # The first block names the therapy area; later blocks use the narrowed terms.
                        context = said
                        areas = vocab.infer_areas(said, prior=areas)
                if progress is not None:
                    progress(decoded, max(info.duration, decoded))
        except AudioError as exc:
            if exc.code != ErrorCode.AUDIO_TRUNCATED or not raw:
                raise
            truncated = exc
        if peak < SILENCE_PEAK:
            raise AudioError(
                ErrorCode.AUDIO_SILENT, f"{path.name}: the recording is silent (peak {peak:.1e})"
            )
        areas = vocab.infer_areas("".join(t for _, t in raw), prior=areas)
        segments, corrections = self._finish(raw, vocab, areas, enrolled=_enrolled_voice(meta, clusters))
        if not segments:
            raise AudioError(
                ErrorCode.AUDIO_SILENT, f"{path.name}: no speech was found in {decoded:.1f} s of audio"
            )
        transcript = Transcript(
            audio=path.name,
            duration=max(info.duration, decoded) if truncated is None else decoded,
            language=self.options.language,
            model=model_label(self.resolved, settings=self.settings),
            segments=segments,
            therapy_area=areas[0] if len(areas) == 1 else None,
            corrections=corrections,
            seconds=time.perf_counter() - started,
        )
        if truncated is not None:
            # Keep what was readable, and say why the rest is missing.
            raise PartialTranscript(truncated, transcript)
        if info.duration and decoded < info.duration * 0.9 - 1.0:
            raise PartialTranscript(
                AudioError(
                    ErrorCode.AUDIO_TRUNCATED,
                    f"{path.name}: the file says {info.duration:.1f} s "
                    f"but only {decoded:.1f} s could be decoded",
                ),
                transcript,
            )
        return transcript

    # -- stages -----------------------------------------------------------------------------

    def _units(self, block: Block, labels: list[str] | None, clusters: VoiceClusters) -> list[Unit]:
        vad = self.options.vad
        if len(block.channels) == 2 and not _same_signal(block.channels[0], block.channels[1]):
            per_channel = [speech_regions(c, vad, offset=block.offset) for c in block.channels]
            names = labels or ["v0", "v1"]
            return channel_units(per_channel, names)
        mono = block.mono()
        regions = speech_regions(mono, vad, offset=block.offset)
        if not self.options.diarize:
            return [Unit(r.start, r.end, -1, UNKNOWN) for r in regions]
        windows = split_windows(regions)
        if not windows:
            return []
        vectors = embed(mono, windows, offset=block.offset)
        durations = [w.duration for w in windows]
        voice = smooth(clusters.assign(vectors, durations), durations)
        return [Unit(w.start, w.end, -1, f"v{k}") for w, k in zip(windows, voice, strict=True)]

    def _recognise(
        self, model: Any, block: Block, units: list[Unit], *, prompt: str | None, hotwords: str | None
    ) -> list[tuple[Unit, str]]:
        """Transcribe the block's units as one tape; return (unit, text) for each unit that has words."""
        gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
        mono = block.mono() if any(u.channel < 0 for u in units) else None
        pieces: list[np.ndarray] = []
        spans: list[tuple[float, float]] = []  # tape start, tape end per unit
        pos = 0
        for u in units:
            source = mono if mono is not None and u.channel < 0 else block.channels[max(u.channel, 0)]
            a = int((u.start - block.offset) * SAMPLE_RATE)
            b = int((u.end - block.offset) * SAMPLE_RATE)
            clip = source[max(0, a) : max(a, b)]
            spans.append((pos / SAMPLE_RATE, (pos + len(clip)) / SAMPLE_RATE))
            pieces.extend((clip, gap))
            pos += len(clip) + len(gap)
        tape = np.concatenate(pieces)
        beam = self.options.beam_size or self.settings.asr_beam_size
        if self.options.batched:
            # Windows of whole units, at most 30 s of tape each, decoded side by side.
            clips: list[dict[str, float]] = []  # seconds on the tape
            for t0, t1 in spans:
                if clips and t1 + GAP_S - clips[-1]["start"] <= 29.5:
                    clips[-1]["end"] = t1 + GAP_S / 2
                else:
                    clips.append({"start": t0, "end": t1 + GAP_S / 2})
            batched, _ = _batched(model).transcribe(
                tape,
                language=self.options.language,
                beam_size=beam,
                clip_timestamps=clips,
                batch_size=self.settings.asr_batch_size,
                word_timestamps=True,
                initial_prompt=prompt,
                hotwords=hotwords,
            )
            segments = self._with_fallback(model, tape, clips, spans, list(batched), beam=beam)
        else:
            segments = list(
                model.transcribe(
                    tape,
                    language=self.options.language,
                    beam_size=beam,
                    vad_filter=False,
                    word_timestamps=True,
                    condition_on_previous_text=True,
                    # The tape holds only what VAD found to be speech: Whisper's own no-speech
                    # skip would drop whole windows of flat, synthetic or phone-band voices.
                    no_speech_threshold=None,
                    initial_prompt=prompt,
                    hotwords=hotwords,
                )[0]
            )
        texts = [""] * len(units)
        for seg in segments:
            for w in seg.words or ():
                texts[_nearest_span(spans, w.start, w.end)] += w.word
        for i, (t0, t1) in enumerate(spans):
            if not texts[i].strip() and t1 - t0 >= RECOVER_MIN_S:
                texts[i] = self._recover(model, tape, t0, t1, beam=beam)
        return [(u, t) for u, t in zip(units, texts, strict=True) if t.strip()]

    def _recover(self, model: Any, tape: np.ndarray, start: float, end: float, *, beam: int) -> str:
        """Decode one unit alone when the pass over the whole tape gave it no words.

        On a long tape Whisper sometimes skips a stretch: a timestamp jump, or a window that fell
        back to sampling and came out as something the clean-up drops. The unit's own clip, without
        the previous text as context, nearly always decodes.
        """
        pad = int(GAP_S / 2 * SAMPLE_RATE)
        clip = tape[max(0, int(start * SAMPLE_RATE) - pad) : int(end * SAMPLE_RATE) + pad]
        segments, _ = model.transcribe(
            clip,
            language=self.options.language,
            beam_size=beam,
            vad_filter=False,
            condition_on_previous_text=False,
            no_speech_threshold=None,
        )
        return "".join(seg.text for seg in segments)

    def _with_fallback(
        self,
        model: Any,
        tape: np.ndarray,
        clips: list[dict[str, float]],
        spans: list[tuple[float, float]],
        segments: list[Any],
        *,
        beam: int,
    ) -> list[Any]:
        """Re-decode the windows the batched pass got wrong, sequentially with temperature fallback.

        The batched pipeline decodes at temperature 0 only and without timestamps, so a window
        that loops, that the model is unsure of, or that it ends early (Whisper often stops after
        the first turn of a window and drops the rest) stays wrong. faster-whisper's own thresholds
        (compression ratio > 2.4, average log-probability < -1) and the share of the window's
        speech that its words cover find those windows; only they pay for a second pass.
        """
        by_clip: list[list[Any]] = [[] for _ in clips]
        starts = [c["start"] for c in clips]
        for seg in segments:
            k = max(0, int(np.searchsorted(starts, seg.start + 0.05, side="right")) - 1)
            by_clip[k].append(seg)
        out: list[Any] = []
        for clip, segs in zip(clips, by_clip, strict=True):
            bad = (
                not segs
                or any(s.compression_ratio > COMPRESSION_LIMIT or s.avg_logprob < LOGPROB_FLOOR for s in segs)
                or _coverage(clip, spans, segs) < MIN_COVERAGE
            )
            if not bad:
                out.extend(segs)
                continue
            a = int(clip["start"] * SAMPLE_RATE)
            b = int(clip["end"] * SAMPLE_RATE)
            redo, _ = model.transcribe(
                tape[a:b],
                language=self.options.language,
                beam_size=beam,
                vad_filter=False,
                word_timestamps=True,
                condition_on_previous_text=False,
            )
            for seg in redo:
                for w in seg.words or ():
                    w.start += clip["start"]
                    w.end += clip["start"]
                out.append(seg)
        return out

    def _finish(
        self, raw: list[tuple[Unit, str]], vocab: Vocabulary, areas: list[str], *, enrolled: str | None
    ) -> tuple[list[Segment], list[dict[str, Any]]]:
        # Name voices (mono, or stereo without a channel map) from what each said.
        voices = {u.speaker for u, _ in raw if u.speaker.startswith("v")}
        roles: dict[str, str] = {}
        if enrolled is not None and enrolled in voices:
            roles = {v: (CALLER if v == enrolled else HCP) for v in voices}
        elif voices:
            said: dict[str, str] = {}
            for u, t in raw:
                if u.speaker in voices:
                    said[u.speaker] = said.get(u.speaker, "") + t
            first = next((u.speaker for u, _ in raw if u.speaker in voices), None)
            roles = assign_roles(said, first_voice=first)
        merged: list[Segment] = []
        for u, t in raw:
            speaker = roles.get(u.speaker, u.speaker)
            if speaker not in (CALLER, HCP, UNKNOWN):
                speaker = UNKNOWN
            if merged and merged[-1].speaker == speaker and u.start - merged[-1].end < 1.0:
                merged[-1].end = max(merged[-1].end, u.end)
                merged[-1].text += t
            else:
                merged.append(Segment(u.start, u.end, speaker, t))
        out: list[Segment] = []
        corrections: list[dict[str, Any]] = []

        def fix(text: str) -> str:
            text, fixed = vocab.correct(text, areas)
            corrections.extend(fixed)
            return text

        for seg in merged:
            seg.text = textpass.clean(
                seg.text,
                duration=seg.end - seg.start,
                fix=fix if self.options.correct_terms else None,
                add_punctuation=self.options.punctuate,
            )
            if seg.text:
                out.append(seg)
        return out, corrections


class PartialTranscript(InsightsError):
    """The file broke off part-way: ``transcript`` holds what was readable."""

    def __init__(self, cause: AudioError, transcript: Transcript) -> None:
        super().__init__(cause.code, cause.detail)
        self.transcript = transcript


def _enrolled_voice(meta: dict[str, Any] | None, clusters: VoiceClusters) -> str | None:
    """The voice label of the caller when the sidecar names one with an enrolled print."""
    caller_id = (meta or {}).get("caller_id")
    if not isinstance(caller_id, str) or clusters.centroids is None:
        return None
    from insights.asr import voices

    print_vector = voices.load(caller_id)
    if print_vector is None:
        return None
    k = voices.caller_voice(clusters.centroids, print_vector)
    return None if k is None else f"v{k}"


def _seed_decoder() -> None:
    import ctranslate2

    ctranslate2.set_random_seed(DECODE_SEED)


_pipelines: dict[int, Any] = {}


def _batched(model: Any) -> Any:
    """faster-whisper's batched pipeline over ``model`` (one per model object)."""
    from faster_whisper import BatchedInferencePipeline

    key = id(model)
    if key not in _pipelines:
        _pipelines[key] = BatchedInferencePipeline(model)
    return _pipelines[key]


def _coverage(clip: dict[str, float], spans: list[tuple[float, float]], segments: list[Any]) -> float:
    """Share of the speech spans inside ``clip`` that lie before the last word's end."""
    inside = [(a, b) for a, b in spans if a >= clip["start"] - 1e-6 and b <= clip["end"] + 1e-6]
    total = sum(b - a for a, b in inside)
    if total <= 0:
        return 1.0
    last = max((w.end for s in segments for w in (s.words or ())), default=clip["start"])
    covered = sum(max(0.0, min(b, last) - a) for a, b in inside)
    return covered / total


def _nearest_span(spans: list[tuple[float, float]], start: float, end: float) -> int:
    """The tape span a word belongs to: the one it overlaps most, else the nearest one."""
    best, best_key = 0, (-1.0, 0.0)
    for i, (a, b) in enumerate(spans):
        overlap = min(b, end) - max(a, start)
        distance = 0.0 if overlap > 0 else min(abs(a - end), abs(start - b))
        key = (max(overlap, 0.0), -distance)
        if key > best_key:
            best, best_key = i, key
    return best


def _same_signal(left: np.ndarray, right: np.ndarray) -> bool:
    """A stereo file whose two channels carry the same mix is treated as mono."""
    if len(left) != len(right) or not len(left):
        return True
    diff = float(np.mean(np.abs(left - right)))
    level = float(np.mean(np.abs(left)) + np.mean(np.abs(right))) / 2
    return diff < 0.05 * level + 1e-7


def transcribe_many(
    paths: list[Path],
    *,
    transcriber: Transcriber,
    on_progress: Callable[[Path], Progress | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One JSON-ready line per file (spec §4): a transcript, or ``{"audio", "error", "code"}``."""
    for path in paths:
        try:
            progress = on_progress(path) if on_progress else None
            yield transcriber.transcribe(path, progress=progress).to_json()
        except PartialTranscript as exc:
            line = exc.transcript.to_json()
            line.update({"error": str(exc), "code": exc.code.value})
            yield line
        except InsightsError as exc:
            yield {"audio": path.name, "error": str(exc), "code": exc.code.value}
        except Exception as exc:  # one bad file never stops the batch
            logger.exception("transcription failed for %s", path)
            yield {
                "audio": path.name,
                "error": f"[{ErrorCode.INTERNAL.value}] {exc}",
                "code": ErrorCode.INTERNAL.value,
            }


__all__ = [
    "AudioInfo",
    "PartialTranscript",
    "Region",
    "Segment",
    "TranscribeOptions",
    "Transcriber",
    "Transcript",
    "transcribe_many",
]
