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


def begin_attempt(
    job_id: int, *, stage: str | None = None, task_id: str | None = None, url: str | None = None
) -> Job | None:
    """Mark the job running; None when it is already finished.

    ``attempts`` counts runs of the job: the first start, and each time a stage starts again
    (a redelivered or retried task, a re-run after a crash). Moving on to the next stage is not
    a new attempt. Without ``stage`` (the in-process runner) every call is an attempt.
    """
    with session_scope(url) as s:
        job = s.get(Job, job_id)
        if job is None or job.state in FINAL:
            return None
        if stage is None or job.attempts == 0 or job.stage == stage:
            job.attempts += 1
        job.state = RUNNING
        job.started_at = job.started_at or utcnow()
        if task_id:
            job.task_id = task_id
        s.flush()
        s.expunge(job)
        return job


def describe(exc: BaseException, *, fallback: ErrorCode = ErrorCode.INTERNAL) -> tuple[str, str]:
    """(code, message) to record for an error; one that is not ours gets ``fallback``'s code."""
    if isinstance(exc, InsightsError):
        return exc.code.value, str(exc)
    return fallback.value, f"[{fallback.value}] {type(exc).__name__}: {exc}"


def fail_job(job_id: int, exc: BaseException, *, url: str | None = None) -> tuple[str, str]:
    """Record the job as failed with the error's code and message; returns them."""
    code, text = describe(exc)
    update_job(job_id, url=url, state=FAILED, error=text, code=code)
    return code, text


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


def requeue_unfinished(*, idle_s: float = 600.0, url: str | None = None) -> list[int]:
    """Send again every unfinished job that has shown no sign of life for ``idle_s`` seconds.

    The database, not the broker, is the record of work: a job is written before its message is
    sent, so a message lost with the broker (a Redis restart without persistence) leaves a job
    ``queued`` or ``running`` here. Each is sent again at its current stage; the steps skip
    what is already stored, so a job whose message was not lost after all only costs a no-op.
    """
    from datetime import timedelta

    from insights.ingest.queue import enqueue_stage
    from insights.ingest.runner import stages_for
    from insights.store.models import Source

    cutoff = utcnow() - timedelta(seconds=idle_s)
    todo: list[tuple[int, str]] = []
    with session_scope(url) as s:
        for job in s.scalars(select(Job).where(Job.state.in_((QUEUED, RUNNING)), Job.touched_at <= cutoff)):
            if job.source_id is None:
                continue
            src = s.get(Source, job.source_id)
            if src is None:
                continue
            todo.append((job.id, job.stage or stages_for(src.kind)[0]))
    for job_id, stage in todo:
        enqueue_stage(job_id, stage)
    return [j for j, _ in todo]
