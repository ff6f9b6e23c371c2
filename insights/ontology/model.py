"""Concepts and the alias index built over them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from insights.ontology.keys import alias_key

# Concept kind (id prefix) -> entity label of its surface forms.
KIND_LABEL: dict[str, str] = {
    "drug": "DRUG",
    "class": "DRUG_CLASS",
    "regimen": "THERAPY",
    "therapy": "THERAPY",
    "disease": "DISEASE",
    "gene": "GENE",
    "trial": "TRIAL",
    "guideline": "GUIDELINE",
    "endpoint": "ENDPOINT",
    "ae": "ADVERSE_EVENT",
}
LABEL_KINDS: dict[str, tuple[str, ...]] = defaultdict(tuple)
for _kind, _label in KIND_LABEL.items():
    LABEL_KINDS[_label] = (*LABEL_KINDS[_label], _kind)

# File section -> concept kind.
SECTION_KIND: dict[str, str] = {
    "drugs": "drug",
    "classes": "class",
    "regimens": "regimen",
    "therapies": "therapy",
    "diseases": "disease",
    "genes": "gene",
    "trials": "trial",
    "guidelines": "guideline",
    "endpoints": "endpoint",
    "adverse_events": "ae",
}
SURFACE_FIELDS: tuple[str, ...] = ("zh", "en", "aliases", "brands_zh", "brands_en", "codes")
LIST_FIELDS: tuple[str, ...] = (
    "aliases",
    "brands_zh",
    "brands_en",
    "codes",
    "classes",
    "indications",
    "components",
    "drugs",
    "ta",
)
REF_FIELDS: dict[str, str] = {
    "classes": "class",
    "indications": "disease",
    "drugs": "drug",
}


@dataclass(slots=True)
class Concept:
    id: str
    kind: str
    zh: str = ""
    en: str = ""
    aliases: list[str] = field(default_factory=list)
    brands_zh: list[str] = field(default_factory=list)
    brands_en: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    indications: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    ta: list[str] = field(default_factory=list)
    parent: str | None = None
    status: str | None = None
    company: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return KIND_LABEL[self.kind]

    @property
    def name(self) -> str:
        return self.zh or self.en or self.id

    def surfaces(self) -> list[str]:
        out: list[str] = []
        for f in SURFACE_FIELDS:
            value = getattr(self, f)
            items = [value] if isinstance(value, str) else list(value)
            out.extend(s for s in items if s)
        return out


@dataclass
class Ontology:
    """All concepts by id, and an index from normalised surface form to concept id."""

    concepts: dict[str, Concept]
    alias_index: dict[str, str] = field(default_factory=dict)
    # (surface, first id, second id) pairs that name two concepts; empty in valid data.
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.alias_index:
            self._index()

    def _index(self) -> None:
        index: dict[str, str] = {}
        for concept in self.concepts.values():
            for surface in concept.surfaces():
                key = alias_key(surface)
                other = index.get(key)
                if other is None:
                    index[key] = concept.id
                elif other != concept.id:
                    self.conflicts.append((surface, other, concept.id))
        # Squeezed variants (PD1 for PD-1) only fill free keys: a real surface form always wins,
        # and a variant two concepts would share is dropped.
        variants: dict[str, set[str]] = {}
        for concept in self.concepts.values():
            for surface in concept.surfaces():
                for key in surface_keys(surface)[1:]:
                    if key not in index:
                        variants.setdefault(key, set()).add(concept.id)
        for key, ids in variants.items():
            if len(ids) == 1:
                index[key] = next(iter(ids))
        self.alias_index = index

    def get(self, concept_id: str) -> Concept | None:
        return self.concepts.get(concept_id)

    def lookup(self, surface: str) -> Concept | None:
        cid = self.alias_index.get(alias_key(surface))
        return self.concepts[cid] if cid else None

    def by_kind(self, kind: str) -> list[Concept]:
        return [c for c in self.concepts.values() if c.kind == kind]

    def therapy_areas(self) -> list[str]:
        return sorted({ta for c in self.concepts.values() for ta in c.ta})


def surface_keys(surface: str) -> list[str]:
    """Index keys for one surface form: its normalised key, plus a variant without ``-``/space.

    ASR and casual typing drop the hyphen of ``PD-1`` or the space of ``CheckMate 227``.
    """
    key = alias_key(surface)
    keys = [key]
    squeezed = key.replace("-", "").replace(" ", "")
    if squeezed != key and len(squeezed) >= 3:
        keys.append(squeezed)
    return keys
