"""Transcription end to end on calls the tests make with espeak-ng, and every bad-input path.

These load the bundled Whisper base (assembled into the session's cache dir) and resemblyzer's
speaker encoder, so they are marked slow; CI runs them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zhconv

from insights.asr import model as asr_model
from insights.asr.audio import SAMPLE_RATE, decode, iter_blocks, probe
from insights.asr.synth import FORMATS, Turn, make_call, write_audio
from insights.asr.transcribe import PartialTranscript, TranscribeOptions, Transcriber, transcribe_many
from insights.config import get_settings
from insights.errors import AudioError, ErrorCode, ModelError

# -- audio decoding (no model) -------------------------------------------------------------


@pytest.fixture(scope="module")
def tone_call() -> list[np.ndarray]:
    t = np.arange(int(2.0 * SAMPLE_RATE)) / SAMPLE_RATE
    return [
        0.3 * np.sin(2 * np.pi * 220 * t).astype(np.float32),
        0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32),
    ]


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_each_input_format_decodes(tmp_path: Path, tone_call: list[np.ndarray], suffix: str) -> None:
    path = write_audio(tmp_path / f"call{suffix}", tone_call)
    info = probe(path)
    block = decode(path, stereo=info.channels > 1)
    assert abs(block.duration - 2.0) < 0.15
    assert len(block.channels) == (1 if suffix == ".amr" else 2)
    assert block.channels[0].dtype == np.float32 and np.max(np.abs(block.channels[0])) > 0.1


def test_long_audio_streams_in_blocks(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", [np.zeros(25 * SAMPLE_RATE, np.float32) + 0.01])
    blocks = list(iter_blocks(path, stereo=False, block_s=10.0))
    assert [round(b.offset) for b in blocks] == [0, 10, 20]
    assert abs(sum(b.duration for b in blocks) - 25.0) < 0.05


def test_zero_byte_file_is_a_specific_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError) as e:
        probe(path)
    assert e.value.code == ErrorCode.AUDIO_EMPTY


def test_non_audio_with_audio_extension_is_a_specific_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("这不是录音文件，是会议纪要。\n" * 50, encoding="utf-8")
    with pytest.raises(AudioError) as e:
        probe(path)
    assert e.value.code == ErrorCode.NOT_AUDIO


def test_missing_file_is_a_specific_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as e:
        probe(tmp_path / "nope.wav")
    assert e.value.code == ErrorCode.AUDIO_UNREADABLE


# -- model resolution ----------------------------------------------------------------------


def test_resolver_joins_halves_verifies_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = {}
    for k, pkg in enumerate(asr_model.BUNDLED_PACKAGES, 1):
        d = tmp_path / pkg / "data"
        d.mkdir(parents=True)
        (d / f"model.bin.part{k}").write_bytes(bytes([k]) * 1000)
        if k == 1:
            for name in asr_model.SIDE_FILES:
                (d / name).write_text("{}", encoding="utf-8")
        parts[pkg] = d
    digest = hashlib.sha256(bytes([1]) * 1000 + bytes([2]) * 1000).hexdigest()
    monkeypatch.setattr(asr_model, "_package_data", lambda pkg: parts[pkg])
    monkeypatch.setattr(asr_model, "BUNDLED_SHA256", digest)
    settings = get_settings().model_copy(update={"cache_dir": tmp_path / "cache"})
    resolved = asr_model.resolve_model(None, settings=settings)
    assert resolved.path is not None and (resolved.path / "model.bin").stat().st_size == 2000
    assert all((resolved.path / n).exists() for n in asr_model.SIDE_FILES)
    mtime = (resolved.path / "model.bin").stat().st_mtime_ns
    assert asr_model.resolve_model("bundled", settings=settings).path == resolved.path
    assert (resolved.path / "model.bin").stat().st_mtime_ns == mtime  # reused, not re-joined
    # A corrupt half is caught by the checksum and nothing half-built is left behind.
    (parts[asr_model.BUNDLED_PACKAGES[1]] / "model.bin.part2").write_bytes(b"x" * 1000)
    bad = settings.model_copy(update={"cache_dir": tmp_path / "cache2"})
    with pytest.raises(ModelError) as e:
        asr_model.resolve_model(None, settings=bad)
    assert e.value.code == ErrorCode.MODEL_INVALID
    assert not asr_model.bundled_dir(bad).exists()


def test_resolver_local_folder_and_hub_name(tmp_path: Path) -> None:
    settings = get_settings()
    folder = tmp_path / "my-ct2"
    folder.mkdir()
    with pytest.raises(ModelError):
        asr_model.resolve_model(str(folder), settings=settings)
    (folder / "model.bin").write_bytes(b"0")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    assert asr_model.resolve_model(str(folder), settings=settings).path == folder
    hub = asr_model.resolve_model("Systran/faster-whisper-small", settings=settings)
    assert hub.path is None and hub.name == "Systran/faster-whisper-small"
    with pytest.raises(ModelError):
        asr_model.resolve_model(str(tmp_path / "missing" / "model"), settings=settings)


# -- transcription with the bundled model ---------------------------------------------------


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _attribution(segments: list[dict], timeline: list[tuple[str, float, float]]) -> tuple[float, float]:
    """(share of doctor seconds labelled hcp, share of caller seconds labelled hcp)."""
    hcp = [(s["start"], s["end"]) for s in segments if s["speaker"] == "hcp"]
    got = {"hcp": 0.0, "caller": 0.0}
    tot = {"hcp": 0.0, "caller": 0.0}
    for who, a, b in timeline:
        tot[who] += b - a
        got[who] += min(b - a, sum(_overlap(a, b, x, y) for x, y in hcp))
    return got["hcp"] / tot["hcp"], got["caller"] / tot["caller"]


@pytest.mark.slow
def test_stereo_call_is_split_by_channel(transcriber: Transcriber, synth_calls: dict) -> None:
    line = transcriber.transcribe(synth_calls["stereo"]).to_json()
    assert line["audio"] == "stereo.ogg" and line["language"] == "zh"
    assert line["model"].startswith("whisper-base@ct2-")
    segs = line["segments"]
    assert {s["speaker"] for s in segs} == {"caller", "hcp"}
    hcp, leak = _attribution(segs, synth_calls["timeline"])
    assert hcp >= 0.9 and leak <= 0.05
    for s in segs:
        assert 0 <= s["start"] < s["end"] <= line["duration"] + 0.01
        assert s["text"] and zhconv.convert(s["text"], "zh-cn") == s["text"]  # Simplified only


@pytest.mark.slow
def test_mono_call_is_diarised_and_roles_named(transcriber: Transcriber, synth_calls: dict) -> None:
    line = transcriber.transcribe(synth_calls["mono"]).to_json()
    segs = line["segments"]
    assert {s["speaker"] for s in segs} == {"caller", "hcp"}
    hcp, leak = _attribution(segs, synth_calls["timeline"])
    assert hcp >= 0.8 and leak <= 0.2
    # Segments never straddle a speaker change: each lies within one true turn (plus padding).
    for s in segs:
        inside = max(_overlap(s["start"], s["end"], a, b) for _, a, b in synth_calls["timeline"])
        assert inside >= 0.8 * (s["end"] - s["start"])


@pytest.mark.slow
def test_silence_is_a_specific_error(transcriber: Transcriber, tmp_path: Path) -> None:
    path = write_audio(tmp_path / "silence.wav", [np.zeros(5 * SAMPLE_RATE, np.float32)])
    with pytest.raises(AudioError) as e:
        transcriber.transcribe(path)
    assert e.value.code == ErrorCode.AUDIO_SILENT


@pytest.mark.slow
def test_truncated_file_keeps_what_was_readable(
    transcriber: Transcriber, synth_calls: dict, tmp_path: Path
) -> None:
    data = synth_calls["mono"].read_bytes()
    cut = tmp_path / "cut.wav"
    channels, _ = make_call([Turn("hcp", "我一般首选奥希替尼，效果够了，副作用也小。")] * 3, stereo=False)
    write_audio(cut, channels)
    raw = cut.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])  # the header still promises the whole length
    with pytest.raises(PartialTranscript) as e:
        transcriber.transcribe(cut)
    assert e.value.code == ErrorCode.AUDIO_TRUNCATED
    assert e.value.transcript.segments, "the readable half is kept"
    assert data  # the fixture file itself is untouched


@pytest.mark.slow
def test_batch_goes_on_after_bad_files(transcriber: Transcriber, synth_calls: dict, tmp_path: Path) -> None:
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    fake = tmp_path / "fake.ogg"
    fake.write_bytes(b"OggS" + bytes(range(256)) * 4)
    silence = write_audio(tmp_path / "quiet.flac", [np.zeros(3 * SAMPLE_RATE, np.float32)])
    bad_sidecar = tmp_path / "x.wav"
    write_audio(bad_sidecar, [np.zeros(SAMPLE_RATE, np.float32)])
    (tmp_path / "x.json").write_text("{not json", encoding="utf-8")
    lines = list(
        transcribe_many([empty, fake, silence, bad_sidecar, synth_calls["stereo"]], transcriber=transcriber)
    )
    codes = [line.get("code") for line in lines]
    assert codes[:4] == ["E402", "E404", "E403", "E407"]
    assert all(line["error"] for line in lines[:4])
    assert "error" not in lines[4] and lines[4]["segments"]


@pytest.mark.slow
def test_cli_transcribe_json_contract(synth_calls: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    proc = subprocess.run(
        [sys.executable, "-m", "insights.cli", "transcribe", str(synth_calls["stereo"]), str(bad), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["audio"] for x in lines] == ["stereo.ogg", "bad.wav"]
    assert set(lines[0]) >= {"audio", "duration", "language", "model", "segments"}
    assert set(lines[0]["segments"][0]) == {"start", "end", "speaker", "text"}
    assert lines[1]["error"].startswith("[E40")


@pytest.mark.slow
def test_options_switch_steps_off(synth_calls: dict) -> None:
    plain = Transcriber(options=TranscribeOptions(diarize=False, domain_prompt=False, correct_terms=False))
    line = plain.transcribe(synth_calls["mono"]).to_json()
    assert {s["speaker"] for s in line["segments"]} == {"unknown"}
    assert "corrections" not in line


@pytest.mark.slow
def test_enrolled_voice_print_names_the_caller(
    transcriber: Transcriber, synth_calls: dict, tmp_path: Path
) -> None:
    from insights.asr import voices

    alone, _ = make_call(
        [Turn("caller", "您好，我是医学部的小张，今天给您介绍一下新的研究数据。")] * 2, stereo=False
    )
    sample = write_audio(tmp_path / "rep.wav", alone)
    record = voices.enroll("rep-007", [sample])
    assert record["seconds"] >= 3.0
    assert voices.load("rep-007") is not None
    call = tmp_path / "call.mp3"
    call.write_bytes(synth_calls["mono"].read_bytes())
    # Even with the opening words of the doctor only, the print decides who the caller is.
    (tmp_path / "call.json").write_text(
        json.dumps({"call_id": "c", "caller_id": "rep-007"}), encoding="utf-8"
    )
    segs = transcriber.transcribe(call).to_json()["segments"]
    hcp, leak = _attribution(segs, synth_calls["timeline"])
    assert hcp >= 0.8 and leak <= 0.2
    with pytest.raises(ValueError):
        voices.enroll("../etc", [sample])
