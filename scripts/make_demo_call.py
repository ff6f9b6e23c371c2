"""Render the demo call with espeak-ng: a stereo file with its sidecar and a mono copy.

Everything is generated, so the example ships with no licence questions.
Usage: python scripts/make_demo_call.py OUT_DIR
"""

import json
import sys
from pathlib import Path

from insights.asr.synth import DEMO_TURNS, make_call, write_audio


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo")
    out.mkdir(parents=True, exist_ok=True)
    stereo, timeline = make_call(DEMO_TURNS, stereo=True)
    mono, _ = make_call(DEMO_TURNS, stereo=False)
    write_audio(out / "demo-call-stereo.ogg", stereo)
    write_audio(out / "demo-call-mono.mp3", mono)
    meta = {
        "call_id": "demo-call",
        "date": "2026-11-23",
        "caller_role": "rep",
        "hcp": {"id": "hcp-demo", "name": "王主任", "department": "胸部肿瘤内科", "market_tier": "core"},
        "channels": {"left": "caller", "right": "hcp"},
    }
    (out / "demo-call-stereo.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    # The mono file is a second call with the same doctor, a day later (no channel map: the two
    # voices are told apart by their sound).
    mono_meta = {k: v for k, v in meta.items() if k != "channels"} | {
        "call_id": "demo-call-2",
        "date": "2026-11-24",
    }
    (out / "demo-call-mono.json").write_text(
        json.dumps(mono_meta, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    for speaker, start, end in timeline:
        print(f"{start:6.1f}–{end:5.1f} s  {speaker}")
    print(f"wrote {out}/demo-call-stereo.ogg (+ sidecar) and {out}/demo-call-mono.mp3")


if __name__ == "__main__":
    main()
