"""Clean Whisper's text: Simplified characters, no hallucinated loops or subtitle credits, punctuation.

Whisper base writes Mandarin in Traditional characters here, often without punctuation, and on
silence or noise it can emit lines learnt from subtitle files or loop on one phrase. Each fix is a
small pure function so that each is tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import zhconv

# Lines Whisper learnt from subtitle credits; they are never what a doctor said.
ARTEFACTS = (
    re.compile(r"字幕(由|提供|制作|翻译|校对|組|组)[^。！？\n]{0,30}"),
    re.compile(r"[^。！？\n]{0,20}Amara\.org[^。！？\n]{0,20}", re.IGNORECASE),
    re.compile(r"请不吝点赞[^。！？\n]{0,30}"),
    re.compile(r"(点赞|订阅|转发|打赏)[、，, ]*(订阅|转发|打赏|支持)[^。！？\n]{0,20}"),
    re.compile(r"(感谢|谢谢)(收看|观看|收听)[^。！？\n]{0,10}"),
    re.compile(r"(明镜|李宗盛|中文字幕)[^。！？\n]{0,20}"),
    re.compile(r"優優獨播劇場|优优独播剧场|YoYo Television Series Exclusive", re.IGNORECASE),
)
_PUNCT = "，。！？；：、,.!?;:"
_QUESTION_END = re.compile(r"(吗|呢|么|没有|是不是|对不对|好不好|行不行|多少|几个|什么|怎么样|如何)$")


def to_simplified(text: str) -> str:
    """Traditional → Simplified (zh-cn) with zhconv's phrase tables; Latin text is untouched."""
    return zhconv.convert(text, "zh-cn")


def remove_artefacts(text: str) -> str:
    for pattern in ARTEFACTS:
        text = pattern.sub("", text)
    return text.strip(" ，,")


def collapse_loops(text: str, *, max_repeats: int = 2, min_unit: int = 1, max_unit: int = 20) -> str:
    """Cut a unit repeated back to back more than ``max_repeats`` times down to ``max_repeats``.

    ``好的好的好的好的好的`` → ``好的好的``; a looping clause repeated five times keeps two. Short
    natural doubles (``谢谢谢谢``, ``对对对``) survive because three is allowed for one-character
    units (``对对对`` is common speech).
    """
    out = text
    for unit in range(min_unit, max_unit + 1):
        keep = 3 if unit == 1 else max_repeats
        pattern = re.compile(rf"(.{{{unit}}})\1{{{keep},}}", re.DOTALL)
        out = pattern.sub(_repeat(keep), out)
    return out


def _repeat(times: int) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        return m.group(1) * times

    return sub


def is_hallucination(text: str, *, duration: float) -> bool:
    """A segment whose text is impossible for its length: far more characters than one can say."""
    chars = len(re.sub(r"\s", "", text))
    # Fast Mandarin is about 6–7 syllables/s; allow 12 characters/s plus a short lead.
    return chars > 12 * max(duration, 0.5) + 8


def punctuate(text: str) -> str:
    """Close a segment with 。 or ？ and put ， at spaces Whisper leaves between clauses."""
    text = text.strip()
    if not text:
        return text
    # Whisper base marks pauses inside a Chinese segment with a space; a space between two Latin
    # words is a real space.
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "，", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])\s+(?=[\u4e00-\u9fff])", "", text)
    if text[-1] not in _PUNCT:
        text += "？" if _QUESTION_END.search(text) else "。"
    return text


def clean(
    text: str,
    *,
    duration: float,
    fix: Callable[[str], str] | None = None,
    add_punctuation: bool = True,
) -> str:
    """The whole text pass for one segment; returns ``""`` for a segment to drop.

    ``fix`` (the domain-term correction) runs on the cleaned text before punctuation is closed.
    """
    text = to_simplified(text)
    text = remove_artefacts(text)
    text = collapse_loops(text)
    if not text or is_hallucination(text, duration=duration):
        return ""
    if fix is not None:
        text = fix(text)
    return punctuate(text) if add_punctuation else text
