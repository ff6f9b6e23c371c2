"""Transcript text passes, domain vocabulary and the scorer: no speech model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insights.asr import text as textpass
from insights.asr.vocabulary import Vocabulary, get_vocabulary, syllable_similarity
from insights.eval.asr_scoring import norm, score_call


def test_traditional_becomes_simplified() -> None:
    assert (
        textpass.to_simplified("奧希替尼聯合化療，總生存期還沒出來") == "奥希替尼联合化疗，总生存期还没出来"
    )
    assert textpass.to_simplified("PFS 延長了") == "PFS 延长了"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("好的好的好的好的好的好的", "好的好的"),
        ("对对对", "对对对"),
        ("我们再看看吧我们再看看吧我们再看看吧我们再看看吧", "我们再看看吧我们再看看吧"),
        ("嗯嗯嗯嗯嗯嗯嗯嗯", "嗯嗯嗯"),
    ],
)
def test_loops_are_collapsed(raw: str, expected: str) -> None:
    assert textpass.collapse_loops(raw) == expected


@pytest.mark.parametrize(
    "artefact",
    [
        "字幕由Amara.org社群提供",
        "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
        "谢谢观看",
        "中文字幕志愿者 李宗盛",
    ],
)
def test_subtitle_artefacts_are_removed(artefact: str) -> None:
    assert textpass.remove_artefacts(artefact) == ""
    assert textpass.clean(artefact, duration=3.0) == ""
    assert textpass.remove_artefacts("我一般首选奥希替尼。" + artefact) == "我一般首选奥希替尼。"


def test_impossible_text_for_its_length_is_dropped() -> None:
    assert textpass.is_hallucination("这" * 80, duration=2.0)
    assert not textpass.is_hallucination("我一般首选单药奥希替尼", duration=2.0)


def test_punctuation_is_restored() -> None:
    assert textpass.punctuate("你说吧 我下午还有个会") == "你说吧，我下午还有个会。"
    assert textpass.punctuate("总生存出来没有") == "总生存出来没有？"
    assert textpass.punctuate("好的。") == "好的。"


def test_syllables_that_sound_alike_score_high() -> None:
    assert syllable_similarity("xi", "xi") == 1.0
    assert syllable_similarity("qi", "xi") > syllable_similarity("ba", "xi")
    assert syllable_similarity("nin", "ni") >= 0.8


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return get_vocabulary()


@pytest.mark.parametrize(
    ("heard", "term"),
    [("熬欺替您", "奥希替尼"), ("配美其灾", "培美曲塞"), ("太队沙", "泰瑞沙"), ("被罚", "贝伐")],
)
def test_near_miss_drug_names_are_corrected(vocab: Vocabulary, heard: str, term: str) -> None:
    fixed, changes = vocab.correct(f"我一般还是用{heard}，效果够了", ["lung_cancer"])
    assert term in fixed
    assert changes and changes[0]["to"] == term and changes[0]["concept"]


def test_latin_acronym_is_corrected_only_to_a_known_term(vocab: Vocabulary) -> None:
    fixed, changes = vocab.correct("光看BFS我不太买账", ["lung_cancer"])
    assert fixed == "光看PFS我不太买账"
    assert changes[0]["concept"] == "endpoint:pfs"
    # DFS is a term of its own: never rewritten.
    assert vocab.correct("DFS是多少", ["lung_cancer"])[0] == "DFS是多少"
    # Letters spelled one by one are joined.
    assert vocab.correct("e g f r突变", ["lung_cancer"])[0] == "EGFR突变"


def test_ordinary_speech_is_left_alone(vocab: Vocabulary) -> None:
    for sentence in [
        "你说吧，我下午还有个会，简单点啊。",
        "可控是你们说的。我们的病人好多都不愿意，来回住院也麻烦。",
        "行，到时候你跟我们科秘书约时间。",
        "好的周主任，那我先不打扰您了，谢谢您！",
        "这种药停了一周还可以再用，医院药房有。",
        "症状缓解后风险是比较低的，直接进入维持治疗。",
    ]:
        fixed, changes = vocab.correct(sentence, ["lung_cancer"])
        assert fixed == sentence, changes


def test_therapy_area_from_department_and_words(vocab: Vocabulary) -> None:
    assert vocab.areas_for_department("乳腺肿瘤科") == ["breast_cancer"]
    onco = vocab.areas_for_department("肿瘤内科")
    assert "lung_cancer" in onco and "gastric_cancer" in onco
    assert set(vocab.areas_for_department(None)) == set(vocab.areas)
    assert vocab.infer_areas("奥希替尼联合化疗的PFS", prior=onco) == ["lung_cancer"]
    assert vocab.infer_areas("", prior=onco) == onco


def test_prompt_names_area_terms_within_budget(vocab: Vocabulary) -> None:
    lead, hot = vocab.prompt(["lung_cancer"])
    assert "简体中文" in lead
    assert "奥希替尼" in hot and len(hot) <= 100


def test_norm_matches_reference_conventions() -> None:
    assert norm("中位PFS到了二十五点五个月！") == norm("中位pfs到了25.5个月")
    assert norm("Ｅ Ｇ Ｆ Ｒ，") == "egfr"


def test_score_call_counts_attribution_and_terms(tmp_path: Path) -> None:
    truth = {
        "call_id": "x",
        "turns": [
            {"speaker": "caller", "text": "您好", "start": 0.0, "end": 1.0},
            {"speaker": "hcp", "text": "我用奥希替尼", "start": 1.5, "end": 3.5},
        ],
        "gold": [{"turn": 1, "entities": [{"text": "奥希替尼", "label": "DRUG", "start": 2, "end": 6}]}],
    }
    pred = {
        "segments": [
            {"start": 0.0, "end": 1.0, "speaker": "caller", "text": "您好"},
            {"start": 1.5, "end": 3.5, "speaker": "hcp", "text": "我用奥希替尼"},
        ]
    }
    s = score_call(truth, pred)
    assert (s.errors, s.terms_found, s.hcp_covered, s.leak) == (0, 1, 2.0, 0.0)
    s = score_call(truth, {"audio": "x.wav", "error": "bad"})
    assert s.missing and s.errors == len(norm("您好我用奥希替尼"))
    json.dumps(s.missed_terms)


def test_correction_rarely_touches_clean_corpus_text(vocab: Vocabulary) -> None:
    """On the corpus's clean Chinese items (no ASR style), a correction of text that the annotators
    did not mark as an entity is a false correction: fewer than 1 % of items may have one.
    Corrections inside marked entities fix the corpus's deliberate near-miss spellings."""
    from insights.corpus.io import load_split

    items = [
        it for split in ("dev", "test") for it in load_split(split) if it.style != "asr" and it.lang == "zh"
    ]
    false, true = [], 0
    for it in items:
        gold = [e["text"] for e in it.entities]
        for change in vocab.correct(it.text, [it.ta])[1]:
            if any(change["from"] in g or g in change["from"] for g in gold):
                true += 1
            else:
                false.append((it.text, change))
    assert len(items) > 300
    assert len(false) / len(items) < 0.01, false[:5]
    assert true >= 3
