"""Dictionary entity matching from the ontology: exact (longest match) and pinyin near-miss.

Exact matching runs on the lowercased normalised text. The near-miss matcher looks only at
Chinese runs no exact match covered, so raw speech-recognition text (奥西替尼, 要细替尼, 替尔泊太)
still yields the concept, with a confidence below 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from insights.doc import Entity
from insights.nlp.pinyin import is_cjk, pinyin_seq
from insights.ontology import Ontology
from insights.ontology.keys import alias_key
from insights.ontology.model import surface_keys

# Kinds whose Chinese names are long and distinctive enough to be matched by sound.
FUZZY_KINDS = frozenset({"drug", "class", "regimen", "disease", "ae", "therapy"})


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(slots=True)
class _Entry:
    concept: str | None
    label: str


class OntologyMatcher:
    """Longest-match dictionary lookup of every surface form in the ontology (plus extra ORG names)."""

    def __init__(self, ontology: Ontology, *, extra: dict[str, str] | None = None) -> None:
        self.ontology = ontology
        self._entries: dict[str, _Entry] = {}
        for key, cid in ontology.alias_index.items():
            self._entries[key] = _Entry(cid, ontology.concepts[cid].label)
        for surface, label in (extra or {}).items():
            for key in surface_keys(surface):
                self._entries.setdefault(key, _Entry(None, label))
        lengths: dict[str, set[int]] = defaultdict(set)
        for key in self._entries:
            lengths[key[0]].add(len(key))
        self._lengths = {ch: sorted(v, reverse=True) for ch, v in lengths.items()}

    def surfaces(self) -> list[str]:
        return list(self._entries)

    def __call__(self, norm: str) -> list[Entity]:
        low = norm.lower()
        n = len(low)
        out: list[Entity] = []
        i = 0
        while i < n:
            hit = 0
            for length in self._lengths.get(low[i], ()):
                j = i + length
                if j > n:
                    continue
                entry = self._entries.get(low[i:j])
                if entry is None:
                    continue
                # Latin terms must stand alone: OS is not the middle of COSTA, EGFR not of EGFRvIII.
                if _is_word_char(low[i]) and i > 0 and _is_word_char(low[i - 1]):
                    continue
                if _is_word_char(low[j - 1]) and j < n and _is_word_char(low[j]):
                    continue
                out.append(Entity(i, j, entry.label, norm[i:j], entry.concept, "ontology", 1.0))
                hit = length
                break
            i += hit or 1
        return out


class PinyinMatcher:
    """Finds Chinese spans that sound like an ontology term but are spelled otherwise."""

    def __init__(self, ontology: Ontology, *, min_len: int = 3, fuzzy_min_len: int = 4) -> None:
        self.min_len = min_len
        self.fuzzy_min_len = fuzzy_min_len
        self._exact: dict[tuple[str, ...], str] = {}
        self._masked: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        self._lengths: set[int] = set()
        self._labels: dict[str, str] = {}
        ambiguous: set[tuple[str, ...]] = set()
        for concept in ontology.concepts.values():
            if concept.kind not in FUZZY_KINDS:
                continue
            self._labels[concept.id] = concept.label
            for surface in concept.surfaces():
                key = alias_key(surface)
                if len(key) < min_len or not all(is_cjk(ch) for ch in key):
                    continue
                seq = pinyin_seq(key)
                other = self._exact.get(seq)
                if other is not None and other != concept.id:
                    ambiguous.add(seq)
                self._exact[seq] = concept.id
                self._lengths.add(len(seq))
                if len(seq) >= fuzzy_min_len:
                    for k in range(len(seq)):
                        self._masked[seq[:k] + ("*",) + seq[k + 1 :]].append((concept.id, seq))
        for seq in ambiguous:
            del self._exact[seq]

    def match(self, norm: str, covered: list[tuple[int, int]]) -> list[Entity]:
        """Near-miss spans in CJK runs outside ``covered``; at most one per position, longest first."""
        blocked = [False] * len(norm)
        for a, b in covered:
            for k in range(a, b):
                blocked[k] = True
        out: list[Entity] = []
        i = 0
        n = len(norm)
        lengths = sorted(self._lengths, reverse=True)
        seq_cache = pinyin_seq(norm)
        while i < n:
            if blocked[i] or not is_cjk(norm[i]):
                i += 1
                continue
            found = None
            for length in lengths:
                j = i + length
                if j > n or any(blocked[i:j]) or not all(is_cjk(c) for c in norm[i:j]):
                    continue
                seq = seq_cache[i:j]
                cid = self._exact.get(seq)
                if cid is not None:
                    found = (j, cid, 0.9)
                    break
                if length >= self.fuzzy_min_len:
                    best = self._best_masked(seq)
                    if best is not None:
                        found = (j, best[0], best[1])
                        break
            if found is None:
                i += 1
                continue
            j, cid, score = found
            out.append(Entity(i, j, self._labels[cid], norm[i:j], cid, "fuzzy", score))
            i = j
        return out

    def _best_masked(self, seq: tuple[str, ...]) -> tuple[str, float] | None:
        best: tuple[str, float] | None = None
        for k in range(len(seq)):
            for cid, ref in self._masked.get(seq[:k] + ("*",) + seq[k + 1 :], ()):
                # One syllable differs: score by how close that syllable sounds (yao ~ ao).
                sim = 1.0 - Levenshtein.normalized_distance(seq[k], ref[k])
                score = 0.6 + 0.25 * sim
                if best is None or score > best[1]:
                    best = (cid, score)
        return best
