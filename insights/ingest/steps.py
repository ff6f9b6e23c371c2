"""The pipeline of one source, as idempotent steps that take a source id.

call:            transcribe → analyse → write back
paper, consult:  analyse → write back

Each step reads what it needs from the store, does its work outside any transaction (a call's
transcription takes minutes), then writes its result in one transaction and advances
``Source.status``. A step whose result is already stored returns at once, so a redelivered task or
a re-run ingest resumes where the last run stopped and never writes anything twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from insights.doc import Doc
from insights.errors import ErrorCode, IngestError
from insights.store.models import Segment, SentenceRow, Source
from insights.store.session import session_scope

logger = logging.getLogger(__name__)

PENDING, TRANSCRIBED, ANALYSED, DONE, FAILED = "pending", "transcribed", "analysed", "done", "failed"
ORDER = {PENDING: 0, FAILED: 0, TRANSCRIBED: 1, ANALYSED: 2, DONE: 3}
# Earlier turns of a call given to the analyser to resolve 这个药 / 它 to a concept.
CONTEXT_CHARS = 600

Progress = Callable[[float], None]

_transcriber: Any = None
_lock = threading.Lock()


def get_transcriber() -> Any:
    """The process's transcriber (Whisper and the voice encoder load once, on first use)."""
    global _transcriber
    with _lock:
        if _transcriber is None:
            from insights.asr.transcribe import Transcriber

            _transcriber = Transcriber()
        return _transcriber


def load_source(source_id: int, url: str | None = None) -> Source:
    with session_scope(url) as s:
        src = s.get(Source, source_id)
        if src is None:
            raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"id {source_id}")
        s.expunge(src)
        return src


def transcribe(source_id: int, *, url: str | None = None, progress: Progress | None = None) -> bool:
    """Transcribe a call's audio into segments; False when they are already stored."""
    src = load_source(source_id, url)
    if src.kind != "call" or ORDER.get(src.status, 0) >= ORDER[TRANSCRIBED]:
        return False
    if not src.path:
        raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"call {src.external_id} has no audio path")

    def report(done: float, total: float) -> None:
        if progress is not None and total > 0:
            progress(min(1.0, done / total))

    transcript = get_transcriber().transcribe(Path(src.path), progress=report)
    with session_scope(url) as s:
        s.execute(delete(Segment).where(Segment.source_id == source_id))
        for i, seg in enumerate(transcript.segments):
            s.add(
                Segment(
                    source_id=source_id,
                    idx=i,
                    speaker=seg.speaker,
                    start=round(seg.start, 3),
                    end=round(seg.end, 3),
                    text=seg.text,
                )
            )
        row = s.get(Source, source_id)
        if row is not None:
            row.status = TRANSCRIBED
            row.duration = transcript.duration
            row.asr_model = transcript.model
            row.error = None
    return True


def doctor_docs(segments: list[Segment], *, kind: str) -> list[tuple[Segment, Doc]]:
    """A doc per segment of the doctor's own words, with the conversation so far as context."""
    from insights.analyze import make_doc

    out: list[tuple[Segment, Doc]] = []
    said = ""
    for seg in segments:
        if seg.speaker == "hcp" and seg.text.strip():
            doc = make_doc(
                seg.text, id=f"{seg.source_id}:{seg.idx}", source=kind, context=said[-CONTEXT_CHARS:]
            )
            out.append((seg, doc))
        said += seg.text
    return out


def analyse(source_id: int, *, url: str | None = None, backend: str | None = None) -> bool:
    """Analyse the doctor's segments into sentences; False when this model version already did."""
    from insights.config import get_settings
    from insights.nlp.pipeline import get_pipeline

    pipeline = get_pipeline(backend or get_settings().backend)
    src = load_source(source_id, url)
    if ORDER.get(src.status, 0) >= ORDER[ANALYSED] and src.model_version == pipeline.version:
        return False
    if src.kind == "call" and ORDER.get(src.status, 0) < ORDER[TRANSCRIBED]:
        raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"call {src.external_id} is not transcribed yet")
    with session_scope(url) as s:
        segments = list(
            s.scalars(select(Segment).where(Segment.source_id == source_id).order_by(Segment.idx))
        )
        for seg in segments:
            s.expunge(seg)
    pairs = doctor_docs(segments, kind=src.kind)
    docs = pipeline([d for _, d in pairs]) if pairs else []
    rows: list[SentenceRow] = []
    for (seg, _), doc in zip(pairs, docs, strict=True):
        rows.extend(_rows(source_id, seg, doc, first=len(rows)))
    with session_scope(url) as s:
        s.execute(delete(SentenceRow).where(SentenceRow.source_id == source_id))
        s.add_all(rows)
        row = s.get(Source, source_id)
        if row is not None:
            row.status = ANALYSED
            row.model_version = pipeline.version
    return True


def _rows(source_id: int, seg: Segment, doc: Doc, *, first: int) -> list[SentenceRow]:
    span = (seg.end - seg.start) if seg.start is not None and seg.end is not None else None
    n = max(1, len(doc.text))
    out = []
    for k, sent in enumerate(doc.sentences):
        start = end = None
        if span is not None and seg.start is not None:
            # Audio times of the sentence, in proportion to its place in the segment's text.
            start = round(seg.start + span * sent.start / n, 2)
            end = round(seg.start + span * sent.end / n, 2)
        out.append(
            SentenceRow(
                source_id=source_id,
                idx=first + k,
                segment_idx=seg.idx,
                text=sent.text,
                start=start,
                end=end,
                topics=list(sent.topics),
                stance=sent.stance,
                target=sent.target,
                confidence=float(sent.confidence),
                unmet_need=sent.unmet_need,
                adverse_event=bool(sent.adverse_event),
                entities=[e.to_dict() for e in doc.sentence_entities(sent)],
            )
        )
    return out


def write_back(source_id: int, *, url: str | None = None) -> dict[str, int]:
    """Replace the source's profile tags with what its sentences support (one transaction)."""
    from insights.profiles.writeback import write_back as replace_tags

    with session_scope(url) as s:
        src = s.get(Source, source_id)
        if src is None:
            raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"id {source_id}")
        if ORDER.get(src.status, 0) < ORDER[ANALYSED]:
            raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"{src.kind} {src.external_id} is not analysed yet")
        counts = replace_tags(s, src, model_version=src.model_version or "unversioned")
        src.status = DONE
        return counts


def mark_failed(source_id: int, error: str, *, url: str | None = None) -> None:
    with session_scope(url) as s:
        src = s.get(Source, source_id)
        if src is None:
            return
        # Completed steps stay completed: a re-run resumes after the last one.
        if src.status == PENDING:
            src.status = FAILED
        src.error = error
