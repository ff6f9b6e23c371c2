"""The broker seam: Celery configuration and enqueueing by task name.

``insights`` never imports ``workers``: both sides agree on the task name and the queues here.
Long transcriptions go to ``asr`` (prefetch 1: a worker holds one call at a time, so a second
worker can take the next); analysis and write-back go to ``nlp``.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from insights.config import Settings, get_settings

STAGE_TASK = "insights.run_stage"
QUEUES = {"transcribe": "asr", "analyse": "nlp", "write_back": "nlp"}
_lock = threading.Lock()


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "nlp",
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # Redis redelivers a task whose worker vanished (kill -9) after this timeout: it must be
        # longer than the longest transcription, or a slow call would run twice.
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
    }


def worker_argv(*, queues: str, concurrency: int, loglevel: str = "INFO") -> list[str]:
    """The command line of a Celery worker on our app (``insights worker`` runs it)."""
    import sys

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        loglevel,
    ]


@lru_cache(maxsize=1)
def _client() -> Any:
    from celery import Celery

    app = Celery("insights-client")
    app.conf.update(celery_config(get_settings()))
    return app


def enqueue_stage(job_id: int, stage: str) -> None:
    """Queue one stage of a job (the worker queues the next stage when this one is done)."""
    with _lock:
        client = _client()
    client.send_task(STAGE_TASK, args=[job_id, stage], queue=QUEUES[stage])


def enqueue_job(job_id: int, *, kind: str) -> None:
    from insights.ingest.runner import stages_for

    enqueue_stage(job_id, stages_for(kind)[0])
