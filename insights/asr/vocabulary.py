"""Domain vocabulary for speech recognition, from the analysis engine's ontology.

Three uses, each measured by ``insights eval asr --ablate``:

* the therapy area of a call: the sidecar's department narrows the candidates, the first block's
  words (terms found exactly or by sound) pick among them;
* the Whisper prompt: an ``initial_prompt`` in punctuated Simplified Chinese (which steers Whisper
  toward Simplified characters and punctuation) and ``hotwords`` listing the area's key terms;
* post-correction: a span whose pinyin nearly equals an area term (熬欺贫您 → 奥希替尼), or a Latin
  acronym one confusable letter away from a known one (BFS → PFS, only where BFS is no term), is
  replaced when the sound similarity clears a floor.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from insights.nlp.pinyin import char_pinyin, is_cjk
from insights.ontology.keys import alias_key
from insights.ontology.loader import get_ontology
from insights.ontology.model import Ontology

# Department wording → therapy areas (ontology ``ta`` values). Checked in order; the first
# matching row wins, and a plain 肿瘤 department keeps every oncology area.
ONCOLOGY = ("lung_cancer", "breast_cancer", "colorectal_cancer", "gastric_cancer", "liver_hbv", "hematology")
DEPARTMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"乳腺", ("breast_cancer",)),
    (r"胸|肺", ("lung_cancer", "asthma_copd")),
    (r"血液|淋巴", ("hematology",)),
    (r"结直肠|肛肠", ("colorectal_cancer",)),
    (r"胃|腹部|消化", ("gastric_cancer", "colorectal_cancer", "liver_hbv")),
    (r"肝|感染", ("liver_hbv", "vaccines")),
    (r"呼吸", ("asthma_copd", "lung_cancer")),
    (r"心血管|心内|心脏|高血压|心衰", ("heart_failure_hypertension", "af_anticoagulation")),
    (r"内分泌|糖尿病|代谢|肥胖", ("diabetes_obesity",)),
    (r"风湿|免疫|皮肤", ("ra_psoriasis",)),
    (r"精神|心境|心理|睡眠", ("psychiatry",)),
    (r"神经|记忆|老年", ("alzheimers", "psychiatry")),
    (r"疫苗|预防|儿|接种", ("vaccines",)),
    (r"肿瘤|癌", ONCOLOGY),
)
PROMPT_LEAD = "以下是医药代表与医生的电话交流，使用简体中文和标点。"
HOTWORD_CHARS = 90  # Whisper keeps at most 223 prompt tokens; leave room for the lead and context
CORRECTABLE_KINDS = ("drug", "class", "regimen", "gene", "trial", "endpoint", "disease")
# Chinese near-miss correction targets: names that speech recognition garbles (drugs, brands,
# regimens, classes). Diseases and endpoints are everyday words that it gets right, and fuzzy
# matching toward them rewrote correct speech (症状缓解后 → 症状缓解率) in the clean corpus.
FUZZY_CJK_KINDS = frozenset({"drug", "class", "regimen"})
EXACT_SOUND = 0.97
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z]")
_SPELLED = re.compile(r"(?<![A-Za-z])((?:[A-Za-z][ .]){1,5}[A-Za-z])(?![A-Za-z])")
# Letters that a recogniser confuses when an acronym is spelled aloud.
_LETTER_GROUPS = ("BPV", "DT", "MN", "SFX", "CZ", "GJ", "IY", "AH", "OU", "KQ", "LR")

_INITIALS = (
    "zh",
    "ch",
    "sh",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)
_NEAR_INITIALS = {
    frozenset(p)
    for p in (
        ("z", "zh"),
        ("c", "ch"),
        ("s", "sh"),
        ("l", "n"),
        ("f", "h"),
        ("r", "l"),
        ("j", "q"),
        ("q", "x"),
        ("j", "x"),
        ("b", "p"),
        ("d", "t"),
        ("g", "k"),
        ("", "y"),
        ("", "w"),
        ("h", "k"),
        ("m", "n"),
        ("z", "s"),
        ("c", "s"),
        ("z", "c"),
    )
}
_NEAR_FINALS = {
    frozenset(p)
    for p in (
        ("in", "ing"),
        ("en", "eng"),
        ("an", "ang"),
        ("ian", "iang"),
        ("i", "in"),
        ("i", "ing"),
        ("u", "ou"),
        ("uo", "o"),
        ("e", "ei"),
        ("ao", "ou"),
        ("i", "ei"),
        ("ong", "eng"),
        ("un", "ong"),
        ("ui", "ei"),
        ("ie", "i"),
        ("iu", "ou"),
        ("i", "u"),  # qi ~ qu (qü): both front high vowels after j/q/x
        ("o", "e"),
    )
}


def _split(syl: str) -> tuple[str, str]:
    for ini in _INITIALS:
        if syl.startswith(ini) and len(syl) > len(ini):
            return ini, syl[len(ini) :]
    return "", syl


@lru_cache(maxsize=200_000)
def syllable_similarity(a: str, b: str) -> float:
    """How alike two toneless syllables sound, 0–1 (initial weighs 0.4, final 0.6)."""
    if a == b:
        return 1.0
    ia, fa = _split(a)
    ib, fb = _split(b)
    ini = 1.0 if ia == ib else 0.6 if frozenset((ia, ib)) in _NEAR_INITIALS else 0.0
    fin = 1.0 if fa == fb else 0.7 if frozenset((fa, fb)) in _NEAR_FINALS else 0.0
    return 0.4 * ini + 0.6 * fin


def _letters_close(a: str, b: str) -> bool:
    return any(a in g and b in g for g in _LETTER_GROUPS)


@dataclass(frozen=True, slots=True)
class Term:
    surface: str
    concept: str
    kind: str
    pinyin: tuple[str, ...]


class Vocabulary:
    """Area-indexed terms of the ontology, with prompt building and correction."""

    def __init__(self, ontology: Ontology, *, floor: float = 0.76) -> None:
        self.ontology = ontology
        self.floor = floor
        self.areas = ontology.therapy_areas()
        self._hot: dict[str, list[str]] = {a: [] for a in self.areas}
        self._cjk: dict[str, dict[int, list[Term]]] = {a: {} for a in self.areas}
        self._latin: dict[str, dict[str, str]] = {a: {} for a in self.areas}
        self._known_latin: set[str] = set()
        self._exact_matcher: Any = None
        order = {"drug": 0, "endpoint": 1, "gene": 2, "trial": 3, "regimen": 4, "class": 5, "disease": 6}
        # Drugs of one area before drugs shared by many (platinum, taxanes), then endpoints, genes…
        concepts = sorted(ontology.concepts.values(), key=lambda c: (order.get(c.kind, 9), len(c.ta) > 1))
        for c in concepts:
            for s in c.surfaces():
                if s.isascii():
                    self._known_latin.add(s.upper())
            if c.kind not in CORRECTABLE_KINDS:
                continue
            areas = c.ta or self.areas  # area-less concepts (endpoints, general terms) belong to all
            for area in areas:
                if area not in self._hot:
                    continue
                if c.kind == "drug" and c.zh:
                    self._hot[area].append(c.zh)
                elif c.kind in ("endpoint", "gene", "trial"):
                    short = [
                        s for s in (c.en, *c.aliases) if s and s.isascii() and s.isupper() and len(s) <= 8
                    ]
                    self._hot[area].extend(short[:1])
                for s in c.surfaces():
                    key = alias_key(s)
                    if s.isascii():
                        if s.isupper() and 2 <= len(s) <= 8 and s.isalnum():
                            self._latin[area][s] = c.id
                    elif c.kind in FUZZY_CJK_KINDS and len(key) >= 2 and all(is_cjk(ch) for ch in key):
                        term = Term(key, c.id, c.kind, tuple(char_pinyin(ch) for ch in key))
                        self._cjk[area].setdefault(len(key), []).append(term)

    # -- therapy area ------------------------------------------------------------------------

    def areas_for_department(self, department: Any) -> list[str]:
        if isinstance(department, str) and department:
            for pattern, areas in DEPARTMENTS:
                if re.search(pattern, department):
                    return [a for a in areas if a in self._hot]
        return list(self.areas)

    def infer_areas(self, text: str, *, prior: list[str] | None = None) -> list[str]:
        """The area(s) whose terms ``text`` names most, among ``prior`` (all areas when empty)."""
        candidates = prior or list(self.areas)
        if len(candidates) == 1 or not text:
            return list(candidates)
        votes: Counter[str] = Counter()
        simplified = re.sub(r"\s", "", text)
        for area in candidates:
            for length, terms in self._cjk[area].items():
                for t in terms:
                    if t.surface in simplified:
                        votes[area] += length
            for s in self._latin[area]:
                if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text, re.IGNORECASE):
                    votes[area] += 2
        if not votes:
            return list(candidates)
        best = max(votes.values())
        return [a for a in candidates if votes[a] == best]

    # -- prompt ------------------------------------------------------------------------------

    def prompt(self, areas: list[str], context: str = "") -> tuple[str, str]:
        """(initial_prompt, hotwords) for these areas; hotwords are spread evenly across areas."""
        picked: list[str] = []
        seen: set[str] = set()
        lists = [self._hot.get(a, []) for a in areas] or [[]]
        budget = HOTWORD_CHARS
        index = 0
        while budget > 0 and any(index < len(lst) for lst in lists):
            for lst in lists:
                if index < len(lst) and lst[index] not in seen:
                    word = lst[index]
                    if len(word) + 1 > budget:
                        budget = 0
                        break
                    seen.add(word)
                    picked.append(word)
                    budget -= len(word) + 1
            index += 1
        lead = PROMPT_LEAD
        if context:
            lead = context[-60:] + lead
        return lead, "，".join(picked)

    def _matcher(self) -> Any:
        if self._exact_matcher is None:
            from insights.nlp.matcher import OntologyMatcher

            self._exact_matcher = OntologyMatcher(self.ontology)
        return self._exact_matcher

    # -- correction --------------------------------------------------------------------------

    def correct(self, text: str, areas: list[str]) -> tuple[str, list[dict[str, Any]]]:
        """Replace near-miss spellings of the areas' terms; returns the text and what changed."""
        fixes: list[dict[str, Any]] = []
        text = _SPELLED.sub(lambda m: re.sub(r"[ .]", "", m.group(1)).upper(), text)
        text = self._correct_latin(text, areas, fixes)
        text = self._correct_cjk(text, areas, fixes)
        return text, fixes

    def _correct_latin(self, text: str, areas: list[str], fixes: list[dict[str, Any]]) -> str:
        known: dict[str, str] = {}
        for a in areas:
            known.update(self._latin.get(a, {}))

        def repl(m: re.Match[str]) -> str:
            word = m.group(0)
            up = word.upper()
            if up in self._known_latin or not 2 <= len(word) <= 6:
                return word.upper() if up in known else word
            best = [
                s
                for s in known
                if len(s) == len(up)
                and sum(x != y for x, y in zip(s, up, strict=True)) == 1
                and all(x == y or _letters_close(x, y) for x, y in zip(s, up, strict=True))
            ]
            if len(best) != 1:
                return word
            fixes.append({"from": word, "to": best[0], "concept": known[best[0]], "score": 0.8})
            return best[0]

        return _LATIN.sub(repl, text)

    def _correct_cjk(self, text: str, areas: list[str], fixes: list[dict[str, Any]]) -> str:
        by_len: dict[int, list[Term]] = {}
        for a in areas:
            for length, terms in self._cjk.get(a, {}).items():
                by_len.setdefault(length, []).extend(terms)
        if not by_len:
            return text
        # Characters inside an exact term (any concept, any area) are rewritten only into a longer
        # name of the same concept (阿美 + 提你 → 阿美替尼), and a window must start and end on
        # word boundaries of everyday Chinese (jieba), so that 这种药 never yields 中药 and
        # 恩替卡韦或 never becomes 恩替卡韦片.
        owner: list[str | None] = [None] * len(text)
        span_of: dict[int, tuple[int, int]] = {}
        for ent in self._matcher()(text):
            for k in range(ent.start, ent.end):
                owner[k] = ent.concept or ""
                span_of[k] = (ent.start, ent.end)
        starts, ends = _word_bounds(text)
        out: list[str] = []
        i = 0
        n = len(text)
        lengths = sorted(by_len, reverse=True)
        while i < n:
            if not is_cjk(text[i]) or i not in starts:
                out.append(text[i])
                i += 1
                continue
            hit: tuple[int, Term, float] | None = None
            for length in lengths:
                window = text[i : i + length]
                if (
                    len(window) < length
                    or i + length not in ends
                    or any(
                        span_of[k][0] < i or span_of[k][1] > i + length
                        for k in range(i, i + length)
                        if k in span_of
                    )
                    or not all(is_cjk(ch) for ch in window)
                ):
                    continue
                seq = tuple(char_pinyin(ch) for ch in window)
                best: tuple[float, Term] | None = None
                inside = {owner[k] for k in range(i, i + length) if owner[k] is not None}
                if length == 2:
                    # Two characters: only an exact homophone that is no everyday word (被罚 → 贝伐,
                    # 搏累 → 铂类; never 激动 → anything).
                    if not _is_common_word(window) and not _is_common_phrase(window):
                        same = [t for t in by_len[2] if t.pinyin == seq and not inside - {t.concept}]
                        if len(same) == 1:
                            hit = (2, same[0], 0.9)
                            break
                    continue
                for term in by_len[length]:
                    sims = [syllable_similarity(x, y) for x, y in zip(seq, term.pinyin, strict=True)]
                    score = sum(sims) / length
                    # At least half the syllables must sound the same or nearly so: a short
                    # common word is never "corrected" into a drug on one shared syllable.
                    near = sum(s >= 0.8 for s in sims)
                    floor = self.floor if length >= 4 else max(self.floor, 0.86)
                    if score < floor or near * 2 < length or (best is not None and score <= best[0]):
                        continue
                    if inside - {term.concept}:
                        continue
                    # An exact homophone of a 3+ character name is taken as it is (新币可 → 信必可);
                    # otherwise the window must not be everyday words where it differs (停了一周,
                    # 还可以, 医院药 are speech, not misheard names).
                    if score < EXACT_SOUND and _is_common_phrase(window, sims if length >= 4 else None):
                        continue
                    best = (score, term)
                if best is not None:
                    hit = (length, best[1], best[0])
                    break
            if hit is None:
                out.append(text[i])
                i += 1
                continue
            length, term, score = hit
            window = text[i : i + length]
            if term.concept and window != term.surface:
                fixes.append(
                    {"from": window, "to": term.surface, "concept": term.concept, "score": round(score, 3)}
                )
                out.append(term.surface)
            else:
                out.append(window)
            i += length
        return "".join(out)


def _everyday_words() -> dict[str, int]:
    """jieba's own dictionary (not the ontology-extended one): words of everyday Chinese."""
    freq: dict[str, int] = _everyday_tokenizer().FREQ
    return freq


def _is_common_word(word: str) -> bool:
    return _everyday_words().get(word, 0) > 0


@lru_cache(maxsize=1)
def _everyday_tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _word_bounds(text: str) -> tuple[set[int], set[int]]:
    """Start and end offsets of jieba's words in ``text`` (everyday dictionary, no HMM)."""
    starts: set[int] = set()
    ends: set[int] = set()
    for _, a, b in _everyday_tokenizer().tokenize(text, HMM=False):
        starts.add(a)
        ends.add(b)
    return starts, ends


def _is_common_phrase(window: str, sims: Sequence[float] | None = None) -> bool:
    """Half or more of the window is everyday multi-character words (停了一周, 还可以, 医院药):
    real speech, not a misheard term (misheard terms come out as odd single characters).

    With ``sims`` (per-syllable similarity to the candidate term), a word counts only where it
    covers a syllable that differs: 阿美 in 阿美去你 sounds exactly like the start of 阿美替尼.
    """
    common = 0
    for w, a, b in _everyday_tokenizer().tokenize(window, HMM=False):
        if len(w) >= 2 and _is_common_word(w) and (sims is None or any(x < 1.0 for x in sims[a:b])):
            common += len(w)
    return common * 2 >= len(window)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _vocabulary() -> Vocabulary:
    return Vocabulary(get_ontology())


def get_vocabulary() -> Vocabulary:
    """The process-wide vocabulary (built from the ontology on first use)."""
    with _lock:
        return _vocabulary()
