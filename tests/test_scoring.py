"""Item-level scoring, checked on a hand-worked example (same method as the reference scorer)."""

from insights.eval.scoring import macro_f1, score

GOLD = [
    {
        "entities": [{"text": "奥希替尼", "label": "DRUG"}, {"text": "PFS", "label": "ENDPOINT"}],
        "topics": ["efficacy"],
        "stance": "support",
        "target": "drug:osimertinib",
        "unmet_need": None,
        "adverse_event": False,
    },
    {
        "entities": [{"text": "皮疹", "label": "ADVERSE_EVENT"}],
        "topics": ["safety"],
        "stance": "neutral",
        "target": "drug:afatinib",
        "unmet_need": "safety_management",
        "adverse_event": True,
    },
]
PRED = [
    {
        "entities": [
            {"text": "奥希替尼", "label": "DRUG"},
            {"text": "PFS", "label": "ENDPOINT"},
            {"text": "PFS", "label": "ENDPOINT"},  # repeats count once
            {"text": "脑转移", "label": "DISEASE"},
        ],
        "sentences": [
            {"stance": "none", "target": None, "topics": [], "unmet_need": None, "adverse_event": False},
            {
                "stance": "support",
                "target": "drug:osimertinib",
                "topics": ["efficacy", "safety"],
                "unmet_need": None,
                "adverse_event": False,
            },
        ],
    },
    {"id": "x", "error": "E102: line is not valid JSON"},
]


def test_hand_worked_example() -> None:
    m = score(GOLD, PRED)
    assert m["missing_or_error"] == 1
    # entities: tp 2, fp 1 (脑转移), fn 1 (皮疹) -> P = R = 2/3
    assert m["entity_f1"] == round(2 / 3, 3)
    assert m["entity_f1_by_label"]["DRUG"] == 1.0
    assert m["entity_f1_by_label"]["ADVERSE_EVENT"] == 0.0
    # stance: item 1 support/support, item 2 neutral/none -> F1 support 1, neutral 0, none 0, oppose 0
    assert m["stance_f1"] == {"support": 1.0, "oppose": 0.0, "neutral": 0.0, "none": 0.0}
    assert m["stance_macro_f1"] == 0.25
    assert m["target_acc"] == 0.5
    # unmet need: one gold, none predicted; AE: one gold, none predicted
    assert m["unmet_need_f1"] == 0.0
    assert m["adverse_event_f1"] == 0.0
    # topics: tp efficacy, fp safety (item 1), fn safety (item 2) -> P = R = 1/2
    assert m["topics_micro_f1"] == 0.5


def test_macro_f1() -> None:
    assert macro_f1(["a", "b", "a"], ["a", "b", "b"], ["a", "b"]) == (2 / 3 + 2 / 3) / 2
