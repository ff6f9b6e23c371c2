"""The JSON Lines contract of spec §3, with bad lines, through the API and the real CLI."""

import json
import subprocess
import sys

import pytest

from insights.analyze import analyze_lines
from insights.doc import ENTITY_LABELS, STANCES, TOPICS, UNMET_NEEDS

GOOD = "脑转移的病人我还是首选奥希替尼，入脑效果好，副作用也小。"


def _check_output(obj: dict) -> None:
    assert set(obj) >= {"id", "entities", "sentences"}
    for e in obj["entities"]:
        assert e["label"] in ENTITY_LABELS
        assert 0 <= e["start"] < e["end"]
    for s in obj["sentences"]:
        assert s["stance"] in STANCES
        assert set(s["topics"]) <= set(TOPICS)
        assert s["unmet_need"] is None or s["unmet_need"] in UNMET_NEEDS
        assert isinstance(s["adverse_event"], bool)
        assert (s["stance"] == "none") <= (s["target"] is None)


@pytest.mark.slow
def test_bad_lines_get_specific_errors_and_the_batch_goes_on(fast_pipeline) -> None:
    lines = [
        json.dumps({"id": "a", "text": GOOD}, ensure_ascii=False).encode(),
        json.dumps({"id": "empty", "text": ""}).encode(),
        b"{not json",
        json.dumps({"id": "notext", "source": "call"}).encode(),
        "奥希替尼".encode("gbk") + b"\xff\xfe",
        json.dumps({"id": "big", "text": "奥" * 400_000}, ensure_ascii=False).encode(),
        json.dumps({"id": "num", "text": 42}).encode(),
        json.dumps({"id": "src", "text": GOOD, "source": "tweet"}, ensure_ascii=False).encode(),
        json.dumps([1, 2]).encode(),
        json.dumps({"id": "b", "text": "PFS确实长", "source": "paper"}, ensure_ascii=False).encode(),
    ]
    assert len(lines[5]) > 1_000_000
    out = list(analyze_lines(lines))
    assert len(out) == len(lines)
    codes = [o.get("code") for o in out]
    assert codes == [None, "E101", "E102", "E103", "E106", "E105", "E104", "E107", "E108", None]
    assert out[1]["id"] == "empty" and "empty" in out[1]["error"]
    assert out[3]["id"] == "notext" and "'text'" in out[3]["error"]
    assert out[5]["id"] == "big" and "limit" in out[5]["error"]
    for good in (out[0], out[9]):
        _check_output(good)
    assert out[0]["id"] == "a" and out[9]["id"] == "b"
    osi = [e for e in out[0]["entities"] if e["concept"] == "drug:osimertinib"]
    assert osi and GOOD[osi[0]["start"] : osi[0]["end"]] == "奥希替尼"


@pytest.mark.slow
def test_offsets_index_the_callers_text_even_when_traditional(fast_pipeline) -> None:
    text = "腦轉移的病人我還是首選奧希替尼。"
    (out,) = analyze_lines([json.dumps({"id": "t", "text": text}, ensure_ascii=False)])
    ents = {e["concept"]: e for e in out["entities"] if e["concept"]}
    e = ents["drug:osimertinib"]
    assert text[e["start"] : e["end"]] == e["text"] == "奧希替尼"


@pytest.mark.slow
def test_cli_jsonl_roundtrip(fast_models) -> None:
    stdin = "\n".join(
        [
            json.dumps({"id": "1", "text": GOOD}, ensure_ascii=False),
            "garbage",
            "",
            json.dumps(
                {
                    "id": "3",
                    "text": "Median PFS was 18.9 months with osimertinib.",
                    "source": "paper",
                }
            ),
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-m", "insights.cli", "analyze", "--jsonl"],
        input=stdin.encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r.get("id") for r in rows] == ["1", None, "3"]
    assert rows[1]["code"] == "E102"
    _check_output(rows[0])
    assert any(e["concept"] == "drug:osimertinib" for e in rows[2]["entities"])


@pytest.mark.slow
def test_cli_text_prints_tables(fast_models) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "insights.cli", "analyze", GOOD],
        capture_output=True,
        check=False,
        env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "Entities" in text and "Sentences" in text and "drug:osimertinib" in text


def test_cli_help_teaches() -> None:
    proc = subprocess.run([sys.executable, "-m", "insights.cli", "--help"], capture_output=True, check=False)
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for word in ("analyze", "eval", "models", "corpus", "bench", "--jsonl"):
        assert word in text
