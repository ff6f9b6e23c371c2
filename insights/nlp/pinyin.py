"""Toneless pinyin keys for homophone-aware matching of Chinese surface forms."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one character; non-Chinese characters stand for themselves (lowercase).

    Characters are converted one at a time, for aliases and text alike, so that both sides of a
    comparison use the same reading of a polyphonic character.
    """
    if "\u4e00" <= ch <= "\u9fff":
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    return ch.lower()


def pinyin_seq(text: str) -> tuple[str, ...]:
    return tuple(char_pinyin(ch) for ch in text)


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"
