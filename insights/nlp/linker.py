"""Concept linking: every entity span to a concept id, exactly or by sound.

Order: the span's own concept (set by the dictionary matcher), an exact alias lookup, then a
pinyin match of the whole span (homophones and one-syllable near misses) with a confidence; a
candidate below the threshold leaves the entity unlinked rather than guessed.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from insights.doc import Doc, Entity
from insights.nlp.matcher import PinyinMatcher
from insights.ontology import LABEL_KINDS, Ontology


class Linker:
    name = "linker"

    def __init__(self, ontology: Ontology, *, threshold: float) -> None:
        self.ontology = ontology
        self.threshold = threshold
        self._pinyin: PinyinMatcher | None = None

    def initialize(self) -> None:
        if self._pinyin is None:
            self._pinyin = PinyinMatcher(self.ontology)

    def link(self, ent: Entity) -> tuple[str | None, float]:
        kinds = LABEL_KINDS.get(ent.label, ())
        concept = self.ontology.lookup(ent.text)
        if concept is not None and concept.kind in kinds:
            return concept.id, 1.0
        if not kinds:
            return None, 0.0
        if self._pinyin is None:
            self.initialize()
        matcher = self._pinyin
        if matcher is None:
            return None, 0.0
        hits = matcher.match(ent.text, [])
        whole = [h for h in hits if h.start == 0 and h.end == len(ent.text)]
        for hit in whole:
            cid = hit.concept
            if cid and cid.split(":", 1)[0] in kinds and hit.score >= self.threshold:
                return cid, hit.score
        return self._latin_near_miss(ent.text, kinds)

    def _latin_near_miss(self, text: str, kinds: tuple[str, ...]) -> tuple[str | None, float]:
        """Latin spellings one edit away from a known term of the same kind (osimertnib)."""
        if not text.isascii() or len(text) < 6:
            return None, 0.0
        key = text.lower()
        best: tuple[str | None, float] = (None, 0.0)
        for surface, cid in self.ontology.alias_index.items():
            if not surface.isascii() or abs(len(surface) - len(key)) > 1:
                continue
            if cid.split(":", 1)[0] not in kinds:
                continue
            d = Levenshtein.distance(key, surface, score_cutoff=1)
            if d <= 1:
                score = 0.8
                if score > best[1]:
                    best = (cid, score)
        return best if best[1] >= self.threshold else (None, 0.0)

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            for ent in doc.entities:
                if ent.concept is None:
                    cid, score = self.link(ent)
                    if cid is not None:
                        ent.concept = cid
                        ent.score = min(ent.score, score)
