"""The transformer backend's code path, exercised with a tiny random BERT the test creates.

Any local Hugging Face model directory goes through the same path as the converted
multilingual-e5-small: fine-tune with ``build_transformer_models``, then analyse with the
``transformer`` backend.
"""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def make_tiny_bert(folder: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from insights.corpus.io import load_split

    chars = sorted({ch for it in load_split("train") for ch in it.text.lower()} - {" "})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(specials + chars) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(specials) + len(chars),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_transformer(tmp_path_factory, fast_models):  # type: ignore[no-untyped-def]
    from insights.config import get_settings
    from insights.nlp.store import transformer_dir
    from insights.nlp.train import build_transformer_models
    from insights.nlp.transformer import TrainConfig

    base = make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
    settings = get_settings().model_copy(update={"model_path": base})
    out = build_transformer_models(
        settings=settings, config=TrainConfig(epochs=1, batch_size=32, max_length=48)
    )
    assert out == transformer_dir(settings)
    return settings, out


@pytest.mark.slow
def test_build_writes_verified_model_from_a_local_hf_dir(tiny_transformer) -> None:
    from insights.nlp.store import verify

    settings, out = tiny_transformer
    manifest = verify(out)
    assert manifest["base"] == str(settings.model_path)
    assert any(name.endswith("model.safetensors") for name in manifest["files"])
    assert "heads.pt" in manifest["files"]


@pytest.mark.slow
def test_transformer_backend_analyses_through_the_pipeline(tiny_transformer) -> None:
    from insights.analyze import make_doc
    from insights.doc import STANCES, TOPICS
    from insights.nlp.pipeline import build_pipeline

    settings, _ = tiny_transformer
    pipe = build_pipeline("transformer", settings=settings).initialize()
    docs = pipe(
        [
            make_doc("脑转移的病人我还是首选奥希替尼。"),
            make_doc("Median PFS was 18.9 months.", source="paper"),
        ]
    )
    for doc in docs:
        assert doc.sentences
        for s in doc.sentences:
            assert s.stance in STANCES
            assert set(s.topics) <= set(TOPICS)
            assert 0.0 <= s.confidence <= 1.0
    assert any(e.concept == "drug:osimertinib" for e in docs[0].entities)


@pytest.mark.slow
def test_missing_heads_is_a_clear_error(tmp_path: Path) -> None:
    from insights.errors import ModelError
    from insights.nlp.transformer import TransformerTextcat

    with pytest.raises(ModelError, match="models build --backend transformer"):
        TransformerTextcat(tmp_path).initialize()


@pytest.mark.slow
def test_cli_model_option_reaches_the_same_models(tiny_transformer) -> None:
    import json
    import subprocess
    import sys

    settings, _ = tiny_transformer
    line = json.dumps({"id": "1", "text": "这个药我们一直在用，效果不错。"}, ensure_ascii=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "insights.cli",
            "analyze",
            "--jsonl",
            "--backend",
            "transformer",
            "--model",
            str(settings.model_path),
        ],
        input=line.encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    (row,) = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert row["id"] == "1" and row["sentences"]
    bad = subprocess.run(
        [sys.executable, "-m", "insights.cli", "analyze", "x", "--model", "/nonexistent"],
        capture_output=True,
        check=False,
    )
    assert bad.returncode == 2
    assert b"not a Hugging Face model directory" in bad.stderr
