"""ORM models: doctors, sources, transcript segments, analysed sentences and entities, tags, jobs.

Every table that a pipeline step writes has a natural unique key (``kind + external_id`` for a
source, ``source + index`` for its segments and sentences), so running a step twice writes the same
rows. Tags belong to the source whose words produced them: re-analysing a source replaces its tags
in one transaction, and ``tag_events`` keeps what each replacement added and retracted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Doctor(Base):
    """HCP master data, from CRM imports and call metadata (upsert by ``id``)."""

    __tablename__ = "doctors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(128))
    hospital: Mapped[str | None] = mapped_column(String(256))
    city: Mapped[str | None] = mapped_column(String(64))
    market_tier: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    FIELDS = ("name", "title", "department", "hospital", "city", "market_tier")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for f in self.FIELDS:
            value = getattr(self, f)
            if value is not None:
                out[f] = value
        return out | {k: v for k, v in (self.extra or {}).items() if k not in out}


class Source(Base):
    """One call, paper or consult; ``status``: pending → transcribed → analysed → done | failed."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("kind", "external_id", name="uq_source_kind_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Where the content lives (audio path); papers and consults keep their text in ``meta``.
    path: Mapped[str | None] = mapped_column(Text)
    date: Mapped[date | None] = mapped_column(Date)
    doctor_id: Mapped[str | None] = mapped_column(ForeignKey("doctors.id"), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    # The analysis that produced this source's sentences and tags.
    model_version: Mapped[str | None] = mapped_column(String(128))
    asr_model: Mapped[str | None] = mapped_column(String(128))
    duration: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    segments: Mapped[list[Segment]] = relationship(
        back_populates="source", cascade="all, delete-orphan", order_by="Segment.idx"
    )


class Segment(Base):
    """A transcript segment of a call (or the one text of a paper section / consult answer)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("source_id", "idx", name="uq_segment_source_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)

    source: Mapped[Source] = relationship(back_populates="segments")


class SentenceRow(Base):
    """One analysed sentence of the doctor's own words, with its labels (spec §2)."""

    __tablename__ = "sentences"
    __table_args__ = (UniqueConstraint("source_id", "idx", name="uq_sentence_source_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    segment_idx: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    stance: Mapped[str] = mapped_column(String(16), default="none")
    target: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    unmet_need: Mapped[str | None] = mapped_column(String(32))
    adverse_event: Mapped[bool] = mapped_column(Boolean, default=False)
    entities: Mapped[list[Any]] = mapped_column(default=list)


class Tag(Base):
    """A profile tag with its evidence: stance, topic, unmet need or adverse event.

    ``kind`` is one of ``stance``, ``topic``, ``unmet_need``, ``adverse_event``; ``value`` is the
    stance, topic or need category (for an adverse event, ``reported``).
    """

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("source_id", "sentence_idx", "kind", "value", "concept", name="uq_tag_evidence"),
        Index("ix_tags_doctor_kind", "doctor_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doctor_id: Mapped[str] = mapped_column(ForeignKey("doctors.id"))
    kind: Mapped[str] = mapped_column(String(16))
    concept: Mapped[str] = mapped_column(String(128), default="")
    value: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(128))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    sentence_idx: Mapped[int] = mapped_column(Integer)
    # Surface form of the concept in the evidence (for ``mentions``).
    mention: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TagEvent(Base):
    """What a write-back added or retracted: the audit trail of a doctor's tags."""

    __tablename__ = "tag_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doctor_id: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(16))  # added | retracted
    kind: Mapped[str] = mapped_column(String(16))
    concept: Mapped[str] = mapped_column(String(128), default="")
    value: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Job(Base):
    """One run of a source's pipeline: state, progress, attempts and the error if it failed."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    # What the job is about when it has no source yet (a file that could not be read).
    subject: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done failed skipped
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(8))
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Last sign of life (any update): a requeue leaves a job alone while this is recent.
    touched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "source_id": self.source_id,
            "state": self.state,
            "stage": self.stage,
            "progress": round(self.progress, 3),
            "attempts": self.attempts,
            "error": self.error,
            "code": self.code,
            "created_at": self.created_at.isoformat(timespec="seconds") if self.created_at else None,
            "finished_at": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None,
        }
