"""Thin tasks: take a job id and a stage, run it through :mod:`insights.ingest.runner`, queue the next.

Idempotent by construction: every stage checks what is already stored, so a task redelivered
after a worker died (``acks_late``) or queued twice does its work at most once.
"""

from __future__ import annotations

import logging
from typing import Any

from insights.errors import InsightsError
from insights.ingest import steps
from insights.ingest.jobs import begin_attempt
from insights.ingest.queue import STAGE_TASK, enqueue_stage
from insights.ingest.runner import record_failure, run_stage, stages_for
from workers.app import app

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@app.task(name=STAGE_TASK, bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_stage_task(self: Any, job_id: int, stage: str) -> str:
    job = begin_attempt(job_id, stage=stage, task_id=self.request.id)
    if job is None or job.source_id is None:
        return "skipped"
    try:
        run_stage(job_id, job.source_id, stage)
    except InsightsError as exc:
        # Bad input: record it on the job; retrying cannot help.
        record_failure(job_id, job.source_id, exc)
        return "failed"
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            record_failure(job_id, job.source_id, exc)
            logger.exception("job %s stage %s failed after %d retries", job_id, stage, self.request.retries)
            return "failed"
        # A transient fault (database or broker away): back off and try again.
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
    order = stages_for(_kind(job.source_id))
    nxt = order.index(stage) + 1
    if nxt < len(order):
        enqueue_stage(job_id, order[nxt])
    return "ok"


def _kind(source_id: int) -> str:
    return steps.load_source(source_id, None).kind
