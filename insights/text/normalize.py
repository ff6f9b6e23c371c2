"""Normalisation that keeps one output character per input character.

Offsets found on the normalised text are therefore valid on the caller's text: the contract
(spec §3) reports offsets into the analysed text, and evidence quotes are cut from the original.
"""

from __future__ import annotations

import zhconv

from insights.ontology.keys import fold_width

__all__ = ["fold_width", "normalize", "to_simplified"]


def to_simplified(text: str) -> str:
    """Traditional to Simplified Chinese with zhconv, keeping the length.

    zhconv converts by phrases; a phrase may change length (rare). Then fall back to converting
    character by character, which keeps offsets exact.
    """
    converted = zhconv.convert(text, "zh-cn")
    if len(converted) == len(text):
        return converted
    out = []
    for ch in text:
        c = zhconv.convert(ch, "zh-cn")
        out.append(c if len(c) == 1 else ch)
    return "".join(out)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def normalize(text: str) -> str:
    """Width-fold, blank control characters, and convert to Simplified Chinese."""
    folded = fold_width(text)
    # Control characters become spaces; newlines stay (they end sentences).
    folded = "".join(" " if (ord(ch) < 32 and ch != "\n") else ch for ch in folded)
    return to_simplified(folded) if _has_cjk(folded) else folded
