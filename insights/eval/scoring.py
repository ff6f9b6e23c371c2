"""Item-level scoring of analysis output, identical in method to shared/tools/score_analysis.py.

An item's predicted stance is its first non-``none`` sentence stance, topics the union, unmet need
the first non-null, adverse event any(); entities match on (text, label) as a multiset.
Target accuracy (not in the reference scorer) compares the concept of the first non-``none``
sentence with the gold target on items whose gold stance is not ``none``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

STANCES = ("support", "oppose", "neutral", "none")


def f1(tp: float, fp: float, fn: float) -> float:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def score(golds: Sequence[dict[str, Any]], preds: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """``golds``: the ``gold`` objects; ``preds``: spec §3 outputs in the same order (None = missing)."""
    ent: Counter[str] = Counter()
    ent_lab: dict[str, Counter[str]] = {}
    st_conf: Counter[tuple[str, str]] = Counter()
    un: Counter[str] = Counter()
    un_cat = [0, 0]
    ae: Counter[str] = Counter()
    top: Counter[str] = Counter()
    tgt = [0, 0]
    missing = 0
    for gg, p in zip(golds, preds, strict=True):
        if p is None or "error" in p:
            missing += 1
            p = {"entities": [], "sentences": []}
        sents = p.get("sentences") or []
        ge = Counter((e["text"], e["label"]) for e in gg["entities"])
        pe_raw = Counter((e.get("text"), e.get("label")) for e in p.get("entities") or [])
        pe = Counter({k: 1 for k in pe_raw})
        for k in set(ge) | set(pe):
            c = ent_lab.setdefault(str(k[1]), Counter())
            tp = min(ge[k], pe[k])
            c["tp"] += tp
            c["fp"] += pe[k] - tp
            c["fn"] += ge[k] - tp
            ent["tp"] += tp
            ent["fp"] += pe[k] - tp
            ent["fn"] += ge[k] - tp
        first = next((s for s in sents if s.get("stance") not in (None, "none")), None)
        ps = first.get("stance") if first else "none"
        st_conf[(gg["stance"], str(ps))] += 1
        if gg["stance"] != "none" and gg.get("target"):
            tgt[1] += 1
            tgt[0] += bool(first) and first.get("target") == gg["target"]  # type: ignore[union-attr]
        pu = next((s.get("unmet_need") for s in sents if s.get("unmet_need")), None)
        gu = gg["unmet_need"]
        un["tp"] += bool(gu) and bool(pu)
        un["fp"] += (not gu) and bool(pu)
        un["fn"] += bool(gu) and not pu
        if gu and pu:
            un_cat[0] += gu == pu
            un_cat[1] += 1
        pa = any(s.get("adverse_event") for s in sents)
        ga = gg["adverse_event"]
        ae["tp"] += ga and pa
        ae["fp"] += (not ga) and pa
        ae["fn"] += ga and not pa
        gt = set(gg["topics"])
        pt = {t for s in sents for t in (s.get("topics") or [])}
        top["tp"] += len(gt & pt)
        top["fp"] += len(pt - gt)
        top["fn"] += len(gt - pt)
    st_f1 = {}
    for lab in STANCES:
        tp = st_conf[(lab, lab)]
        fp = sum(v for (g, q), v in st_conf.items() if q == lab and g != lab)
        fn = sum(v for (g, q), v in st_conf.items() if g == lab and q != lab)
        st_f1[lab] = round(f1(tp, fp, fn), 3)
    n = max(1, len(golds))
    return {
        "items": len(golds),
        "missing_or_error": missing,
        "entity_f1": round(f1(ent["tp"], ent["fp"], ent["fn"]), 3),
        "entity_f1_by_label": {
            k: round(f1(c["tp"], c["fp"], c["fn"]), 3) for k, c in sorted(ent_lab.items())
        },
        "stance_macro_f1": round(sum(st_f1.values()) / len(st_f1), 3),
        "stance_f1": st_f1,
        "stance_acc": round(sum(v for (g, q), v in st_conf.items() if g == q) / n, 3),
        "target_acc": round(tgt[0] / tgt[1], 3) if tgt[1] else 0.0,
        "unmet_need_f1": round(f1(un["tp"], un["fp"], un["fn"]), 3),
        "unmet_need_category_acc": round(un_cat[0] / un_cat[1], 3) if un_cat[1] else 0.0,
        "adverse_event_f1": round(f1(ae["tp"], ae["fp"], ae["fn"]), 3),
        "topics_micro_f1": round(f1(top["tp"], top["fp"], top["fn"]), 3),
    }


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    scores = []
    for c in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        scores.append(f1(tp, fp, fn))
    return sum(scores) / len(scores) if scores else 0.0
