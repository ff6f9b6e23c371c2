"""Write-back: a source's analysed sentences of the doctor's own words become profile tags.

Only sentences stored for a source are the doctor's words (the ingest step keeps the ``hcp``
segments of a call, the matched author's paper, the answer of a consult), so everything here is
already attributed. A source's tags are replaced as a whole, in the caller's transaction: running
write-back twice changes nothing; a new model version retracts the old tags and adds the new ones,
and ``tag_events`` records both.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from insights.store.models import SentenceRow, Source, Tag, TagEvent

logger = logging.getLogger(__name__)

STANCE_VALUES = frozenset({"support", "oppose", "neutral"})
# Words that point back at a concept named earlier (这个药, 它, 这个方案, 联合…).
_ANAPHOR = re.compile(r"这个|这种|这类|那个|这药|该药|此药|它|其|方案|联合|这款|这一类|\bthis\b|\bit\b", re.I)
AE_VALUE = "reported"


@dataclass(frozen=True, slots=True)
class TagKey:
    sentence_idx: int
    kind: str
    value: str
    concept: str


def tags_for(sentences: list[SentenceRow], *, source: Source, model_version: str) -> list[Tag]:
    """The tags that a source's sentences support (not yet added to a session)."""
    if source.doctor_id is None:
        return []
    out: list[Tag] = []

    def add(sent: SentenceRow, kind: str, value: str, concept: str = "", **extra: Any) -> None:
        out.append(
            Tag(
                doctor_id=source.doctor_id,
                kind=kind,
                concept=concept,
                value=value,
                confidence=extra.pop("confidence", 1.0),
                model_version=model_version,
                source_id=source.id,
                sentence_idx=sent.idx,
                text=sent.text,
                start=sent.start,
                end=sent.end,
                date=source.date,
                **extra,
            )
        )

    for sent in sentences:
        if sent.stance in STANCE_VALUES and sent.target:
            mention = _mention(sent, sent.target)
            value = sent.stance
            if mention is None and value != "neutral" and not _ANAPHOR.search(sent.text):
                # A side taken on a concept the sentence neither names nor points at is a guess
                # of the target (often an ASR-garbled name of another one): a mention, not a position.
                value = "neutral"
            add(sent, "stance", value, sent.target, confidence=sent.confidence, mention=mention)
        for topic in sent.topics or ():
            add(sent, "topic", topic)
        if sent.unmet_need:
            add(sent, "unmet_need", sent.unmet_need)
        if sent.adverse_event:
            drug = _ae_drug(sent)
            add(sent, "adverse_event", AE_VALUE, drug or "", mention=_mention(sent, drug) if drug else None)
    return out


def _mention(sent: SentenceRow, concept: str) -> str | None:
    for ent in sent.entities or ():
        if ent.get("concept") == concept:
            return str(ent.get("text"))
    return None


def _ae_drug(sent: SentenceRow) -> str | None:
    """The medicine of an adverse-event report: the stance target if it is one, else the first named."""
    if sent.target and sent.target.split(":", 1)[0] in ("drug", "class", "regimen"):
        return sent.target
    for ent in sent.entities or ():
        if ent.get("label") in ("DRUG", "DRUG_CLASS") and ent.get("concept"):
            return str(ent["concept"])
    return None


def write_back(session: Session, source: Source, *, model_version: str) -> dict[str, int]:
    """Replace ``source``'s tags with those its stored sentences support; return the change counts."""
    sentences = list(
        session.scalars(
            select(SentenceRow).where(SentenceRow.source_id == source.id).order_by(SentenceRow.idx)
        )
    )
    new = {_key(t): t for t in tags_for(sentences, source=source, model_version=model_version)}
    old = {_key(t): t for t in session.scalars(select(Tag).where(Tag.source_id == source.id))}
    same_version = all(t.model_version == model_version for t in old.values())
    if same_version and new.keys() == old.keys():
        return {"added": 0, "retracted": 0, "kept": len(old)}
    session.execute(delete(Tag).where(Tag.source_id == source.id))
    session.flush()
    session.add_all(new.values())
    events = [_event(t, "retracted") for k, t in old.items() if k not in new] + [
        _event(t, "added") for k, t in new.items() if k not in old
    ]
    session.add_all(events)
    logger.info("source %s: %d tags (%d events)", source.id, len(new), len(events))
    return {
        "added": sum(e.action == "added" for e in events),
        "retracted": sum(e.action == "retracted" for e in events),
        "kept": len(new.keys() & old.keys()),
    }


def _key(tag: Tag) -> TagKey:
    return TagKey(tag.sentence_idx, tag.kind, tag.value, tag.concept or "")


def _event(tag: Tag, action: str) -> TagEvent:
    return TagEvent(
        doctor_id=tag.doctor_id,
        source_id=tag.source_id,
        action=action,
        kind=tag.kind,
        concept=tag.concept or "",
        value=tag.value,
        model_version=tag.model_version,
    )
