"""Online consultations (JSON Lines): the patient's question is context, the doctor's answer counts.

One line per consultation::

    {"id": "q-001", "date": "2026-03-01", "platform": "好大夫在线",
     "doctor": {"id": "hcp-001"} or {"name": "王建国", "hospital": "中山大学肿瘤防治中心"},
     "question": "…", "answer": "…"}

The doctor is found by ``id``, or by name and hospital among the known doctors (a namesake at
another hospital is another person). A consult whose doctor cannot be found fails with E504 rather
than being guessed onto someone's profile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from insights.errors import ErrorCode, IngestError, InsightsError
from insights.ingest.calls import parse_date
from insights.ingest.sources import Registered, record_source, reject
from insights.store.models import Doctor
from insights.store.session import session_scope


def read_consults(path: Path) -> Iterator[tuple[str, dict[str, Any] | InsightsError]]:
    """(where, record or its error) per non-empty line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(ErrorCode.FILE_UNREADABLE, f"{path}: {exc}") from exc
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, IngestError(ErrorCode.RECORD_INVALID, f"{where}: not JSON ({exc.msg})")
            continue
        if not isinstance(raw, dict):
            yield where, IngestError(ErrorCode.RECORD_INVALID, f"{where}: must be a JSON object")
            continue
        yield where, raw


def _norm(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def find_doctor(ref: dict[str, Any], *, where: str, url: str | None = None) -> str:
    """The id of the known doctor that ``ref`` names; raises E504 when none or several fit."""
    with session_scope(url) as s:
        hid = ref.get("id")
        if hid is not None:
            if s.get(Doctor, str(hid)) is None:
                raise IngestError(ErrorCode.HCP_UNKNOWN, f"{where}: doctor id {hid!r}")
            return str(hid)
        name, hospital = _norm(ref.get("name")), _norm(ref.get("hospital"))
        if not name:
            raise IngestError(
                ErrorCode.HCP_MISSING, f"{where}: the doctor needs an id or a name and hospital"
            )
        same_name = [d for d in s.scalars(select(Doctor)) if _norm(d.name) == name]
        fits = [d for d in same_name if hospital and _norm(d.hospital) == hospital]
        if len(fits) == 1:
            return fits[0].id
        detail = f"{where}: {ref.get('name')} at {ref.get('hospital') or '?'}"
        if len(fits) > 1:
            detail += f" matches {len(fits)} doctors ({', '.join(d.id for d in fits)})"
        elif same_name:
            detail += (
                f" (a namesake at another hospital is another person: {', '.join(d.id for d in same_name)})"
            )
        raise IngestError(ErrorCode.HCP_UNKNOWN, detail + "; import HCP master data or give doctor.id")


def register_consult(raw: dict[str, Any], *, where: str, url: str | None = None) -> Registered:
    try:
        cid = raw.get("id")
        if not isinstance(cid, str | int) or not str(cid).strip():
            raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: no 'id'")
        answer = raw.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise IngestError(ErrorCode.RECORD_INVALID, f"{where}: no doctor's 'answer' text")
        question = raw.get("question") if isinstance(raw.get("question"), str) else ""
        doctor = raw.get("doctor")
        if not isinstance(doctor, dict):
            doctor = {"id": raw.get("doctor_id")} if raw.get("doctor_id") else {}
            doctor |= {k: raw[f"doctor_{k}"] for k in ("name", "hospital") if raw.get(f"doctor_{k}")}
        doctor_id = find_doctor(doctor, where=where, url=url)
        when = parse_date(raw.get("date"), where=where)
    except InsightsError as exc:
        return reject("consult", where, exc, url=url)
    digest = hashlib.sha256(
        json.dumps([doctor_id, question, answer], ensure_ascii=False).encode()
    ).hexdigest()
    return record_source(
        kind="consult",
        external_id=str(cid),
        digest=digest,
        subject=where,
        when=when,
        hcp=None,
        doctor_id=doctor_id,
        meta={k: v for k, v in raw.items() if k not in ("question", "answer", "doctor")},
        segments=[("patient", question), ("hcp", answer)] if question else [("hcp", answer)],
        url=url,
    )
