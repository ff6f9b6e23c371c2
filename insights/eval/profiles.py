"""``insights eval profiles DIR``: ingest a folder of calls, then score each doctor's profile.

DIR is laid out as ``shared/audio``: ``calls/`` (audio + sidecars) and ``truth/`` (``profile_expect``
per call). The scoring is the reference scorer's (``shared/tools/score_profiles.py``), figure for
figure: per doctor, calls in date order; per concept the latest support/oppose decides, else
neutral (a later neutral-only mention is also accepted); a predicted entry matches by concept id,
name, or a mention equal to the surface target. Rep-praise leaks, unmet-need recall and
adverse-event presence per doctor are counted the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insights.errors import CorpusError


@dataclass(slots=True)
class ProfileScores:
    stance_ok: int = 0
    stance_total: int = 0
    leaks: int = 0
    leak_chances: int = 0
    unmet_ok: int = 0
    unmet_total: int = 0
    ae_ok: int = 0
    doctors: int = 0
    misses: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "profile_stance_match": round(self.stance_ok / max(1, self.stance_total), 3),
            "stance_entries": f"{self.stance_ok}/{self.stance_total}",
            "rep_praise_leaks": f"{self.leaks}/{self.leak_chances}",
            "unmet_recall": round(self.unmet_ok / max(1, self.unmet_total), 3),
            "ae_doctor_acc": round(self.ae_ok / max(1, self.doctors), 3),
            "doctors": self.doctors,
        }


def load_truth(folder: Path) -> list[dict[str, Any]]:
    truth = folder / "truth"
    if not truth.is_dir():
        raise CorpusError(f"{folder}: expected a truth/ folder beside calls/")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(truth.glob("*.json"))]


def _hcp_id(call: dict[str, Any]) -> str:
    return str(call["hcp"]["id"] if "hcp" in call else call["hcp_id"])


def score_profiles(calls: Iterable[dict[str, Any]], profiles: dict[str, dict[str, Any]]) -> ProfileScores:
    by_hcp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in calls:
        by_hcp[_hcp_id(c)].append(c)
    sc = ProfileScores(doctors=len(by_hcp))
    for hid, cs in sorted(by_hcp.items()):
        cs.sort(key=lambda c: c["date"])
        expected: dict[str, tuple[str | None, str, set[str]]] = {}
        for c in cs:
            for s in c["profile_expect"]["stances"]:
                decided, _, targets = expected.get(s["target_concept"], (None, "", set()))
                new = s["stance"] if s["stance"] in ("support", "oppose") else decided
                expected[s["target_concept"]] = (new, s["stance"], targets | {s["target"]})
        prof = profiles.get(hid) or {}
        predicted = prof.get("stances") or []

        def find(cid: str, targets: set[Any], predicted: list[dict[str, Any]] = predicted) -> str | None:
            for p in predicted:
                names = {p.get("concept"), p.get("name"), *(p.get("mentions") or [])}
                if cid in names or targets & names:
                    return p.get("stance")
            return None

        for cid, (decided, latest, targets) in expected.items():
            sc.stance_total += 1
            got = find(cid, targets)
            if got in {decided or "neutral", latest}:
                sc.stance_ok += 1
            else:
                sc.misses.append(f"{hid} {cid} want {decided or 'neutral'} got {got}")
        for c in cs:
            promoted = c.get("caller_promoted") or {}
            if promoted.get("target_concept") and c.get("caller_role") == "rep":
                decided = expected.get(promoted["target_concept"], (None, "", set()))[0]
                if decided != "support":
                    sc.leak_chances += 1
                    sc.leaks += find(promoted["target_concept"], {promoted.get("target")}) == "support"
        want_needs = {u for c in cs for u in c["profile_expect"]["unmet_needs"]}
        got_needs = {u.get("category") for u in prof.get("unmet_needs") or []}
        sc.unmet_total += len(want_needs)
        sc.unmet_ok += len(want_needs & got_needs)
        want_ae = any(c["profile_expect"]["adverse_event"] for c in cs)
        sc.ae_ok += want_ae == bool(prof.get("adverse_events"))
    return sc


def use_truth_transcript(source_id: int, turns: list[dict[str, Any]], *, url: str) -> None:
    """Store the truth file's turns as the call's transcript (a diagnostic: analysis without ASR errors)."""
    from sqlalchemy import delete

    from insights.store.models import Segment, Source
    from insights.store.session import session_scope

    with session_scope(url) as s:
        s.execute(delete(Segment).where(Segment.source_id == source_id))
        for i, t in enumerate(turns):
            s.add(
                Segment(
                    source_id=source_id,
                    idx=i,
                    speaker=t["speaker"],
                    start=t["start"],
                    end=t["end"],
                    text=t["text"],
                )
            )
        src = s.get(Source, source_id)
        if src is not None:
            src.status = "transcribed"
            src.asr_model = "truth"
