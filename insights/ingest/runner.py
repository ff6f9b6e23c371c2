"""Run a job: the steps of its source, with state, stage, progress and errors on the job.

The same function runs in-process (``insights ingest`` without a broker) and inside the Celery
tasks, which call the steps one by one so that transcription and analysis go to separate queues.
Bad input (an :class:`InsightsError`) fails the job with its code and no retry; anything else is
recorded as E900 and re-raised to the caller, which may retry it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from insights.errors import InsightsError
from insights.ingest import steps
from insights.ingest.jobs import DONE, begin_attempt, fail_job, update_job

logger = logging.getLogger(__name__)

StepProgress = Callable[[str, float], None]


@dataclass(slots=True)
class JobResult:
    job_id: int
    state: str
    error: str | None = None
    code: str | None = None
    tags: dict[str, int] | None = None


def stages_for(kind: str) -> list[str]:
    return ["transcribe", "analyse", "write_back"] if kind == "call" else ["analyse", "write_back"]


def run_stage(job_id: int, source_id: int, stage: str, *, url: str | None = None) -> dict[str, int] | None:
    """One step of a job's source, with the job's stage and progress kept up to date."""
    update_job(job_id, url=url, stage=stage)
    if stage == "transcribe":

        def progress(share: float) -> None:
            # Transcription is most of a call's time: it fills 0 → 0.9 of the bar.
            update_job(job_id, url=url, progress=0.9 * share)

        steps.transcribe(source_id, url=url, progress=progress)
        update_job(job_id, url=url, progress=0.9)
        return None
    if stage == "analyse":
        steps.analyse(source_id, url=url)
        return None
    if stage == "write_back":
        counts = steps.write_back(source_id, url=url)
        update_job(job_id, url=url, state=DONE, progress=1.0, stage=None, error=None, code=None)
        return counts
    raise ValueError(f"unknown stage {stage!r}")


def run_job(job_id: int, *, url: str | None = None, on_stage: StepProgress | None = None) -> JobResult:
    """Run every step of the job in this process; a failure is recorded, never raised."""
    job = begin_attempt(job_id, url=url)
    if job is None:
        return JobResult(job_id, "skipped")
    if job.source_id is None:
        return JobResult(job_id, job.state, job.error, job.code)
    src = steps.load_source(job.source_id, url)
    counts = None
    try:
        for stage in stages_for(src.kind):
            if on_stage is not None:
                on_stage(stage, 0.0)
            counts = run_stage(job_id, job.source_id, stage, url=url)
    except Exception as exc:
        if not isinstance(exc, InsightsError):
            logger.exception("job %s failed", job_id)
        return record_failure(job_id, job.source_id, exc, url=url)
    return JobResult(job_id, DONE, tags=counts)


def record_failure(job_id: int, source_id: int, exc: BaseException, *, url: str | None = None) -> JobResult:
    """The job failed with ``exc``: its code and message go on the job and the source."""
    code, text = fail_job(job_id, exc, url=url)
    steps.mark_failed(source_id, text, url=url)
    return JobResult(job_id, "failed", text, code)
