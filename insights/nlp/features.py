"""The classifier's view of a sentence: text with entity spans masked by their label.

Masking makes the models learn how doctors talk about *a* drug (「<DRUG>效果确实好」) instead of
memorising which drugs appeared in training, and it is shared by both backends.
"""

from __future__ import annotations

from insights.doc import TREATMENT_LABELS, Doc, Entity, Sentence

# One private-use character per label, so a masked span stays one "character" for n-grams.
MASK: dict[str, str] = {
    "DRUG": "\ue001",
    "DRUG_CLASS": "\ue002",
    "DISEASE": "\ue003",
    "GENE": "\ue004",
    "THERAPY": "\ue005",
    "ENDPOINT": "\ue006",
    "ADVERSE_EVENT": "\ue007",
    "TRIAL": "\ue008",
    "GUIDELINE": "\ue009",
    "PERSON": "\ue00a",
    "ORG": "\ue00b",
}
NO_TREATMENT = "\ue0f0"
HAS_CONTEXT = "\ue0f1"
SOURCE_MARK = {"call": "\ue0e1", "paper": "\ue0e2", "consult": "\ue0e3"}
# Readable names of the marks, for the transformer backend's tokenizer.
READABLE = {
    **{v: f"[{k}]" for k, v in MASK.items()},
    NO_TREATMENT: "[无治疗概念]",
    HAS_CONTEXT: "[承上]",
    **{v: f"[{k}]" for k, v in SOURCE_MARK.items()},
}


def masked_text(text: str, offset: int, entities: list[Entity]) -> str:
    """``text`` (which starts at ``offset`` in its doc) with each entity replaced by its mark."""
    out: list[str] = []
    pos = 0
    for ent in sorted(entities, key=lambda e: e.start):
        a, b = ent.start - offset, ent.end - offset
        if a < pos or b > len(text):
            continue
        out.append(text[pos:a])
        out.append(MASK.get(ent.label, ""))
        pos = b
    out.append(text[pos:])
    return "".join(out).lower()


def sentence_view(doc: Doc, sent: Sentence) -> str:
    ents = doc.sentence_entities(sent)
    prefix = SOURCE_MARK.get(doc.source, "")
    if not any(e.label in TREATMENT_LABELS for e in ents):
        prefix += NO_TREATMENT
        if doc.context_concepts:
            prefix += HAS_CONTEXT
    return prefix + masked_text(doc.norm[sent.start : sent.end], sent.start, ents)


def readable(view: str) -> str:
    return "".join(READABLE.get(ch, ch) for ch in view)
