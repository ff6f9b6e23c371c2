"""Assemble components into a pipeline by registered, versioned names.

``BACKENDS`` lists each backend's component names; :func:`get_pipeline` builds one per process
(lazily) and :meth:`Pipeline.initialize` loads the heavy parts once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from insights.config import Settings, get_settings
from insights.doc import Doc
from insights.errors import ErrorCode, ModelError
from insights.nlp.components import (
    Component,
    ContextReader,
    EntityRecognizer,
    Normalizer,
    Sentencizer,
    TargetResolver,
    TokenizerComponent,
)
from insights.nlp.linker import Linker
from insights.nlp.store import model_dir, read_manifest, transformer_dir, verify
from insights.nlp.textcat import LinearTextcat
from insights.ontology import Ontology, get_ontology

logger = logging.getLogger(__name__)


@dataclass
class Resources:
    """What factories may use: settings, ontology, and the folder of built models."""

    settings: Settings
    ontology: Ontology
    models: Path
    transformer: Path
    shared: dict[str, object]


Factory = Callable[[Resources], Component]
REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def deco(fn: Factory) -> Factory:
        REGISTRY[name] = fn
        return fn

    return deco


def _shared(res: Resources, key: str, make: Callable[[], object]) -> object:
    if key not in res.shared:
        res.shared[key] = make()
    return res.shared[key]


def _recognizer(res: Resources) -> EntityRecognizer:
    obj = _shared(
        res,
        "entities",
        lambda: EntityRecognizer(
            res.ontology,
            threshold=res.settings.link_threshold,
            crf_path=res.models / "ner.crfsuite",
        ),
    )
    if not isinstance(obj, EntityRecognizer):
        raise TypeError("shared 'entities' is not an EntityRecognizer")
    return obj


def _linker(res: Resources) -> Linker:
    obj = _shared(res, "linker", lambda: Linker(res.ontology, threshold=res.settings.link_threshold))
    if not isinstance(obj, Linker):
        raise TypeError("shared 'linker' is not a Linker")
    return obj


@register("normalize.v1")
def _normalize(res: Resources) -> Component:
    return Normalizer()


@register("sentences.v1")
def _sentences(res: Resources) -> Component:
    return Sentencizer(max_chars=res.settings.max_sentence_chars)


@register("tokenize.v1")
def _tokenize(res: Resources) -> Component:
    return TokenizerComponent(res.ontology)


@register("entities.v1")
def _entities(res: Resources) -> Component:
    return _recognizer(res)


@register("linker.v1")
def _link(res: Resources) -> Component:
    return _linker(res)


@register("context.v1")
def _context(res: Resources) -> Component:
    return ContextReader(_recognizer(res), _linker(res))


@register("textcat_linear.v1")
def _textcat_linear(res: Resources) -> Component:
    return LinearTextcat(res.models / "textcat.pkl")


@register("textcat_transformer.v1")
def _textcat_transformer(res: Resources) -> Component:
    from insights.nlp.transformer import TransformerTextcat

    return TransformerTextcat(res.transformer, linear_path=res.models / "textcat.pkl")


@register("targets.v1")
def _targets(res: Resources) -> Component:
    return TargetResolver()


FRONT = ["normalize.v1", "sentences.v1", "tokenize.v1", "entities.v1", "linker.v1", "context.v1"]
BACKENDS: dict[str, list[str]] = {
    "fast": [*FRONT, "textcat_linear.v1", "targets.v1"],
    "transformer": [*FRONT, "textcat_transformer.v1", "targets.v1"],
}


def ensure_models(settings: Settings, folder: Path, backend: str = "fast") -> None:
    """Verify the built models. Missing fast models are built on the spot (about a minute) when
    the corpus is at hand; a missing transformer build (many minutes) is an error that names the
    command to run.
    """
    try:
        verify(folder)
        return
    except ModelError:
        from insights.corpus.io import corpus_dir

        if backend != "fast" or not (corpus_dir() / "train.jsonl").exists():
            raise
    from insights.nlp.train import build_fast_models

    logger.warning("fast models missing or stale in %s: building them now", folder)
    build_fast_models(settings=settings, out=folder)
    verify(folder)


class Pipeline:
    def __init__(self, names: Sequence[str], res: Resources, *, version: str = "unversioned") -> None:
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ModelError(ErrorCode.BACKEND_UNAVAILABLE, f"unknown components {unknown}")
        self.names = list(names)
        # Names the models that produce the labels; stored on every tag they write.
        self.version = version
        self.resources = res
        self.components = [REGISTRY[n](res) for n in names]
        self._initialized = False
        self._lock = threading.Lock()

    def initialize(self) -> Pipeline:
        with self._lock:
            if not self._initialized:
                for comp in self.components:
                    comp.initialize()
                self._initialized = True
        return self

    def __call__(self, docs: list[Doc]) -> list[Doc]:
        if not self._initialized:
            self.initialize()
        for comp in self.components:
            comp(docs)
        return docs

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 64) -> Iterable[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self(batch)
                batch = []
        if batch:
            yield from self(batch)


def build_pipeline(
    backend: str,
    *,
    settings: Settings | None = None,
    models: Path | None = None,
    verify_models: bool = True,
) -> Pipeline:
    settings = settings or get_settings()
    if backend not in BACKENDS:
        raise ModelError(
            ErrorCode.BACKEND_UNAVAILABLE, f"unknown backend {backend!r}; choose {sorted(BACKENDS)}"
        )
    folder = models or model_dir(settings)
    tfolder = transformer_dir(settings)
    if verify_models:
        ensure_models(settings, folder)
        if backend == "transformer":
            ensure_models(settings, tfolder, backend)
    res = Resources(settings=settings, ontology=get_ontology(), models=folder, transformer=tfolder, shared={})
    return Pipeline(BACKENDS[backend], res, version=_version(backend, folder, tfolder))


def _version(backend: str, folder: Path, tfolder: Path) -> str:
    """``backend@digest``: the digest covers the checksums of every model file the backend uses."""
    digest = hashlib.sha256()
    for f in [folder] + ([tfolder] if backend == "transformer" else []):
        try:
            digest.update(json.dumps(read_manifest(f).get("files", {}), sort_keys=True).encode())
        except ModelError:
            digest.update(str(f).encode())
    return f"{backend}@{digest.hexdigest()[:10]}"


@lru_cache(maxsize=4)
def get_pipeline(backend: str) -> Pipeline:
    """The process-wide pipeline of a backend, built (and models verified) on first use."""
    return build_pipeline(backend).initialize()
