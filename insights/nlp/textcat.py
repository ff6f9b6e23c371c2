"""Sentence classifiers of the fast backend: topics, stance, unmet need, adverse event.

Linear models over character n-grams of the masked sentence view (see ``features``). ``predict``
is pure and batched; ``set_annotations`` writes the labels onto the sentences.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from insights.doc import STANCES, TOPICS, UNMET_NEEDS, Doc
from insights.errors import ErrorCode, ModelError
from insights.nlp.features import sentence_view

logger = logging.getLogger(__name__)
NO_NEED = "none"
NEEDS: tuple[str, ...] = (NO_NEED, *UNMET_NEEDS)


@dataclass(slots=True)
class SentenceLabels:
    topics: list[str]
    stance: str
    confidence: float
    unmet_need: str | None
    adverse_event: bool


@dataclass(slots=True)
class Gold:
    """The sentence-level training target of one corpus item."""

    topics: list[str]
    stance: str
    unmet_need: str | None
    adverse_event: bool


class LinearModels:
    """The fitted vectoriser and the four heads, pickled together."""

    def __init__(self, *, c: float = 16.0, topic_threshold: float = 0.35) -> None:
        self.vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=300_000
        )
        self.c = c
        self.topic_threshold = topic_threshold
        self.stance = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        self.need = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        self.ae = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        self.topics = OneVsRestClassifier(LogisticRegression(C=c, max_iter=3000))
        self.topic_binarizer = MultiLabelBinarizer(classes=list(TOPICS))

    def fit(self, views: Sequence[str], golds: Sequence[Gold]) -> LinearModels:
        x = self.vectorizer.fit_transform(views)
        self.stance.fit(x, [g.stance for g in golds])
        self.need.fit(x, [g.unmet_need or NO_NEED for g in golds])
        self.ae.fit(x, [int(g.adverse_event) for g in golds])
        self.topics.fit(x, self.topic_binarizer.fit_transform([g.topics for g in golds]))
        return self

    def predict_proba(self, views: Sequence[str]) -> Probs:
        """Class probabilities per head, columns in STANCES / NEEDS / (no, yes) / TOPICS order."""
        x = self.vectorizer.transform(views)
        return {
            "stance": _reorder(self.stance.predict_proba(x), self.stance.classes_, STANCES),
            "need": _reorder(self.need.predict_proba(x), self.need.classes_, NEEDS),
            "ae": _reorder(self.ae.predict_proba(x), self.ae.classes_, (0, 1)),
            "topics": _reorder(self.topics.predict_proba(x), self.topic_binarizer.classes_, TOPICS),
        }

    def predict(self, views: Sequence[str]) -> list[SentenceLabels]:
        if not views:
            return []
        return labels_from_proba(self.predict_proba(views), topic_threshold=self.topic_threshold)


Probs = dict[str, np.ndarray]


def _reorder(proba: np.ndarray, classes: Any, order: Sequence[Any]) -> np.ndarray:
    """Columns of ``proba`` (one per entry of ``classes``) rearranged into ``order``; absent -> 0."""
    index = {c: i for i, c in enumerate(list(classes))}
    out = np.zeros((proba.shape[0], len(order)), dtype=np.float64)
    for j, c in enumerate(order):
        if c in index:
            out[:, j] = proba[:, index[c]]
    return out


def labels_from_proba(probs: Probs, *, topic_threshold: float) -> list[SentenceLabels]:
    out: list[SentenceLabels] = []
    for i in range(probs["stance"].shape[0]):
        k = int(np.argmax(probs["stance"][i]))
        need = NEEDS[int(np.argmax(probs["need"][i]))]
        out.append(
            SentenceLabels(
                topics=[t for t, p in zip(TOPICS, probs["topics"][i], strict=True) if p >= topic_threshold],
                stance=STANCES[k],
                confidence=float(probs["stance"][i][k]),
                unmet_need=None if need == NO_NEED else need,
                adverse_event=bool(probs["ae"][i][1] >= 0.5),
            )
        )
    return out


def blend(a: Probs, b: Probs, weights: dict[str, float]) -> Probs:
    """Per head: ``w`` * a + (1 - ``w``) * b, with ``w`` = ``weights[head]`` (1.0 when absent)."""
    return {k: weights.get(k, 1.0) * a[k] + (1.0 - weights.get(k, 1.0)) * b[k] for k in a}


class LinearTextcat:
    """Pipeline component around :class:`LinearModels` loaded from a pickle in the model cache."""

    name = "textcat"

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self._models: LinearModels | None = None

    def initialize(self) -> LinearModels:
        if self._models is None:
            if not self.model_path.exists():
                raise ModelError(ErrorCode.MODEL_MISSING, str(self.model_path))
            with self.model_path.open("rb") as fh:
                obj: Any = pickle.load(fh)  # our own artefact, checksum-verified by the store
            if not isinstance(obj, LinearModels):
                raise ModelError(ErrorCode.MODEL_INVALID, str(self.model_path))
            self._models = obj
        return self._models

    def predict_views(self, views: Sequence[str]) -> list[SentenceLabels]:
        models = self._models or self.initialize()
        return models.predict(views)

    def predict(self, docs: Sequence[Doc]) -> list[list[SentenceLabels]]:
        views = [sentence_view(doc, s) for doc in docs for s in doc.sentences]
        flat = self.predict_views(views)
        out: list[list[SentenceLabels]] = []
        pos = 0
        for doc in docs:
            out.append(flat[pos : pos + len(doc.sentences)])
            pos += len(doc.sentences)
        return out

    def set_annotations(self, docs: Sequence[Doc], labels: Sequence[list[SentenceLabels]]) -> None:
        for doc, doc_labels in zip(docs, labels, strict=True):
            for sent, lab in zip(doc.sentences, doc_labels, strict=True):
                sent.topics = lab.topics
                sent.stance = lab.stance
                sent.confidence = lab.confidence
                sent.unmet_need = lab.unmet_need
                sent.adverse_event = lab.adverse_event

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))


def save_models(models: LinearModels, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(models, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def validate_labels(gold: Gold) -> None:
    if gold.stance not in STANCES:
        raise ValueError(f"bad stance {gold.stance!r}")
    if gold.unmet_need is not None and gold.unmet_need not in UNMET_NEEDS:
        raise ValueError(f"bad unmet need {gold.unmet_need!r}")
