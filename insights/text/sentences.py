"""Sentence splitting for punctuated text and for unpunctuated speech-recognition runs."""

from __future__ import annotations

import re

# Hard boundaries: Chinese and ASCII sentence ends, then any closing quotes or brackets.
_HARD = re.compile(r"[。！？!?；;…]+[”’」』）)\"']*|\n+")
# ASCII full stop ends a sentence when followed by space (English paper text), not in 3.5 or e.g.
_EN_STOP = re.compile(r"(?<![0-9A-Z]\.[0-9A-Z])(?<!\b[a-z]\.[a-z])\.(?=\s+[A-Z\u4e00-\u9fff(\[])")
# Soft boundaries inside a long run: commas, spaces between CJK, and discourse markers that
# usually open a new clause in speech.
_SOFT_PUNCT = re.compile(r"[，,、：:]|(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fffA-Za-z])")
_MARKERS = re.compile(
    r"(?=(但是|不过|所以|然后|另外|其实|因为|而且|如果|我们|我觉得|我个人|关键是|问题是|那这个|对对|嗯|就是说|总的来说|还有))"
)
_MIN_CLAUSE = 12


def _hard_spans(text: str) -> list[tuple[int, int]]:
    cuts = {m.end() for m in _HARD.finditer(text)} | {m.end() for m in _EN_STOP.finditer(text)}
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(cuts) + [len(text)]:
        if cut > start:
            spans.append((start, cut))
            start = cut
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _hard_cut(segment: str, pos: int, max_chars: int) -> int:
    """Where to cut when no soft boundary came: at the last space before the limit, if any."""
    limit = pos + max_chars
    space = segment.rfind(" ", pos + _MIN_CLAUSE, limit)
    return space + 1 if space > 0 else limit


def _soft_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a long run at the first soft boundary after a minimal clause, never above max_chars."""
    segment = text[start:end]
    candidates = sorted(
        {m.end() for m in _SOFT_PUNCT.finditer(segment)} | {m.start() for m in _MARKERS.finditer(segment)}
    )
    out: list[tuple[int, int]] = []
    pos = 0
    for cand in candidates:
        if cand - pos >= _MIN_CLAUSE and len(segment) - cand >= _MIN_CLAUSE // 2:
            out.append((pos, cand))
            pos = cand
        while len(segment) - pos > max_chars and cand - pos > max_chars:
            cut = _hard_cut(segment, pos, max_chars)
            out.append((pos, cut))
            pos = cut
    while len(segment) - pos > max_chars:
        cut = _hard_cut(segment, pos, max_chars)
        out.append((pos, cut))
        pos = cut
    out.append((pos, len(segment)))
    return [(start + a, start + b) for a, b in out if b > a]


def _latin_share(segment: str) -> float:
    letters = sum(ch.isascii() and ch.isalpha() for ch in segment)
    return letters / max(1, len(segment))


def split_sentences(text: str, *, max_chars: int = 100) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of sentences, whitespace trimmed, covering all content."""
    spans: list[tuple[int, int]] = []
    for a, b in _hard_spans(text):
        a, b = _strip(text, a, b)
        if b <= a:
            continue
        # English sentences run about four times as many characters as Chinese ones.
        limit = max_chars * 4 if _latin_share(text[a:b]) > 0.5 else max_chars
        if b - a > limit:
            for x, y in _soft_split(text, a, b, limit):
                x, y = _strip(text, x, y)
                if y > x:
                    spans.append((x, y))
        else:
            spans.append((a, b))
    return spans
