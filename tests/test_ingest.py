"""Ingestion: doctors, call registration, the in-process pipeline and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from insights.ingest import service, steps
from insights.ingest.calls import register_call
from insights.ingest.runner import run_job
from insights.store.models import Doctor, Job, Segment, SentenceRow, Source, Tag
from insights.store.session import session_scope

HCP = {
    "id": "hcp-001",
    "name": "王建国",
    "title": "主任医师",
    "department": "肿瘤科",
    "hospital": "中山大学肿瘤防治中心",
    "city": "广州",
    "market_tier": "core",
}


def test_hcps_import_csv_and_jsonl_upserts_and_reports_bad_rows(db_url: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "crm.csv"
    csv_file.write_text(
        "id,name,title,department,hospital,city,market_tier,crm_segment\n"
        "hcp-001,王建国,主任医师,肿瘤科,中山大学肿瘤防治中心,广州,core,A\n"
        ",无编号,,,,,,\n"
        "hcp-002,李芳,副主任医师,呼吸科,广东省人民医院,广州,gold,B\n",
        encoding="utf-8-sig",
    )
    result = service.import_hcps(csv_file, url=db_url)
    assert (result.created, result.updated) == (1, 0)
    assert [e[:6] for e in result.errors or []] == ["[E502]", "[E503]"]
    jsonl = tmp_path / "crm.jsonl"
    jsonl.write_text(
        json.dumps({"id": "hcp-001", "city": "深圳"}, ensure_ascii=False)
        + "\n{broken\n"
        + json.dumps({"id": "hcp-003", "name": "周建平"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    result = service.import_hcps(jsonl, url=db_url)
    assert (result.created, result.updated, len(result.errors or [])) == (1, 1, 1)
    with session_scope(db_url) as s:
        doc = s.get(Doctor, "hcp-001")
        assert doc is not None and doc.city == "深圳" and doc.name == "王建国"  # absent fields kept
        assert doc.extra == {"crm_segment": "A"}
        assert s.scalar(select(func.count()).select_from(Doctor)) == 2


def _sidecar(audio: Path, meta: dict) -> None:
    audio.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def test_registration_rejects_bad_calls_with_specific_codes(db_url: str, tmp_path: Path) -> None:
    good = tmp_path / "c01.wav"
    good.write_bytes(b"RIFF....WAVEfmt ")
    _sidecar(good, {"call_id": "c01", "date": "2026-01-13", "hcp": HCP})
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    lonely = tmp_path / "lonely.m4a"
    lonely.write_bytes(b"\x00" * 64)
    anonymous = tmp_path / "anon.ogg"
    anonymous.write_bytes(b"OggS")
    _sidecar(anonymous, {"call_id": "c02"})
    baddate = tmp_path / "baddate.wav"
    baddate.write_bytes(b"RIFF")
    _sidecar(baddate, {"call_id": "c03", "date": "13/01/2026", "hcp": HCP})
    badjson = tmp_path / "badjson.wav"
    badjson.write_bytes(b"RIFF")
    badjson.with_suffix(".json").write_text("{", encoding="utf-8")
    got = {p.name: register_call(p, url=db_url) for p in (good, empty, lonely, anonymous, baddate, badjson)}
    assert got["c01.wav"].outcome == "new" and got["c01.wav"].job_id is not None
    codes = {name: (r.error or "")[:6] for name, r in got.items() if name != "c01.wav"}
    assert codes == {
        "empty.mp3": "[E402]",
        "lonely.m4a": "[E501]",
        "anon.ogg": "[E502]",
        "baddate.wav": "[E503]",
        "badjson.wav": "[E407]",
    }
    with session_scope(db_url) as s:
        failed = {Path(j.subject).name: j.code for j in s.scalars(select(Job).where(Job.state == "failed"))}
        assert failed == {
            "empty.mp3": "E402",
            "lonely.m4a": "E501",
            "anon.ogg": "E502",
            "baddate.wav": "E503",
            "badjson.wav": "E407",
        }
        assert s.get(Doctor, "hcp-001") is not None
    # Same call id, same bytes, pipeline not finished: the open job goes on rather than a new one.
    again = register_call(good, url=db_url)
    assert again.outcome == "resumed" and again.job_id == got["c01.wav"].job_id


def _transcribed_call(db_url: str, call_id: str, when: str, turns: list[tuple[str, str]]) -> int:
    """A call whose transcript is already stored (the analysis steps start from here)."""
    with session_scope(db_url) as s:
        s.merge(Doctor(id=HCP["id"], name=HCP["name"], extra={}))
        src = Source(
            kind="call",
            external_id=call_id,
            content_hash=call_id,
            date=None,
            doctor_id=HCP["id"],
            status="transcribed",
            meta={},
        )
        from datetime import date

        src.date = date.fromisoformat(when)
        s.add(src)
        s.flush()
        t = 0.0
        for i, (speaker, text) in enumerate(turns):
            s.add(Segment(source_id=src.id, idx=i, speaker=speaker, start=t, end=t + 4.0, text=text))
            t += 5.0
        job = Job(kind="call", subject=call_id, source_id=src.id)
        s.add(job)
        s.flush()
        return job.id


@pytest.mark.slow
def test_only_the_doctors_words_make_tags_and_rerun_changes_nothing(
    db_url: str, fast_pipeline: object
) -> None:
    caller_praise = "我们的奥希替尼疗效特别好，副作用也小，主任您一定多用。"
    job = _transcribed_call(
        db_url,
        "c01",
        "2026-01-13",
        [
            ("caller", caller_praise),
            ("hcp", "奥希替尼联合化疗我不太认可，毒性太大，病人受不了。"),
            ("caller", "那贝伐珠单抗呢？"),
            ("hcp", "耐药以后确实没有什么好办法，这是我们最头疼的。"),
        ],
    )
    result = run_job(job, url=db_url)
    assert result.state == "done", result.error
    with session_scope(db_url) as s:
        sents = list(s.scalars(select(SentenceRow)))
        tags = list(s.scalars(select(Tag)))
        src = s.scalars(select(Source)).one()
        assert src.status == "done" and src.model_version and src.model_version.startswith("fast@")
    hcp_text = (
        "奥希替尼联合化疗我不太认可，毒性太大，病人受不了。耐药以后确实没有什么好办法，这是我们最头疼的。"
    )
    assert sents and all(x.text in hcp_text for x in sents)
    assert tags and all(t.text in hcp_text for t in tags)
    assert not any(t.kind == "stance" and t.value == "support" for t in tags)
    assert all(x.start is not None and x.start >= 5.0 for x in sents)  # times of the doctor's turns
    profile = service.profile("hcp-001", url=db_url)
    assert all(st["stance"] != "support" for st in profile["stances"])
    before = sorted((t.kind, t.value, t.concept, t.sentence_idx) for t in tags)
    # Running the finished job's steps again writes nothing new.
    assert steps.analyse(src.id, url=db_url) is False
    assert steps.write_back(src.id, url=db_url) == {"added": 0, "retracted": 0, "kept": len(tags)}
    with session_scope(db_url) as s:
        after = sorted((t.kind, t.value, t.concept, t.sentence_idx) for t in s.scalars(select(Tag)))
    assert after == before


@pytest.mark.slow
def test_cli_ingest_calls_end_to_end(synth_calls: dict, tmp_path: Path, pg_url: str) -> None:
    """The embedded path from a folder of calls to a profile, a bad file in the batch, then a re-run."""
    from insights.asr.synth import write_audio

    folder = tmp_path / "calls"
    folder.mkdir()
    call = folder / "c01.ogg"
    call.write_bytes(synth_calls["stereo"].read_bytes())
    _sidecar(
        call,
        {
            "call_id": "c01",
            "date": "2026-03-14",
            "caller_role": "rep",
            "hcp": HCP,
            "channels": {"left": "caller", "right": "hcp"},
        },
    )
    silent = write_audio(folder / "c02.flac", [np.zeros(16000 * 3, np.float32)])
    _sidecar(silent, {"call_id": "c02", "hcp": HCP})
    (folder / "c03.mp3").write_bytes(b"ID3" + bytes(500))
    _sidecar(folder / "c03.mp3", {"call_id": "c03", "hcp": HCP})
    (folder / "c04.wav").write_bytes(call.read_bytes())  # no sidecar
    env = os.environ | {"INSIGHTS_DATABASE_URL": pg_url}
    env.pop("INSIGHTS_BROKER_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "insights.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    first = cli("ingest", "calls", str(folder), "--json")
    assert first.returncode == 0, first.stderr
    rows = {Path(r["file"]).name: r for r in map(json.loads, first.stdout.splitlines())}
    assert rows["c01.ogg"]["state"] == "done" and rows["c01.ogg"]["outcome"] == "new"
    assert rows["c02.flac"]["code"] == "E403"
    assert rows["c03.mp3"]["code"] in ("E401", "E404")
    assert rows["c04.wav"]["error"].startswith("[E501]")
    shown = cli("profile", "show", "hcp-001", "--json")
    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert profile["hcp"]["id"] == "hcp-001" and profile["hcp"]["hospital"] == HCP["hospital"]
    assert {"stances", "unmet_needs", "topics", "adverse_events"} <= set(profile)
    for st in profile["stances"]:
        for ev in st["evidence"]:
            assert ev["source_id"] == "c01" and ev["end"] > ev["start"] >= 0
    second = cli("ingest", "calls", str(folder), "--json")
    rows2 = {Path(r["file"]).name: r for r in map(json.loads, second.stdout.splitlines())}
    assert rows2["c01.ogg"]["outcome"] == "unchanged"
    assert json.loads(cli("profile", "show", "hcp-001", "--json").stdout) == profile
    jobs = [json.loads(x) for x in cli("jobs", "--json").stdout.splitlines()]
    assert sum(j["state"] == "done" for j in jobs) == 1
    card = cli("profile", "show", "hcp-001")
    assert card.returncode == 0 and "王建国" in card.stdout
    missing = cli("profile", "show", "hcp-404")
    assert missing.returncode == 2 and "E504" in missing.stderr


@pytest.mark.slow
def test_bench_pipeline_runs_the_chain_and_the_baseline(
    synth_calls: dict, tmp_path: Path, fast_models: Path
) -> None:
    from insights.bench.pipeline import run_bench, summary

    folder = tmp_path / "calls"
    folder.mkdir()
    call = folder / "c01.ogg"
    call.write_bytes(synth_calls["stereo"].read_bytes())
    _sidecar(call, {"call_id": "c01", "hcp": HCP, "channels": {"left": "caller", "right": "hcp"}})
    rows = summary(run_bench(folder, workers=[1]))
    assert [r["system"] for r in rows] == ["faster-whisper only", "chain, 1 worker"]
    assert rows[1]["failed"] == 0 and rows[1]["calls"] == 1
    assert rows[0]["rtf"] > 0 and rows[1]["rtf"] > 0
    assert rows[1]["vs_faster_whisper"] == pytest.approx(rows[1]["seconds"] / rows[0]["seconds"], abs=0.01)


@pytest.mark.slow
def test_consults_count_only_the_answer_and_never_guess_the_doctor(
    db_url: str, tmp_path: Path, fast_pipeline: object
) -> None:
    crm = tmp_path / "crm.jsonl"
    crm.write_text(
        "\n".join(
            json.dumps(d, ensure_ascii=False)
            for d in (
                HCP,
                {"id": "hcp-077", "name": "王建国", "hospital": "北京协和医院", "department": "呼吸科"},
            )
        ),
        encoding="utf-8",
    )
    service.import_hcps(crm, url=db_url)
    question = "医生您好，我妈妈肺腺癌EGFR突变，奥希替尼是不是最好的药？别的病友都说贝伐珠单抗好。"
    answer = "EGFR敏感突变一线我一般首选奥希替尼，脑转移的效果也好，贝伐珠单抗不是首选。"
    consults = tmp_path / "consults.jsonl"
    lines = [
        {
            "id": "q1",
            "date": "2026-03-01",
            "doctor": {"id": "hcp-001"},
            "question": question,
            "answer": answer,
        },
        {
            "id": "q2",
            "date": "2026-03-02",
            "doctor": {"name": "王建国", "hospital": "北京协和医院"},
            "question": "哮喘能根治吗？",
            "answer": "哮喘控制好了可以正常生活，吸入激素要规律用。",
        },
        {"id": "q3", "doctor": {"name": "王建国", "hospital": "复旦大学附属肿瘤医院"}, "answer": "可以用。"},
        {"id": "q4", "doctor": {"id": "hcp-001"}, "question": "怎么办？"},
    ]
    consults.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{not json\n", encoding="utf-8"
    )
    rows = list(service.ingest_consults(consults, url=db_url, enqueue=False))
    assert [r["state"] for r in rows] == ["done", "done", "failed", "failed", "failed"]
    assert [r.get("code") for r in rows[2:]] == ["E504", "E503", "E503"]
    assert "namesake" in rows[2]["error"]
    with session_scope(db_url) as s:
        by_doctor = {(t.doctor_id, t.text) for t in s.scalars(select(Tag))}
    # Every tag's evidence is a sentence of an answer.
    assert by_doctor and all(text in answer or text in lines[1]["answer"] for _, text in by_doctor)
    assert {d for d, _ in by_doctor} <= {"hcp-001", "hcp-077"}
    assert not any(question[:10] in text for _, text in by_doctor)  # the patient's words never count
    again = list(service.ingest_consults(consults, url=db_url, enqueue=False))
    assert [r["outcome"] for r in again[:2]] == ["unchanged", "unchanged"]
