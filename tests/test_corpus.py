"""The checked-in corpus: valid, reproducible from raw files, balanced as promised, round-trips."""

import json
from collections import Counter
from pathlib import Path

import pytest

from insights.corpus.build import build_items, raw_files, validate_items
from insights.corpus.io import SPLITS, corpus_dir, load_items
from insights.corpus.labelstudio import LABEL_CONFIG, from_task, to_task
from insights.ontology import get_ontology


@pytest.fixture(scope="module")
def items():  # type: ignore[no-untyped-def]
    return load_items()


def test_split_files_are_valid(items) -> None:
    assert validate_items(items) == []


def test_split_files_are_reproducible_from_raw(items) -> None:
    built, problems = build_items(raw_files(corpus_dir()))
    assert problems == []
    checked_in = {it.id: it.to_json() for it in items}
    assert {it.id: it.to_json() for it in built} == checked_in
    assert {it.id: it.split for it in built} == {it.id: it.split for it in items}


def test_size_and_mix(items) -> None:
    assert len(items) >= 3000
    sources = Counter(it.source for it in items)
    assert set(sources) == {"call", "paper", "consult"}
    calls = [it for it in items if it.source == "call"]
    assert sum(it.style == "asr" for it in calls) / len(calls) >= 0.25
    papers = [it for it in items if it.source == "paper"]
    assert sum(it.lang == "en" for it in papers) / len(papers) >= 0.20
    assert len({it.ta for it in items}) >= 14
    splits = Counter(it.split for it in items)
    assert all(splits[s] > 0 for s in SPLITS)
    stances = Counter(it.stance for it in items)
    assert all(stances[s] >= 0.1 * len(items) for s in ("support", "oppose", "neutral", "none"))


def test_documents_never_straddle_splits(items) -> None:
    where: dict[str, set[str]] = {}
    for it in items:
        where.setdefault(it.doc, set()).add(it.split)
    assert all(len(s) == 1 for s in where.values())


def test_gold_targets_are_ontology_concepts(items) -> None:
    onto = get_ontology()
    unknown = sorted({it.target for it in items if it.target and it.target not in onto.concepts})
    assert unknown == []


def test_asr_items_have_no_punctuation_and_keep_offsets(items) -> None:
    asr = [it for it in items if it.style == "asr"]
    assert asr
    for it in asr:
        assert not any(ch in it.text for ch in "，。！？")
        assert it.text == it.text.lower()
        for e in it.entities:
            assert it.text[e["start"] : e["end"]] == e["text"]


def test_label_studio_round_trip(items, tmp_path: Path) -> None:
    tasks = [to_task(it) for it in items[:300]]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    back = [from_task(t) for t in json.loads(path.read_text(encoding="utf-8"))]
    assert [b.to_json() for b in back] == [it.to_json() for it in items[:300]]
    assert '<Labels name="entities"' in LABEL_CONFIG and "ADVERSE_EVENT" in LABEL_CONFIG


def test_label_studio_edits_are_read(items) -> None:
    task = to_task(items[0])
    result = task["annotations"][0]["result"]
    for r in result:
        if r["from_name"] == "stance":
            r["value"]["choices"] = ["oppose"]
    task["annotations"].append({"result": result})
    assert from_task(task).stance == "oppose"
