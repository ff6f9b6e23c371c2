"""Record a source (call, paper, consult) and decide whether it has work: the one registration rule.

The same ``kind`` + ``external_id`` with the same content and a finished pipeline is ``unchanged``
(nothing is written); new content under a known id resets the source so its results are replaced;
an unfinished source keeps its open job, which goes on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select

from insights.errors import ErrorCode
from insights.ingest.doctors import upsert_doctor
from insights.ingest.jobs import FAILED, QUEUED, RUNNING, create_job, describe, update_job
from insights.store.models import Job, Segment, Source
from insights.store.session import session_scope

NEW, CHANGED, RESUMED, UNCHANGED, REJECTED = "new", "changed", "resumed", "unchanged", "rejected"


@dataclass(slots=True)
class Registered:
    """What registration decided for one source; ``job_id`` is None when there is nothing to do."""

    subject: str
    outcome: str
    job_id: int | None = None
    source_id: int | None = None
    external_id: str | None = None
    error: str | None = None
    code: str | None = None


def reject(kind: str, subject: str, exc: BaseException, *, url: str | None = None) -> Registered:
    """A failed job with the specific error, for input that cannot become a source."""
    code, error = describe(exc, fallback=ErrorCode.FILE_UNREADABLE)
    job_id = create_job(kind=kind, subject=subject, source_id=None, state=FAILED, url=url)
    update_job(job_id, url=url, error=error, code=code)
    return Registered(subject, REJECTED, job_id=job_id, error=error, code=code)


def record_source(
    *,
    kind: str,
    external_id: str,
    digest: str,
    subject: str,
    when: date | None,
    hcp: dict[str, Any] | None,
    doctor_id: str | None,
    meta: dict[str, Any],
    path: str | None = None,
    segments: list[tuple[str, str]] | None = None,
    url: str | None = None,
) -> Registered:
    """Upsert the source (and its doctor); return the job to run, if any.

    ``segments`` (speaker, text) are stored for text sources, whose content is known at
    registration; a call's come from transcription.
    """
    with session_scope(url) as s:
        if hcp is not None:
            upsert_doctor(s, hcp)
            s.flush()
        src = s.scalars(select(Source).where(Source.kind == kind, Source.external_id == external_id)).first()
        if src is None:
            outcome = NEW
            src = Source(kind=kind, external_id=external_id, content_hash=digest, meta={})
            s.add(src)
        elif src.content_hash != digest:
            outcome = CHANGED
            src.status = "pending"
            src.content_hash = digest
        elif src.status == "done":
            outcome = UNCHANGED
        else:
            outcome = RESUMED
        src.path = path
        src.date = when
        src.doctor_id = doctor_id
        src.meta = meta
        s.flush()
        source_id = src.id
        if segments is not None and outcome in (NEW, CHANGED):
            s.execute(delete(Segment).where(Segment.source_id == source_id))
            for i, (speaker, text) in enumerate(segments):
                s.add(Segment(source_id=source_id, idx=i, speaker=speaker, start=None, end=None, text=text))
            src.status = "transcribed"  # the text is the transcript
        if outcome == UNCHANGED:
            return Registered(subject, outcome, source_id=source_id, external_id=external_id)
        open_job = s.scalars(
            select(Job)
            .where(Job.source_id == source_id, Job.state.in_((QUEUED, RUNNING)))
            .order_by(Job.id.desc())
        ).first()
        if open_job is not None:
            # A run that was cut off (crash, kill): the same job goes on.
            open_job.state = QUEUED
            return Registered(
                subject, outcome, job_id=open_job.id, source_id=source_id, external_id=external_id
            )
    job_id = create_job(kind=kind, subject=subject, source_id=source_id, url=url)
    return Registered(subject, outcome, job_id=job_id, source_id=source_id, external_id=external_id)
