from insights.text.normalize import fold_width, normalize, to_simplified
from insights.text.sentences import split_sentences
from insights.text.tokenize import Tokenizer


def test_traditional_to_simplified_keeps_length() -> None:
    text = "奧希替尼聯合化療的療效，間質性肺炎要注意。"
    out = to_simplified(text)
    assert out == "奥希替尼联合化疗的疗效，间质性肺炎要注意。"
    assert len(out) == len(text)


def test_full_width_fold_is_one_to_one() -> None:
    assert fold_width("ＰＦＳ　１８．９个月") == "PFS 18.9个月"
    assert normalize("ＥＧＦＲ突變\t患者") == "EGFR突变 患者"


def test_split_punctuated_chinese_and_english() -> None:
    text = "PFS是长了，这个我知道。但是OS呢？Median PFS was 18.9 months (HR 0.46). These data support it."
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "PFS是长了，这个我知道。",
        "但是OS呢？",
        "Median PFS was 18.9 months (HR 0.46).",
        "These data support it.",
    ]


def test_split_unpunctuated_asr_run() -> None:
    text = (
        "嗯这个药我们用得挺多的但是脑转移的病人效果怎么样我还不太清楚然后价格方面进了医保以后病人负担轻了很多"
        "另外副作用的话皮疹腹泻都有但是总体可控我觉得还是可以的我们科室下个月想请你们的医学部老师过来讲一讲新的数据"
    )
    assert len(text) > 100
    spans = split_sentences(text, max_chars=100)
    assert len(spans) >= 3
    assert all(b - a <= 100 for a, b in spans)
    # Spans are in order, do not overlap and lose no character.
    assert "".join(text[a:b] for a, b in spans) == text
    assert any(text[a:b].startswith("但是") or text[a:b].startswith("然后") for a, b in spans)


def test_tokenizer_keeps_domain_words_whole() -> None:
    tok = Tokenizer(["奥希替尼", "非小细胞肺癌", "德曲妥珠单抗"])
    words = [t.text for t in tok("奥希替尼治疗非小细胞肺癌，德曲妥珠单抗也行")]
    assert {"奥希替尼", "非小细胞肺癌", "德曲妥珠单抗"} <= set(words)


def test_long_english_sentence_is_not_cut_mid_word() -> None:
    text = (
        "Median PFS was 25.5 months with osimertinib plus chemotherapy versus 16.7 months with "
        "osimertinib alone (HR 0.62). These findings support the combination as a first-line option."
    )
    got = [text[a:b] for a, b in split_sentences(text, max_chars=100)]
    assert got == [
        "Median PFS was 25.5 months with osimertinib plus chemotherapy versus 16.7 months with "
        "osimertinib alone (HR 0.62).",
        "These findings support the combination as a first-line option.",
    ]


def test_hard_cut_falls_on_a_space() -> None:
    words = " ".join(["alpha"] * 120)  # 719 characters, no punctuation
    spans = split_sentences(words, max_chars=100)
    assert len(spans) > 1
    for a, b in spans:
        assert words[a:b].split(" ") == ["alpha"] * len(words[a:b].split(" "))
