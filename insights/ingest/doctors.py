"""HCP master data: upsert doctors from call metadata and CRM exports (CSV or JSON Lines)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from insights.errors import ErrorCode, IngestError
from insights.store.models import Doctor

logger = logging.getLogger(__name__)

MARKET_TIERS = frozenset({"core", "broad"})


def clean_hcp(raw: Any, *, where: str) -> dict[str, Any]:
    """Validate one HCP record (spec §5 ``hcp`` fields); raise :class:`IngestError` when it is unusable."""
    if not isinstance(raw, dict):
        raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: an HCP record must be an object")
    hid = raw.get("id")
    if not isinstance(hid, str | int) or not str(hid).strip():
        raise IngestError(ErrorCode.HCP_MISSING, f"{where}: no 'id'")
    out: dict[str, Any] = {"id": str(hid).strip()}
    for f in Doctor.FIELDS:
        value = raw.get(f)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int | float):
            raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: '{f}' must be text")
        out[f] = str(value).strip()
    tier = out.get("market_tier")
    if tier is not None and tier not in MARKET_TIERS:
        raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: market_tier {tier!r} is not core or broad")
    extra = {k: v for k, v in raw.items() if k not in out and k != "id" and v not in (None, "")}
    if extra:
        out["extra"] = extra
    return out


def upsert_doctor(session: Session, record: dict[str, Any]) -> tuple[Doctor, bool]:
    """Insert or update by ``id``; fields absent from ``record`` keep their stored value."""
    doctor = session.get(Doctor, record["id"])
    created = doctor is None
    if doctor is None:
        doctor = Doctor(id=record["id"], extra={})
        session.add(doctor)
    for f in Doctor.FIELDS:
        if f in record:
            setattr(doctor, f, record[f])
    if record.get("extra"):
        doctor.extra = {**(doctor.extra or {}), **record["extra"]}
    return doctor, created


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[str] | None = None


def read_hcp_file(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, raw record) for each row of a CSV or JSON Lines export; bad lines yield their error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(ErrorCode.FILE_UNREADABLE, f"{path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(ErrorCode.FILE_UNREADABLE, f"{path}: not UTF-8 text") from exc
    if path.suffix.lower() == ".csv":
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            yield f"{path.name}:{n}", {k.strip(): v for k, v in row.items() if k}
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path.name}:{n}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"{path.name}:{n}", IngestError(ErrorCode.RECORD_INVALID, f"{path.name}:{n}: {exc.msg}")


def import_hcps(session: Session, path: Path) -> ImportResult:
    """Upsert every valid record of ``path``; invalid ones are reported and skipped."""
    result = ImportResult(errors=[])
    for where, raw in read_hcp_file(path):
        try:
            if isinstance(raw, IngestError):
                raise raw
            _, created = upsert_doctor(session, clean_hcp(raw, where=where))
        except IngestError as exc:
            result.errors = [*(result.errors or []), str(exc)]
            continue
        if created:
            result.created += 1
        else:
            result.updated += 1
        session.flush()
    return result
