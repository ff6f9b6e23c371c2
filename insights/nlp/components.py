"""The pipeline's components. Each takes a batch of docs and annotates them in place.

Heavy state (dictionaries, models) is built in ``initialize``, never at construction or import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from insights.doc import Doc, Entity, Sentence
from insights.nlp.crf import CharSpan, CrfNer, features, to_entities
from insights.nlp.linker import Linker
from insights.nlp.matcher import OntologyMatcher, PinyinMatcher
from insights.nlp.patterns import find_patterns
from insights.nlp.targets import resolve_targets, treatment_candidates
from insights.ontology import Ontology
from insights.text.normalize import normalize
from insights.text.sentences import split_sentences
from insights.text.tokenize import Tokenizer


class Component(Protocol):
    name: str

    def initialize(self) -> object: ...

    def __call__(self, docs: list[Doc]) -> None: ...


class Normalizer:
    name = "normalize"

    def initialize(self) -> None:
        return None

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            doc.norm = normalize(doc.text)


class Sentencizer:
    name = "sentences"

    def __init__(self, *, max_chars: int) -> None:
        self.max_chars = max_chars

    def initialize(self) -> None:
        return None

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            spans = split_sentences(doc.norm, max_chars=self.max_chars)
            doc.sentences = [Sentence(a, b, doc.text[a:b]) for a, b in spans]


class TokenizerComponent:
    name = "tokenize"

    def __init__(self, ontology: Ontology) -> None:
        self.ontology = ontology
        self._tokenizer: Tokenizer | None = None

    def initialize(self) -> Tokenizer:
        if self._tokenizer is None:
            words = [s for c in self.ontology.concepts.values() for s in c.surfaces()]
            tok = Tokenizer(words)
            tok.initialize()
            self._tokenizer = tok
        return self._tokenizer

    def __call__(self, docs: list[Doc]) -> None:
        tok = self._tokenizer or self.initialize()
        for doc in docs:
            doc.tokens = tok(doc.norm)


def _overlaps(ent: Entity, taken: Sequence[tuple[int, int]]) -> bool:
    return any(ent.start < b and a < ent.end for a, b in taken)


class EntityRecognizer:
    """Dictionary (exact), patterns, pinyin near-misses, then the CRF for open-ended spans."""

    name = "entities"

    def __init__(self, ontology: Ontology, *, threshold: float, crf_path: Path | None) -> None:
        self.ontology = ontology
        self.threshold = threshold
        self.crf_path = crf_path
        self._matcher: OntologyMatcher | None = None
        self._pinyin: PinyinMatcher | None = None
        self._crf: CrfNer | None = None

    def initialize(self) -> tuple[OntologyMatcher, PinyinMatcher]:
        if self._matcher is None or self._pinyin is None:
            companies = {c.company: "ORG" for c in self.ontology.concepts.values() if c.company}
            self._matcher = OntologyMatcher(self.ontology, extra=companies)
            self._pinyin = PinyinMatcher(self.ontology)
            if self.crf_path is not None and self.crf_path.exists():
                self._crf = CrfNer(self.crf_path)
                self._crf.initialize()
        return self._matcher, self._pinyin

    def dictionary_entities(self, norm: str) -> list[Entity]:
        """Exact, pattern and pinyin matches, non-overlapping, in text order."""
        matcher, pinyin = self.initialize()
        found = matcher(norm)
        taken = [(e.start, e.end) for e in found]
        for ent in find_patterns(norm):
            if not _overlaps(ent, taken):
                found.append(ent)
                taken.append((ent.start, ent.end))
        for ent in pinyin.match(norm, taken):
            if ent.score >= self.threshold:
                found.append(ent)
        return sorted(found, key=lambda e: e.start)

    @staticmethod
    def crf_features(doc: Doc, sent: Sentence, dict_ents: Sequence[Entity]) -> list[list[str]]:
        a, b = sent.start, sent.end
        toks = [t for t in doc.tokens if t.start >= a and t.end <= b]
        shifted = [type(t)(t.text, t.start - a, t.end - a) for t in toks]
        spans: list[CharSpan] = [
            (e.start - a, e.end - a, e.label) for e in dict_ents if e.start >= a and e.end <= b
        ]
        return features(doc.norm[a:b], shifted, spans)

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            doc.entities = self.dictionary_entities(doc.norm)
        if self._crf is not None:
            batch = [(doc, s) for doc in docs for s in doc.sentences]
            preds = self._crf.predict([self.crf_features(doc, s, doc.entities) for doc, s in batch])
            found: dict[int, list[Entity]] = {}
            for (doc, sent), spans in zip(batch, preds, strict=True):
                seg = doc.norm[sent.start : sent.end]
                found.setdefault(id(doc), []).extend(to_entities(seg, sent.start, spans))
            for doc in docs:
                doc.entities = adopt_concepts(found.get(id(doc), []), doc.entities)
        for doc in docs:
            doc.entities.sort(key=lambda e: e.start)
            for ent in doc.entities:
                ent.text = doc.text[ent.start : ent.end]


def adopt_concepts(statistical: list[Entity], dictionary: list[Entity]) -> list[Entity]:
    """The CRF decides the spans; a dictionary match on the same span lends its concept.

    Measured on the dev split, the CRF's own spans (it sees the dictionary tags as features)
    beat every merge with the raw dictionary matches: the dictionary also matches words the
    annotation does not treat as entities (手术, 副作用, 感染) and shorter parts of longer spans.
    """
    by_span = {(e.start, e.end): e for e in dictionary}
    for ent in statistical:
        match = by_span.get((ent.start, ent.end))
        if match is not None and match.concept and match.label == ent.label:
            ent.concept, ent.source, ent.score = match.concept, match.source, match.score
    return statistical


class ContextReader:
    """Concepts named in the doc's ``context`` (earlier turns), for ellipsis targets."""

    name = "context"

    def __init__(self, recognizer: EntityRecognizer, linker: Linker) -> None:
        self.recognizer = recognizer
        self.linker = linker
        self._regimens_of: dict[str, list[str]] = {}

    def initialize(self) -> None:
        self.recognizer.initialize()

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            if not doc.context:
                continue
            ctx = Doc(text=doc.context, norm=normalize(doc.context))
            ctx.entities = self.recognizer.dictionary_entities(ctx.norm)
            self.linker([ctx])
            whole = Sentence(0, len(ctx.norm), ctx.norm)
            concepts: list[str] = []
            for e in sorted(ctx.entities, key=lambda e: e.start):
                if e.label == "TRIAL" and e.concept:
                    # A trial named in the conversation brings the regimen it tested.
                    concepts.extend(self._trial_regimens(e.concept))
                elif e in treatment_candidates(ctx, whole):
                    concepts.append(str(e.concept))
            doc.context_concepts = concepts

    def _trial_regimens(self, trial_id: str) -> list[str]:
        if trial_id not in self._regimens_of:
            onto = self.recognizer.ontology
            trial = onto.get(trial_id)
            covered: set[str] = set()
            for d in trial.drugs if trial else []:
                covered.add(d)
                drug = onto.get(d)
                covered.update(drug.classes if drug else [])
            tested = [
                r for r in onto.by_kind("regimen") if len(r.components) >= 2 and set(r.components) <= covered
            ]
            # The whole regimen, not its backbone: FLAURA2 is osimertinib + chemo, not chemo alone.
            self._regimens_of[trial_id] = [
                r.id for r in tested if not any(set(r.components) < set(o.components) for o in tested)
            ]
        return self._regimens_of[trial_id]


class TargetResolver:
    name = "targets"

    def initialize(self) -> None:
        return None

    def __call__(self, docs: list[Doc]) -> None:
        for doc in docs:
            resolve_targets(doc)
