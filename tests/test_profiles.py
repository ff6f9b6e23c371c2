"""Store, write-back and profile rules, on SQLite and PostgreSQL (no models needed)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from insights.errors import InsightsError
from insights.ingest.doctors import upsert_doctor
from insights.profiles.profile import build_profile
from insights.profiles.writeback import write_back
from insights.store.models import SentenceRow, Source, Tag, TagEvent
from insights.store.session import session_scope

OSI = "drug:osimertinib"
COMBO = "regimen:osimertinib+chemo"


def _source(s, call_id: str, when: str, sentences: list[dict], *, doctor: str = "hcp-1") -> Source:  # type: ignore[no-untyped-def]
    upsert_doctor(s, {"id": doctor, "name": "王建国", "department": "肿瘤科", "market_tier": "core"})
    src = Source(
        kind="call",
        external_id=call_id,
        content_hash=call_id,
        date=date.fromisoformat(when),
        doctor_id=doctor,
        status="analysed",
        meta={},
    )
    s.add(src)
    s.flush()
    for i, kw in enumerate(sentences):
        if kw.get("target") and "entities" not in kw:
            # The sentence names its target unless a test says otherwise.
            kw["entities"] = [{"text": kw["target"].split(":")[1], "label": "DRUG", "concept": kw["target"]}]
        s.add(
            SentenceRow(
                source_id=src.id,
                idx=i,
                segment_idx=i,
                text=kw.pop("text", f"句子{i}"),
                start=10.0 * i,
                end=10.0 * i + 5,
                **kw,
            )
        )
    s.flush()
    return src


def _stance(profile: dict, concept: str) -> dict:
    return next(x for x in profile["stances"] if x["concept"] == concept)


def test_latest_source_decides_and_history_keeps_the_rest(db_url: str) -> None:
    with session_scope(db_url) as s:
        # Inserted out of date order: the source date, not the insertion, orders positions.
        c02 = _source(
            s,
            "c02",
            "2026-02-20",
            [
                {
                    "stance": "support",
                    "target": COMBO,
                    "confidence": 0.9,
                    "text": "联合化疗现在我愿意用了",
                    "entities": [{"text": "联合化疗", "label": "THERAPY", "concept": COMBO}],
                },
            ],
        )
        c01 = _source(
            s,
            "c01",
            "2026-01-13",
            [
                {"stance": "oppose", "target": COMBO, "confidence": 0.8, "text": "联合化疗毒性太大"},
                {"stance": "support", "target": OSI, "confidence": 0.7, "topics": ["efficacy"]},
                {"stance": "none", "unmet_need": "therapy_gap", "text": "耐药以后没有好办法"},
            ],
        )
        c03 = _source(
            s,
            "c03",
            "2026-03-05",
            [
                {"stance": "neutral", "target": COMBO, "text": "联合的数据你再发我看看"},
                {
                    "stance": "neutral",
                    "target": OSI,
                    "adverse_event": True,
                    "text": "有个病人用了出现间质性肺炎",
                },
            ],
        )
        for src in (c02, c01, c03):
            write_back(s, src, model_version="fast@test")
    with session_scope(db_url) as s:
        p = build_profile(s, "hcp-1")
    combo = _stance(p, COMBO)
    # c02's support is the latest side taken; c03 only mentions it.
    assert combo["stance"] == "support" and combo["confidence"] == 0.9
    assert [e["source_id"] for e in combo["evidence"]] == ["c02"]
    assert combo["evidence"][0]["start"] == 0.0 and combo["evidence"][0]["end"] == 5.0
    assert [(h["source_id"], h["stance"]) for h in combo["history"]] == [
        ("c01", "oppose"),
        ("c03", "neutral"),
    ]
    assert combo["mentions"] == ["osimertinib+chemo", "联合化疗"]
    assert _stance(p, OSI)["stance"] == "support"
    assert p["unmet_needs"] == [
        {
            "category": "therapy_gap",
            "evidence": [
                {
                    "source": "call",
                    "source_id": "c01",
                    "date": "2026-01-13",
                    "text": "耐药以后没有好办法",
                    "start": 20.0,
                    "end": 25.0,
                }
            ],
        }
    ]
    assert p["topics"] == [{"topic": "efficacy", "count": 1}]
    assert [(a["source_id"], a["drug"]) for a in p["adverse_events"]] == [("c03", OSI)]
    assert p["hcp"] == {"id": "hcp-1", "name": "王建国", "department": "肿瘤科", "market_tier": "core"}


def test_write_back_is_idempotent_and_a_new_model_replaces_atomically(db_url: str) -> None:
    with session_scope(db_url) as s:
        src = _source(
            s,
            "c01",
            "2026-01-13",
            [{"stance": "oppose", "target": COMBO}, {"stance": "none", "topics": ["safety"]}],
        )
        first = write_back(s, src, model_version="fast@a")
        again = write_back(s, src, model_version="fast@a")
        sid = src.id
    assert first == {"added": 2, "retracted": 0, "kept": 0}
    assert again == {"added": 0, "retracted": 0, "kept": 2}
    with session_scope(db_url) as s:
        # Re-analysis with a new model: the oppose sentence is now read as neutral.
        row = s.scalars(select(SentenceRow).where(SentenceRow.source_id == sid, SentenceRow.idx == 0)).one()
        row.stance = "neutral"
        src = s.get(Source, sid)
        changed = write_back(s, src, model_version="fast@b")
    assert changed == {"added": 1, "retracted": 1, "kept": 1}
    with session_scope(db_url) as s:
        tags = list(s.scalars(select(Tag).where(Tag.source_id == sid)))
        assert {t.model_version for t in tags} == {"fast@b"} and len(tags) == 2
        events = [(e.action, e.value) for e in s.scalars(select(TagEvent).order_by(TagEvent.id))]
        assert events == [
            ("added", "oppose"),
            ("added", "safety"),
            ("retracted", "oppose"),
            ("added", "neutral"),
        ]
        assert build_profile(s, "hcp-1")["stances"][0]["stance"] == "neutral"


def test_a_failed_write_back_leaves_the_old_tags(db_url: str) -> None:
    with session_scope(db_url) as s:
        src = _source(s, "c01", "2026-01-13", [{"stance": "support", "target": OSI}])
        write_back(s, src, model_version="fast@a")
        sid = src.id
    with pytest.raises(RuntimeError), session_scope(db_url) as s:
        row = s.scalars(select(SentenceRow).where(SentenceRow.source_id == sid)).one()
        row.stance = "oppose"
        write_back(s, s.get(Source, sid), model_version="fast@b")
        raise RuntimeError("worker died before commit")
    with session_scope(db_url) as s:
        assert [(t.value, t.model_version) for t in s.scalars(select(Tag))] == [("support", "fast@a")]
        assert s.scalar(select(func.count()).select_from(TagEvent)) == 1


def test_unknown_doctor_is_a_coded_error(db_url: str) -> None:
    with session_scope(db_url) as s, pytest.raises(InsightsError) as e:
        build_profile(s, "nobody")
    assert e.value.code.value == "E504"


def test_generic_combination_means_the_regimen_under_discussion() -> None:
    from insights.doc import Doc, Entity, Sentence
    from insights.nlp.targets import resolve_targets

    text = "联合化疗我现在愿意用了。这个方案我认可。"
    doc = Doc(text=text, norm=text, context_concepts=["drug:osimertinib", COMBO])
    doc.entities = [Entity(0, 4, "THERAPY", "联合化疗", "therapy:chemo-combination")]
    doc.sentences = [
        Sentence(0, 12, text[:12], stance="support"),
        Sentence(12, len(text), text[12:], stance="support"),
    ]
    resolve_targets(doc)
    assert [s.target for s in doc.sentences] == [COMBO, COMBO]
    # Without a regimen in the conversation the generic concept stays.
    bare = Doc(text=text, norm=text, context_concepts=["drug:osimertinib"])
    bare.entities = list(doc.entities)
    bare.sentences = [Sentence(0, 12, text[:12], stance="support")]
    resolve_targets(bare)
    assert bare.sentences[0].target == "therapy:chemo-combination"


@pytest.mark.slow
def test_a_trial_named_in_the_conversation_brings_its_regimen(fast_pipeline) -> None:  # type: ignore[no-untyped-def]
    from insights.analyze import make_doc

    doc = make_doc("那毒性呢？", context="今天主要想跟您交流一下FLAURA2最终OS分析的结果。")
    fast_pipeline([doc])
    assert COMBO in doc.context_concepts
    assert "regimen:pemetrexed+platinum" not in doc.context_concepts  # the backbone alone is not it


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from insights.store.models import Base
    from insights.store.session import get_engine

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_side_taken_on_an_unnamed_unpointed_concept_counts_as_a_mention(db_url: str) -> None:
    with session_scope(db_url) as s:
        src = _source(
            s,
            "c26",
            "2026-01-13",
            [
                {"stance": "oppose", "target": OSI, "text": "奥希替尼我不太用", "entities": []},
                # The target came from memory: nothing in the words names or points at it.
                {
                    "stance": "support",
                    "target": OSI,
                    "text": "两片药就控制住了，一个月几十块钱",
                    "entities": [],
                },
                {"stance": "support", "target": COMBO, "text": "这个方案我认可", "entities": []},
            ],
        )
        write_back(s, src, model_version="fast@a")
        p = build_profile(s, "hcp-1")
    assert _stance(p, OSI)["stance"] == "neutral"
    assert _stance(p, COMBO)["stance"] == "support"  # 这个方案 points back at it
