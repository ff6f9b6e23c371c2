"""A doctor's HCP360 profile (spec §5) from the tags in the store.

Stance per concept: each source takes one position on a concept (its last ``support``/``oppose``
in reading order, else ``neutral``). The current stance is the position of the most recent source
(by source date) that took a side; a doctor who only ever mentioned a concept is ``neutral``.
Every other source's position stays in ``history``, in date order, so a shift shows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from insights.errors import ErrorCode, InputError
from insights.ontology import Ontology, get_ontology
from insights.store.models import Doctor, Source, Tag

DECIDED = ("support", "oppose")


@dataclass(slots=True)
class Position:
    source: Source
    stance: str
    tags: list[Tag]

    @property
    def sort_key(self) -> tuple[date, int]:
        return (self.source.date or date.min, self.source.id)


def _evidence(tag: Tag, source: Source) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": source.kind,
        "source_id": source.external_id,
        "date": source.date.isoformat() if source.date else None,
        "text": tag.text,
    }
    if tag.start is not None and tag.end is not None:
        out |= {"start": round(tag.start, 2), "end": round(tag.end, 2)}
    return out


def _positions(tags: list[Tag], sources: dict[int, Source]) -> list[Position]:
    """One position per source on one concept, oldest first."""
    by_source: dict[int, list[Tag]] = defaultdict(list)
    for t in tags:
        by_source[t.source_id].append(t)
    out: list[Position] = []
    for sid, group in by_source.items():
        group.sort(key=lambda t: t.sentence_idx)
        decided = [t for t in group if t.value in DECIDED]
        stance = decided[-1].value if decided else "neutral"
        out.append(Position(sources[sid], stance, [t for t in group if t.value == stance]))
    out.sort(key=lambda p: p.sort_key)
    return out


def build_profile(session: Session, doctor_id: str, *, ontology: Ontology | None = None) -> dict[str, Any]:
    """The profile JSON of spec §5; raises :class:`InputError` (E504) for an unknown doctor."""
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise InputError(ErrorCode.HCP_UNKNOWN, repr(doctor_id))
    ontology = ontology or get_ontology()
    tags = list(session.scalars(select(Tag).where(Tag.doctor_id == doctor_id)))
    source_ids = {t.source_id for t in tags}
    sources = (
        {s.id: s for s in session.scalars(select(Source).where(Source.id.in_(source_ids)))}
        if source_ids
        else {}
    )
    by_kind: dict[str, list[Tag]] = defaultdict(list)
    for t in tags:
        by_kind[t.kind].append(t)

    stances: list[dict[str, Any]] = []
    by_concept: dict[str, list[Tag]] = defaultdict(list)
    for t in by_kind["stance"]:
        by_concept[t.concept].append(t)
    for concept, group in by_concept.items():
        positions = _positions(group, sources)
        decided = [p for p in positions if p.stance in DECIDED]
        current = decided[-1] if decided else positions[-1]
        known = ontology.get(concept)
        mentions = sorted({t.mention for t in group if t.mention})
        stances.append(
            {
                "concept": concept,
                "name": known.name if known else concept,
                "mentions": mentions,
                "stance": current.stance,
                "confidence": round(sum(t.confidence for t in current.tags) / len(current.tags), 3),
                "evidence": [_evidence(t, current.source) for t in current.tags],
                "history": [
                    {
                        "date": p.source.date.isoformat() if p.source.date else None,
                        "stance": p.stance,
                        "source_id": p.source.external_id,
                        "source": p.source.kind,
                    }
                    for p in positions
                    if p is not current
                ],
                "updated": current.source.date.isoformat() if current.source.date else None,
            }
        )
    stances.sort(key=lambda s: (-len(s["evidence"]), s["concept"]))

    needs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in sorted(by_kind["unmet_need"], key=lambda t: _order(t, sources)):
        needs[t.value].append(_evidence(t, sources[t.source_id]))
    topics = Counter(t.value for t in by_kind["topic"])
    events = [
        _evidence(t, sources[t.source_id])
        | {"drug": t.concept or None, "source_id": sources[t.source_id].external_id}
        for t in sorted(by_kind["adverse_event"], key=lambda t: _order(t, sources))
    ]
    return {
        "hcp": doctor.to_dict(),
        "stances": stances,
        "unmet_needs": [{"category": k, "evidence": v} for k, v in needs.items()],
        "topics": [
            {"topic": k, "count": n} for k, n in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "adverse_events": events,
        "sources": len(sources),
        "model_versions": sorted({t.model_version for t in tags}),
    }


def _order(tag: Tag, sources: dict[int, Source]) -> tuple[date, int, int]:
    src = sources[tag.source_id]
    return (src.date or date.min, src.id, tag.sentence_idx)
