"""Register call recordings (audio + sidecar, spec §5) as sources with a job each.

Registration is cheap and idempotent: it reads the sidecar, upserts the doctor, hashes the audio
and decides per call whether there is work. The same ``call_id`` with the same audio and a
finished pipeline is ``unchanged`` (nothing is written); new audio under a known ``call_id``
replaces the old recording's results when its pipeline runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from insights.errors import ErrorCode, IngestError, InsightsError
from insights.ingest.doctors import clean_hcp, upsert_doctor
from insights.ingest.jobs import FAILED, QUEUED, create_job
from insights.nlp.store import sha256_file
from insights.store.models import Job, Source
from insights.store.session import session_scope

logger = logging.getLogger(__name__)

NEW, CHANGED, RESUMED, UNCHANGED, REJECTED = "new", "changed", "resumed", "unchanged", "rejected"


@dataclass(slots=True)
class Registered:
    """What registration decided for one file; ``job_id`` is None when there is nothing to do."""

    path: Path
    outcome: str
    job_id: int | None = None
    source_id: int | None = None
    call_id: str | None = None
    error: str | None = None


def audio_files(folder: Path) -> list[Path]:
    """Audio files directly in ``folder`` (sorted); raises for a folder that is not there."""
    from insights.asr.audio import AUDIO_SUFFIXES

    if not folder.is_dir():
        raise IngestError(ErrorCode.FILE_UNREADABLE, f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def parse_date(value: Any, *, where: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: date {value!r} is not YYYY-MM-DD") from exc


def read_call_meta(path: Path) -> dict[str, Any]:
    """The sidecar of ``path``, checked: it must exist and name the doctor."""
    from insights.asr.transcribe import read_sidecar

    meta = read_sidecar(path)
    if meta is None:
        raise IngestError(
            ErrorCode.SIDECAR_MISSING, f"{path.name}: expected {path.with_suffix('.json').name}"
        )
    if not isinstance(meta.get("hcp"), dict):
        raise IngestError(ErrorCode.HCP_MISSING, f"{path.with_suffix('.json').name}")
    return meta


def register_call(path: Path, *, url: str | None = None) -> Registered:
    """Record one call; the returned ``job_id`` is the job to run (None: nothing to do or rejected)."""
    path = path.resolve()
    try:
        if path.stat().st_size == 0:
            # An empty upload is rejected here, with the code the transcriber would give it.
            raise InsightsError(ErrorCode.AUDIO_EMPTY, path.name)
        meta = read_call_meta(path)
        hcp = clean_hcp(meta["hcp"], where=path.with_suffix(".json").name)
        call_id = str(meta.get("call_id") or path.stem)
        when = parse_date(meta.get("date"), where=path.with_suffix(".json").name)
        digest = sha256_file(path)
    except (InsightsError, OSError) as exc:
        error = str(exc) if isinstance(exc, InsightsError) else f"[{ErrorCode.FILE_UNREADABLE.value}] {exc}"
        job_id = create_job(kind="call", subject=str(path), source_id=None, state=FAILED, url=url)
        from insights.ingest.jobs import update_job

        code = exc.code.value if isinstance(exc, InsightsError) else ErrorCode.FILE_UNREADABLE.value
        update_job(job_id, url=url, error=error, code=code)
        return Registered(path, REJECTED, job_id=job_id, error=error)

    with session_scope(url) as s:
        upsert_doctor(s, hcp)
        s.flush()
        src = s.scalars(select(Source).where(Source.kind == "call", Source.external_id == call_id)).first()
        if src is None:
            outcome = NEW
            src = Source(kind="call", external_id=call_id, content_hash=digest, meta={})
            s.add(src)
        elif src.content_hash != digest:
            outcome = CHANGED
            src.status = "pending"
            src.content_hash = digest
        elif src.status == "done":
            outcome = UNCHANGED
        else:
            outcome = RESUMED
        src.path = str(path)
        src.date = when
        src.doctor_id = hcp["id"]
        src.meta = {k: v for k, v in meta.items() if k != "hcp"}
        s.flush()
        source_id = src.id
        if outcome == UNCHANGED:
            return Registered(path, outcome, source_id=source_id, call_id=call_id)
        open_job = s.scalars(
            select(Job)
            .where(Job.source_id == source_id, Job.state.in_((QUEUED, "running")))
            .order_by(Job.id.desc())
        ).first()
        if open_job is not None:
            # A run that was cut off (crash, kill): the same job goes on.
            open_job.state = QUEUED
            return Registered(path, outcome, job_id=open_job.id, source_id=source_id, call_id=call_id)
    job_id = create_job(kind="call", subject=str(path), source_id=source_id, url=url)
    return Registered(path, outcome, job_id=job_id, source_id=source_id, call_id=call_id)
