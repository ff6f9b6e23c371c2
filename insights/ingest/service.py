"""What the CLI (and later the API) call: ingest sources, import doctors, read profiles and jobs.

Without a broker the jobs run here, one after another. With ``INSIGHTS_BROKER_URL`` they go to
the Celery queues by task name (:mod:`insights.ingest.queue`), and ``insights worker`` runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from insights.config import get_settings
from insights.ingest.calls import audio_files, register_call
from insights.ingest.doctors import ImportResult
from insights.ingest.doctors import import_hcps as _import_hcps
from insights.ingest.runner import StepProgress, run_job
from insights.ingest.sources import REJECTED, UNCHANGED, Registered
from insights.store.models import Doctor, Source
from insights.store.session import session_scope

logger = logging.getLogger(__name__)


def call_files(folder: Path) -> list[Path]:
    return audio_files(folder)


def ingest_calls(
    files: list[Path],
    *,
    url: str | None = None,
    on_file: Callable[[Path], StepProgress] | None = None,
    enqueue: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """Register each file and run (or enqueue) its job; yields one result row per file, in order."""
    for path in files:
        reg = register_call(path, url=url)
        callback = on_file(path) if on_file is not None else None
        yield _process(reg, kind="call", url=url, on_stage=callback, enqueue=enqueue) | {
            "file": str(path),
            "call_id": reg.external_id,
        }


def ingest_consults(
    path: Path, *, url: str | None = None, enqueue: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Each consultation of a JSON Lines file (:mod:`insights.ingest.consults`): one row per line."""
    from insights.ingest.consults import read_consults, register_consult
    from insights.ingest.sources import reject

    for where, raw in read_consults(path):
        reg = (
            reject("consult", where, raw, url=url)
            if isinstance(raw, Exception)
            else (register_consult(raw, where=where, url=url))
        )
        yield _process(reg, kind="consult", url=url, on_stage=None, enqueue=enqueue) | {
            "line": where,
            "consult_id": reg.external_id,
        }


def _process(
    reg: Registered, *, kind: str, url: str | None, on_stage: StepProgress | None, enqueue: bool | None
) -> dict[str, Any]:
    """Run (or enqueue) a registered source's job; the result row."""
    if enqueue is None:
        enqueue = get_settings().broker_url is not None
    row: dict[str, Any] = {"outcome": reg.outcome, "job_id": reg.job_id}
    if reg.outcome == REJECTED:
        return row | {"state": "failed", "error": reg.error, "code": reg.code}
    if reg.outcome == UNCHANGED or reg.job_id is None:
        return row | {"state": "done"}
    if enqueue:
        from insights.ingest.queue import enqueue_job

        enqueue_job(reg.job_id, kind=kind)
        return row | {"state": "queued"}
    result = run_job(reg.job_id, url=url, on_stage=on_stage)
    return row | {"state": result.state, "error": result.error, "code": result.code, "tags": result.tags}


def import_hcps(path: Path, *, url: str | None = None) -> ImportResult:
    with session_scope(url) as s:
        return _import_hcps(s, path)


def list_doctors(*, url: str | None = None) -> list[dict[str, Any]]:
    with session_scope(url) as s:
        counts = dict(
            s.execute(select(Source.doctor_id, func.count()).group_by(Source.doctor_id)).tuples().all()
        )
        return [
            d.to_dict() | {"sources": counts.get(d.id, 0)}
            for d in s.scalars(select(Doctor).order_by(Doctor.id))
        ]


def profile(hcp_id: str, *, url: str | None = None) -> dict[str, Any]:
    from insights.profiles.profile import build_profile

    with session_scope(url) as s:
        return build_profile(s, hcp_id)
