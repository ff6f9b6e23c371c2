"""Statistical NER: a character-level linear-chain CRF (python-crfsuite).

It sees the characters, jieba's word boundaries and the dictionary matcher's tags, so it learns
to keep the dictionary's spans and to find open-ended ones the ontology does not list (new
adverse-event wordings, disease variants, endpoints, people).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pycrfsuite

from insights.doc import Entity, Token

logger = logging.getLogger(__name__)

CharSpan = tuple[int, int, str]


def _ctype(ch: str) -> str:
    if "\u4e00" <= ch <= "\u9fff":
        return "H"
    if ch.isdigit():
        return "D"
    if ch.isascii() and ch.isalpha():
        return "U" if ch.isupper() else "L"
    if ch.isspace():
        return "S"
    return "P"


def bio_tags(length: int, spans: Sequence[CharSpan]) -> list[str]:
    tags = ["O"] * length
    for start, end, label in spans:
        if start < 0 or end > length or start >= end:
            continue
        if any(t != "O" for t in tags[start:end]):
            continue
        tags[start] = f"B-{label}"
        for k in range(start + 1, end):
            tags[k] = f"I-{label}"
    return tags


def spans_from_tags(tags: Sequence[str]) -> list[CharSpan]:
    spans: list[CharSpan] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("I-") and label == tag[2:] and start >= 0:
            continue
        if start >= 0:
            spans.append((start, i, label))
            start, label = -1, ""
        if tag.startswith("B-") or tag.startswith("I-"):
            start, label = i, tag[2:]
    return spans


def features(text: str, tokens: Sequence[Token], dict_spans: Sequence[CharSpan]) -> list[list[str]]:
    """Per-character feature strings. ``tokens`` and ``dict_spans`` use offsets into ``text``."""
    n = len(text)
    low = text.lower()
    dtags = bio_tags(n, dict_spans)
    wtag = ["S"] * n
    wsfx = [""] * n
    wlen = [1] * n
    word = [""] * n
    for tok in tokens:
        a, b = max(tok.start, 0), min(tok.end, n)
        if b <= a:
            continue
        for k in range(a, b):
            wtag[k] = "S" if b - a == 1 else ("B" if k == a else ("E" if k == b - 1 else "M"))
            wsfx[k] = low[max(a, b - 2) : b]
            wlen[k] = min(b - a, 6)
            word[k] = low[a:b]
    feats: list[list[str]] = []
    for i in range(n):
        c = low[i]
        prev1 = low[i - 1] if i > 0 else "<s>"
        prev2 = low[i - 2] if i > 1 else "<s>"
        next1 = low[i + 1] if i + 1 < n else "</s>"
        next2 = low[i + 2] if i + 2 < n else "</s>"
        feats.append(
            [
                "c=" + c,
                "c-1=" + prev1,
                "c+1=" + next1,
                "c-2=" + prev2,
                "c+2=" + next2,
                "b-=" + prev1 + c,
                "b+=" + c + next1,
                "t=" + _ctype(text[i]),
                "t-1=" + (_ctype(text[i - 1]) if i > 0 else "^"),
                "t+1=" + (_ctype(text[i + 1]) if i + 1 < n else "$"),
                "d=" + dtags[i],
                "d-1=" + (dtags[i - 1] if i > 0 else "^"),
                "d+1=" + (dtags[i + 1] if i + 1 < n else "$"),
                "w=" + wtag[i],
                "wl=" + str(wlen[i]),
                "ws=" + wsfx[i],
                "wd=" + word[i],
            ]
        )
    return feats


class CrfNer:
    """Wraps a trained CRF model file; ``predict`` is pure and batched."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self._tagger: pycrfsuite.Tagger | None = None

    def initialize(self) -> pycrfsuite.Tagger:
        if self._tagger is None:
            tagger = pycrfsuite.Tagger()
            tagger.open(str(self.model_path))
            self._tagger = tagger
        return self._tagger

    def predict(self, batch: Sequence[list[list[str]]]) -> list[list[CharSpan]]:
        tagger = self._tagger or self.initialize()
        return [spans_from_tags(tagger.tag(feats)) if feats else [] for feats in batch]


def train_crf(
    sequences: Sequence[tuple[list[list[str]], list[str]]],
    out_path: Path,
    *,
    c1: float = 0.05,
    c2: float = 0.05,
    max_iterations: int = 150,
) -> Path:
    trainer = pycrfsuite.Trainer(verbose=False)
    for feats, tags in sequences:
        trainer.append(feats, tags)
    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": max_iterations,
            "feature.possible_transitions": True,
        }
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(out_path))
    return out_path


def to_entities(text: str, offset: int, spans: Sequence[CharSpan]) -> list[Entity]:
    return [
        Entity(offset + a, offset + b, label, text[a:b], None, "crf", 0.8)
        for a, b, label in spans
        if text[a:b].strip()
    ]
