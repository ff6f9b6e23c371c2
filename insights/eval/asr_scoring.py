"""Transcript scoring, identical in its figures to ``shared/tools/score_asr.py`` (the reference).

CER is corpus-level over the calls after :func:`norm` (NFKC, lowercase, Chinese numerals as digits
with cn2an, no punctuation or space) on both sides; term recall counts the truth's doctor-turn
entities labelled DRUG, DRUG_CLASS, GENE or TRIAL whose normalised text occurs in the call's
hypothesis; HCP attribution is the share of doctor-turn seconds covered by segments labelled
``hcp``; caller leak the same share of caller-turn seconds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
TERM_LABELS = frozenset({"DRUG", "DRUG_CLASS", "GENE", "TRIAL"})


def _numerals(text: str) -> str:
    try:
        import cn2an

        return str(cn2an.transform(text, "cn2an"))
    except Exception:  # cn2an rejects some strings; the reference then keeps the text as is
        return text


def norm(text: str | None) -> str:
    t = unicodedata.normalize("NFKC", text or "").lower()
    t = _numerals(t)
    return PUNCT.sub("", t)


def edit_distance(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@dataclass
class CallScore:
    call_id: str
    errors: int
    ref_chars: int
    terms_found: int
    terms_all: int
    hcp_covered: float
    hcp_total: float
    leak: float
    caller_total: float
    missing: bool
    missed_terms: list[str] = field(default_factory=list)

    @property
    def cer(self) -> float:
        return self.errors / max(1, self.ref_chars)


def score_call(truth: dict[str, Any], pred: dict[str, Any] | None) -> CallScore:
    segs = [] if pred is None or "error" in pred else (pred.get("segments") or [])
    ref = norm("".join(x["text"] for x in truth["turns"]))
    hyp = norm("".join(s.get("text", "") for s in segs))
    found = total = 0
    missed: list[str] = []
    for gold in truth.get("gold", []):
        for ent in gold["entities"]:
            if ent["label"] in TERM_LABELS:
                total += 1
                if norm(ent["text"]) in hyp:
                    found += 1
                else:
                    missed.append(ent["text"])
    hcp_cov = hcp_tot = leak = caller_tot = 0.0
    hcp_segs = [(float(s.get("start", 0)), float(s.get("end", 0))) for s in segs if s.get("speaker") == "hcp"]
    for turn in truth["turns"]:
        d = turn["end"] - turn["start"]
        cov = min(d, sum(_overlap(turn["start"], turn["end"], a, b) for a, b in hcp_segs))
        if turn["speaker"] == "hcp":
            hcp_tot += d
            hcp_cov += cov
        else:
            caller_tot += d
            leak += cov
    return CallScore(
        call_id=truth["call_id"],
        errors=edit_distance(ref, hyp),
        ref_chars=len(ref),
        terms_found=found,
        terms_all=total,
        hcp_covered=hcp_cov,
        hcp_total=hcp_tot,
        leak=leak,
        caller_total=caller_tot,
        missing=not segs,
        missed_terms=missed,
    )


def summarize(scores: list[CallScore]) -> dict[str, Any]:
    errors = sum(s.errors for s in scores)
    chars = sum(s.ref_chars for s in scores)
    return {
        "calls": len(scores),
        "missing_or_error": sum(s.missing for s in scores),
        "cer": round(errors / max(1, chars), 4),
        "term_recall": round(
            sum(s.terms_found for s in scores) / max(1, sum(s.terms_all for s in scores)), 3
        ),
        "terms": sum(s.terms_all for s in scores),
        "hcp_attribution": round(
            sum(s.hcp_covered for s in scores) / max(1e-9, sum(s.hcp_total for s in scores)), 3
        ),
        "caller_leak": round(sum(s.leak for s in scores) / max(1e-9, sum(s.caller_total for s in scores)), 3),
    }
