"""Typed containers that flow through the pipeline (spaCy's ``Doc`` idea, kept small).

Offsets are character offsets into ``Doc.text`` (end exclusive). Normalisation keeps one character
per input character, so offsets are valid for the caller's original text too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["call", "paper", "consult"]
SOURCES: tuple[str, ...] = ("call", "paper", "consult")
Stance = Literal["support", "oppose", "neutral", "none"]
STANCES: tuple[str, ...] = ("support", "oppose", "neutral", "none")

ENTITY_LABELS: tuple[str, ...] = (
    "DRUG",
    "DRUG_CLASS",
    "DISEASE",
    "GENE",
    "THERAPY",
    "ENDPOINT",
    "ADVERSE_EVENT",
    "TRIAL",
    "GUIDELINE",
    "PERSON",
    "ORG",
)
TOPICS: tuple[str, ...] = (
    "efficacy",
    "safety",
    "resistance",
    "testing",
    "early_diagnosis",
    "combination",
    "frontier",
    "access",
    "guideline",
    "patient_management",
    "education",
)
UNMET_NEEDS: tuple[str, ...] = (
    "therapy_gap",
    "evidence_gap",
    "access",
    "diagnostics",
    "safety_management",
    "patient_management",
    "education",
)
# Labels whose entities denote a treatment concept that a stance can be about.
TREATMENT_LABELS: frozenset[str] = frozenset({"DRUG", "DRUG_CLASS", "THERAPY"})


@dataclass(slots=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(slots=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    concept: str | None = None
    # Where the span came from (``ontology``, ``fuzzy``, ``pattern``, ``crf``) and how sure.
    source: str = "ontology"
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "text": self.text,
            "concept": self.concept,
        }
        if self.score < 1.0:
            out["confidence"] = round(self.score, 3)
        return out


@dataclass(slots=True)
class Sentence:
    start: int
    end: int
    text: str
    topics: list[str] = field(default_factory=list)
    stance: str = "none"
    target: str | None = None
    unmet_need: str | None = None
    adverse_event: bool = False
    # Confidence of the stance decision (probability of the chosen class).
    confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "topics": list(self.topics),
            "stance": self.stance,
            "target": self.target,
            "unmet_need": self.unmet_need,
            "adverse_event": self.adverse_event,
            "confidence": round(self.confidence, 3),
        }


@dataclass(slots=True)
class Doc:
    """One analysed text: the caller's ``text``, its normalised form, tokens, entities, sentences."""

    text: str
    id: str | None = None
    source: str = "call"
    # Earlier text of the same conversation or document, used only to resolve ellipsis targets.
    context: str | None = None
    norm: str = ""
    tokens: list[Token] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    context_concepts: list[str] = field(default_factory=list)

    def sentence_entities(self, sent: Sentence) -> list[Entity]:
        return [e for e in self.entities if e.start >= sent.start and e.end <= sent.end]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entities": [e.to_dict() for e in self.entities],
            "sentences": [s.to_dict() for s in self.sentences],
        }
