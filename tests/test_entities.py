import pytest

from insights.doc import Doc, Entity, Sentence
from insights.nlp.linker import Linker
from insights.nlp.matcher import OntologyMatcher, PinyinMatcher
from insights.nlp.patterns import find_patterns
from insights.nlp.targets import choose_target
from insights.ontology import get_ontology


@pytest.fixture(scope="module")
def matcher() -> OntologyMatcher:
    return OntologyMatcher(get_ontology())


def test_longest_match_wins(matcher: OntologyMatcher) -> None:
    text = "奥希替尼联合化疗我们用得不多"
    ents = matcher(text)
    assert (ents[0].text, ents[0].label, ents[0].concept) == (
        "奥希替尼联合化疗",
        "THERAPY",
        "regimen:osimertinib+chemo",
    )


def test_latin_terms_need_word_boundaries(matcher: OntologyMatcher) -> None:
    assert not [e for e in matcher("COSTA") if e.text.lower() == "os"]
    ents = matcher("OS还没到，pfs倒是很长")
    assert {e.text for e in ents} >= {"OS", "pfs"}


@pytest.mark.parametrize(
    ("asr", "concept"),
    [
        ("奥西替尼", "drug:osimertinib"),
        ("要细替尼", "drug:osimertinib"),
        ("替尔泊太", "drug:tirzepatide"),
        ("德曲妥株单抗", "drug:trastuzumab-deruxtecan"),
    ],
)
def test_pinyin_near_misses_link(asr: str, concept: str) -> None:
    pm = PinyinMatcher(get_ontology())
    text = f"我觉得{asr}效果还可以"
    hits = pm.match(text, [])
    assert [(h.text, h.concept) for h in hits] == [(asr, concept)]
    assert 0.7 <= hits[0].score < 1.0


def test_pinyin_matcher_leaves_ordinary_text_alone() -> None:
    pm = PinyinMatcher(get_ontology())
    hits = [h for h in pm.match("我们下个月请医学部的老师过来讲一讲病例", []) if h.score >= 0.72]
    assert hits == []


def test_linker_exact_fuzzy_and_unknown() -> None:
    linker = Linker(get_ontology(), threshold=0.72)
    assert linker.link(Entity(0, 3, "DRUG", "泰瑞沙")) == ("drug:osimertinib", 1.0)
    cid, score = linker.link(Entity(0, 4, "DRUG", "奥西替尼"))
    assert cid == "drug:osimertinib" and score < 1.0
    assert linker.link(Entity(0, 11, "DRUG", "osimertinb"))[0] == "drug:osimertinib"
    assert linker.link(Entity(0, 4, "DRUG", "不存在药"))[0] is None
    # A label that names no concept kind is never linked.
    assert linker.link(Entity(0, 3, "PERSON", "王主任")) == (None, 0.0)


def test_patterns() -> None:
    got = {(e.text, e.label) for e in find_patterns("找王主任聊聊，小刘说T790M和19外显子缺失，在协和医院")}
    assert {
        ("王主任", "PERSON"),
        ("小刘", "PERSON"),
        ("T790M", "GENE"),
        ("19外显子缺失", "GENE"),
        ("协和医院", "ORG"),
    } <= got


def _doc(text: str, ents: list[tuple[str, str, str]]) -> tuple[Doc, Sentence]:
    doc = Doc(text=text, norm=text)
    for surface, label, concept in ents:
        a = text.index(surface)
        doc.entities.append(Entity(a, a + len(surface), label, surface, concept))
    sent = Sentence(0, len(text), text)
    doc.sentences = [sent]
    return doc, sent


def test_targets_comparisons_and_ellipsis() -> None:
    doc, s = _doc(
        "阿美替尼比吉非替尼好",
        [("阿美替尼", "DRUG", "drug:aumolertinib"), ("吉非替尼", "DRUG", "drug:gefitinib")],
    )
    assert choose_target(doc, s, "support", None) == "drug:aumolertinib"
    assert choose_target(doc, s, "oppose", None) == "drug:gefitinib"
    doc, s = _doc(
        "与其用吉非替尼不如直接上阿美替尼",
        [("吉非替尼", "DRUG", "drug:gefitinib"), ("阿美替尼", "DRUG", "drug:aumolertinib")],
    )
    assert choose_target(doc, s, "support", None) == "drug:aumolertinib"
    doc, s = _doc("这个药我们用得挺顺手", [])
    assert choose_target(doc, s, "support", "drug:osimertinib") == "drug:osimertinib"
    assert choose_target(doc, s, "none", "drug:osimertinib") is None
