"""Register call recordings (audio + sidecar, spec §5) as sources with a job each.

Registration is cheap and idempotent: it reads the sidecar, upserts the doctor, hashes the audio
and decides per call whether there is work. The same ``call_id`` with the same audio and a
finished pipeline is ``unchanged`` (nothing is written); new audio under a known ``call_id``
replaces the old recording's results when its pipeline runs.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from insights.errors import ErrorCode, IngestError, InsightsError
from insights.ingest.doctors import clean_hcp
from insights.ingest.sources import Registered, record_source, reject
from insights.nlp.store import sha256_file

logger = logging.getLogger(__name__)


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
        return reject("call", str(path), exc, url=url)
    return record_source(
        kind="call",
        external_id=call_id,
        digest=digest,
        subject=str(path),
        when=when,
        hcp=hcp,
        doctor_id=hcp["id"],
        meta={k: v for k, v in meta.items() if k != "hcp"},
        path=str(path),
        url=url,
    )
