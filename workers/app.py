"""The Celery app: configured from ``insights`` Settings, tasks in :mod:`workers.tasks`.

Run it with ``insights worker`` (or ``celery -A workers.app worker -Q asr,nlp``).
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from insights.config import get_settings
from insights.ingest.queue import celery_config

app = Celery("insights", include=["workers.tasks"])
app.conf.update(celery_config(get_settings()))


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # A forked child must not reuse the parent's pooled database connections.
    from insights.store.session import dispose_engines

    dispose_engines()
