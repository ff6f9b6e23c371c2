"""Job bookkeeping: state, stage, progress, attempts and the error of each source's pipeline run.

Each update is its own short transaction, so ``insights jobs`` (another process) sees progress
while a long transcription runs, and a crash leaves the job ``running`` with its last stage: a
redelivered task picks it up from there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from insights.errors import ErrorCode, InsightsError
from insights.store.models import Job, utcnow
from insights.store.session import session_scope

QUEUED, RUNNING, DONE, FAILED, SKIPPED = "queued", "running", "done", "failed", "skipped"
FINAL = frozenset({DONE, FAILED, SKIPPED})


def create_job(
    *, kind: str, subject: str, source_id: int | None, state: str = QUEUED, url: str | None = None
) -> int:
    with session_scope(url) as s:
        job = Job(kind=kind, subject=subject, source_id=source_id, state=state)
        if state in FINAL:
            job.finished_at = utcnow()
        s.add(job)
        s.flush()
        return job.id


def update_job(job_id: int, *, url: str | None = None, **fields: Any) -> None:
    with session_scope(url) as s:
        job = s.get(Job, job_id)
        if job is None:
            return
        for k, v in fields.items():
            setattr(job, k, v)
        if fields.get("state") == RUNNING and job.started_at is None:
            job.started_at = utcnow()
        if fields.get("state") in FINAL:
            job.finished_at = utcnow()


def begin_attempt(job_id: int, *, task_id: str | None = None, url: str | None = None) -> Job | None:
    """Mark the job running and count the attempt; None when it is already finished."""
    with session_scope(url) as s:
        job = s.get(Job, job_id)
        if job is None or job.state in FINAL:
            return None
        job.state = RUNNING
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        if task_id:
            job.task_id = task_id
        s.flush()
        s.expunge(job)
        return job


def fail_job(job_id: int, exc: BaseException, *, url: str | None = None) -> None:
    if isinstance(exc, InsightsError):
        code, text = exc.code.value, str(exc)
    else:
        code, text = ErrorCode.INTERNAL.value, f"[{ErrorCode.INTERNAL.value}] {type(exc).__name__}: {exc}"
    update_job(job_id, url=url, state=FAILED, error=text, code=code)


def list_jobs(*, state: str | None = None, limit: int = 50, url: str | None = None) -> list[dict[str, Any]]:
    with session_scope(url) as s:
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if state:
            q = q.where(Job.state == state)
        return [j.to_dict() for j in s.scalars(q)]


def job_counts(*, url: str | None = None) -> dict[str, int]:
    from sqlalchemy import func

    with session_scope(url) as s:
        return {state: n for state, n in s.execute(select(Job.state, func.count()).group_by(Job.state))}
