"""Built models: checksummed, rebuilt deterministically, and better than chance on held-out data."""

from pathlib import Path

import pytest

from insights.errors import ModelError
from insights.nlp.store import read_manifest, verify


@pytest.mark.slow
def test_manifest_verifies_and_detects_tampering(fast_models: Path, tmp_path: Path) -> None:
    manifest = verify(fast_models)
    assert set(manifest["files"]) == {"ner.crfsuite", "textcat.pkl"}
    assert manifest["train_items"] > 1000
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("ner.crfsuite", "textcat.pkl", "manifest.json"):
        (copy / name).write_bytes((fast_models / name).read_bytes())
    with (copy / "textcat.pkl").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelError, match="checksum"):
        verify(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(ModelError, match="models build"):
        read_manifest(copy)


@pytest.mark.slow
def test_fast_backend_on_dev_split(fast_pipeline) -> None:
    """A regression floor on the dev split (the test split is for `insights eval`)."""
    from insights.eval.analysis import eval_split

    res = eval_split("dev", "fast")
    assert res["missing_or_error"] == 0
    assert res["entity_f1"] >= 0.75
    assert res["stance_macro_f1"] >= 0.5
    assert res["adverse_event_f1"] >= 0.5
    assert res["topics_micro_f1"] >= 0.5
    assert res["target_acc"] >= 0.6
