"""Choose the concept a sentence's stance is about.

The candidates are the treatment concepts (drug, class, regimen, therapy) linked in the sentence;
without one, the stance refers back (这个药, 你们那个方案) to the latest concept of the document or
of the given context. Comparisons decide between several: A比B好 favours A, 与其A不如B favours B.
"""

from __future__ import annotations

import re
from collections import Counter

from insights.doc import TREATMENT_LABELS, Doc, Entity, Sentence

# Specific concepts make better targets than the modality they belong to.
_PRIORITY = {"drug": 0, "regimen": 0, "class": 1, "therapy": 2}
_FAVOUR_SECOND = re.compile(r"不如|还是.{0,6}(?:更|好)|换成|改用|优先选?|更倾向于?|倒不如|宁愿")
_FAVOUR_FIRST = re.compile(r"比|优于|好于|强于|胜过|超过|better than|superior to|versus|vs\.?", re.I)


def treatment_candidates(doc: Doc, sent: Sentence) -> list[Entity]:
    return [
        e
        for e in doc.sentence_entities(sent)
        if e.label in TREATMENT_LABELS and e.concept and e.concept.split(":", 1)[0] in _PRIORITY
    ]


def choose_target(doc: Doc, sent: Sentence, stance: str, memory: str | None) -> str | None:
    if stance == "none":
        return None
    cands = treatment_candidates(doc, sent)
    distinct = list(dict.fromkeys(e.concept for e in cands if e.concept))
    if not distinct:
        return memory
    if len(distinct) == 1:
        return distinct[0]
    first = next(e for e in cands if e.concept == distinct[0])
    second = next(e for e in cands if e.concept == distinct[1])
    between = doc.norm[first.end : second.start]
    if stance in ("support", "oppose") and first.end <= second.start:
        if _FAVOUR_SECOND.search(between) or _FAVOUR_SECOND.search(doc.norm[sent.start : first.start]):
            return second.concept if stance == "support" else first.concept
        if _FAVOUR_FIRST.search(between):
            return first.concept if stance == "support" else second.concept
    ranked = sorted(cands, key=lambda e: (_PRIORITY[e.concept.split(":", 1)[0]], e.start))  # type: ignore[union-attr]
    return ranked[0].concept


def _topic(concepts: list[str]) -> str | None:
    """The concept a conversation is about: the most mentioned one, the earliest on a tie."""
    # most_common lists equal counts in first-seen order.
    return Counter(concepts).most_common(1)[0][0] if concepts else None


# Generic names of a combination: in a conversation about one regimen they mean that regimen.
_GENERIC_COMBINATION = frozenset({"therapy:combination-therapy", "therapy:chemo-combination"})
_CHEMO_PART = re.compile(r"chemo|platinum|pemetrexed|taxel|carboplatin|cisplatin")
# A stance without a named concept that says 方案 / 联合 refers to the regimen under discussion.
_REGIMEN_REFERENCE = re.compile(r"方案|联合|联用|合用")


def _specialise(target: str | None, regimens: list[str]) -> str | None:
    """联合化疗 / 联合方案 → the latest regimen named in the conversation that fits it."""
    if target not in _GENERIC_COMBINATION or not regimens:
        return target
    if target == "therapy:chemo-combination":
        fitting = [r for r in regimens if _CHEMO_PART.search(r)]
        return fitting[-1] if fitting else target
    return regimens[-1]


def resolve_targets(doc: Doc) -> None:
    """Fill ``Sentence.target`` for every sentence, carrying the latest concept forward."""
    memory = _topic(doc.context_concepts)
    regimens = [c for c in doc.context_concepts if c.startswith("regimen:")]
    for sent in doc.sentences:
        cands = treatment_candidates(doc, sent)
        regimens += [e.concept for e in cands if e.concept and e.concept.startswith("regimen:")]
        recall = memory
        if not cands and regimens and _REGIMEN_REFERENCE.search(sent.text):
            recall = regimens[-1]
        sent.target = _specialise(choose_target(doc, sent, sent.stance, recall), regimens)
        if sent.target:
            memory = sent.target
        elif cands:
            memory = cands[-1].concept
