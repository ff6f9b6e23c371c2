"""``insights eval``: own test split for each backend, plus transfer checks on public datasets."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from insights.analyze import analyze_lines
from insights.corpus.io import Item, load_split, with_context
from insights.eval.scoring import macro_f1, score

logger = logging.getLogger(__name__)


def item_lines(items: list[Item]) -> Iterator[str]:
    for it, ctx in with_context(items):
        yield json.dumps(
            {"id": it.id, "text": it.text, "source": it.source, "context": ctx}, ensure_ascii=False
        )


def predict_items(items: list[Item], backend: str) -> list[dict[str, Any]]:
    return list(analyze_lines(item_lines(items), backend=backend))


def eval_split(split: str, backend: str, *, pred_out: Path | None = None) -> dict[str, Any]:
    items = load_split(split)
    preds = predict_items(items, backend)
    if pred_out is not None:
        pred_out.parent.mkdir(parents=True, exist_ok=True)
        with pred_out.open("w", encoding="utf-8") as fh:
            for p in preds:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    golds = [it.to_json()["gold"] for it in items]
    result = score(golds, preds)
    result["backend"] = backend
    result["split"] = split
    by_style: dict[str, Any] = {}
    for style in sorted({it.style for it in items}):
        idx = [i for i, it in enumerate(items) if it.style == style]
        sub = score([golds[i] for i in idx], [preds[i] for i in idx])
        by_style[style] = {k: sub[k] for k in ("items", "entity_f1", "stance_macro_f1", "target_acc")}
    result["by_style"] = by_style
    return result


def write_gold(split: str, dest: Path) -> Path:
    """The split in the reference scorer's gold format (for shared/tools/score_analysis.py)."""
    with dest.open("w", encoding="utf-8") as fh:
        for it in load_split(split):
            fh.write(json.dumps(it.to_json(), ensure_ascii=False) + "\n")
    return dest


# --- transfer checks on ../shared/datasets -------------------------------------------------


def cmeee(path: Path, backend: str, limit: int | None) -> dict[str, Any]:
    """CMeEE dev: span F1 on drugs (dru->DRUG) and diseases (dis->DISEASE)."""
    rows = json.loads(path.read_text(encoding="utf-8"))[:limit]
    lines = (
        json.dumps({"id": str(i), "text": r["text"], "source": "paper"}, ensure_ascii=False)
        for i, r in enumerate(rows)
    )
    preds = list(analyze_lines(lines, backend=backend))
    mapping = {"dru": "DRUG", "dis": "DISEASE"}
    tp = fp = fn = 0
    per: dict[str, list[int]] = {"DRUG": [0, 0, 0], "DISEASE": [0, 0, 0]}
    for r, p in zip(rows, preds, strict=True):
        gold = {
            (e["start_idx"], e["end_idx"] + 1, mapping[e["type"]])
            for e in r["entities"]
            if e["type"] in mapping
        }
        pred = {(e["start"], e["end"], e["label"]) for e in p.get("entities", []) if e["label"] in per}
        for lab, c in per.items():
            g = {x for x in gold if x[2] == lab}
            q = {x for x in pred if x[2] == lab}
            c[0] += len(g & q)
            c[1] += len(q - g)
            c[2] += len(g - q)
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    from insights.eval.scoring import f1

    return {
        "sentences": len(rows),
        "drug_disease_f1": round(f1(tp, fp, fn), 3),
        **{f"{k.lower()}_f1": round(f1(*v), 3) for k, v in per.items()},
    }


def _stance_transfer(rows: list[tuple[str, str, str]], backend: str) -> dict[str, Any]:
    """rows: (text, target, gold in support/oppose/neutral); the target goes in as context."""
    lines = (
        json.dumps({"id": str(i), "text": t, "source": "consult", "context": tg}, ensure_ascii=False)
        for i, (t, tg, _) in enumerate(rows)
    )
    preds = list(analyze_lines(lines, backend=backend))
    got = []
    for p in preds:
        s = next((s["stance"] for s in p.get("sentences", []) if s["stance"] != "none"), "neutral")
        got.append(s)
    gold = [g for _, _, g in rows]
    return {
        "items": len(rows),
        "macro_f1": round(macro_f1(gold, got, ("support", "oppose", "neutral")), 3),
    }


def c_stance(path: Path, backend: str, limit: int | None) -> dict[str, Any]:
    mapping = {"支持": "support", "反对": "oppose", "中立": "neutral"}
    rows = []
    with path.open(encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            g = mapping.get(r.get("Stance 1", ""))
            if g and r.get("Text"):
                rows.append((r["Text"], r.get("Target 1", ""), g))
    return _stance_transfer(rows[:limit], backend)


def nlpcc(path: Path, backend: str, limit: int | None) -> dict[str, Any]:
    mapping = {"FAVOR": "support", "AGAINST": "oppose", "NONE": "neutral"}
    rows = []
    with path.open(encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4 and parts[3].strip() in mapping:
                rows.append((parts[2], parts[1], mapping[parts[3].strip()]))
    return _stance_transfer(rows[:limit], backend)


def transfer(datasets: Path, backend: str, limit: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    checks = {
        "cmeee_dev": (datasets / "cblue-cmeee" / "CMeEE_dev.json", cmeee),
        "c_stance_a_test": (
            datasets / "c-stance" / "subtaskA" / "raw_test_all_onecol.csv",
            c_stance,
        ),
        "nlpcc2016_test": (
            datasets / "nlpcc2016-stance" / "NLPCC_2016_Stance_Detection_Task_A_gold.utf8.txt",
            nlpcc,
        ),
    }
    for name, (path, fn) in checks.items():
        if path.exists():
            out[name] = fn(path, backend, limit)
        else:
            out[name] = {"skipped": f"{path} not found"}
    return out
