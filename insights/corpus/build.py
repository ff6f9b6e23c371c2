"""Build the split files from the writers' raw files, deterministically.

Raw lines name entities by surface text; here they get character offsets (every occurrence,
longest span first). A fixed share of call items is rendered in raw speech-recognition style (no
punctuation, lowercase Latin, homophone errors on drug names from the ontology's pinyin), with
offsets carried through. Documents go to train/dev/test by a hash of their id.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insights.corpus.io import SPLITS, Item, read_jsonl, write_jsonl
from insights.doc import ENTITY_LABELS, SOURCES, STANCES, TOPICS, UNMET_NEEDS
from insights.errors import CorpusError
from insights.nlp.pinyin import char_pinyin, is_cjk

ASR_SHARE = 35  # percent of call items rendered in ASR style
HOMOPHONE_SHARE = 60  # percent of Chinese drug mentions in an ASR item given one homophone error
_PUNCT = set("，。！？；：、“”‘’（）《》【】,.!?;:\"'()[]…—~·")


def _h(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)


def split_of(doc: str) -> str:
    bucket = _h("split:" + doc) % 100
    return "train" if bucket < 70 else ("dev" if bucket < 85 else "test")


def locate(text: str, surfaces: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Offsets of every occurrence of each (surface, label); longer surfaces claim text first."""
    taken = [False] * len(text)
    found: list[dict[str, Any]] = []
    for surface, label in sorted(surfaces, key=lambda s: -len(s[0])):
        if not surface:
            continue
        for m in re.finditer(re.escape(surface), text):
            a, b = m.start(), m.end()
            if any(taken[a:b]):
                continue
            for k in range(a, b):
                taken[k] = True
            found.append({"text": surface, "label": label, "start": a, "end": b})
    return sorted(found, key=lambda e: e["start"])


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class HomophoneTable:
    """Common characters grouped by toneless pinyin.

    The characters come from jieba's shipped dictionary (words of frequency >= ``min_freq``), so
    the table, and thus every ASR rendering, depends only on pinned packages, not on the corpus.
    """

    groups: dict[str, list[str]]

    @classmethod
    def common(cls, min_freq: int = 2000) -> HomophoneTable:
        import jieba

        chars: set[str] = set()
        with open(jieba.get_dict_file().name, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and int(parts[1]) >= min_freq:
                    chars.update(ch for ch in parts[0] if is_cjk(ch) and _in_gb2312(ch))
        groups: dict[str, list[str]] = defaultdict(list)
        for ch in sorted(chars):
            groups[char_pinyin(ch)].append(ch)
        return cls(dict(groups))

    def swap(self, ch: str, seed: int) -> str:
        alts = [c for c in self.groups.get(char_pinyin(ch), []) if c != ch]
        return alts[seed % len(alts)] if alts else ch


def asr_render(item: Item, table: HomophoneTable) -> Item:
    """Strip punctuation, lowercase Latin, put homophone errors into Chinese drug names."""
    text = item.text
    new_chars: list[str] = []
    index: list[int] = []  # old offset -> new offset (or -1 when dropped)
    swaps: dict[int, str] = {}
    for ent in item.entities:
        seed = _h(item.id + ent["text"] + str(ent["start"]))
        drug_name = ent["label"] == "DRUG" and len(ent["text"]) >= 3 and all(is_cjk(c) for c in ent["text"])
        if drug_name and seed % 100 < HOMOPHONE_SHARE:
            pos = ent["start"] + (seed // 100) % len(ent["text"])
            swaps[pos] = table.swap(text[pos], seed)
    for i, ch in enumerate(text):
        if ch in _PUNCT:
            # A dropped comma between two Latin words would glue them: keep a space instead.
            if new_chars and new_chars[-1].isascii() and new_chars[-1].isalnum():
                index.append(len(new_chars))
                new_chars.append(" ")
            else:
                index.append(-1)
            continue
        index.append(len(new_chars))
        new_chars.append(swaps.get(i, ch).lower())
    new_text = "".join(new_chars).strip()
    ents = []
    for ent in item.entities:
        a = index[ent["start"]]
        b_last = index[ent["end"] - 1]
        if a < 0 or b_last < 0:
            continue
        surface = new_text[a : b_last + 1]
        ents.append({"text": surface, "label": ent["label"], "start": a, "end": b_last + 1})
    target_text = item.target_text.lower() if item.target_text else None
    return Item(
        id=item.id,
        doc=item.doc,
        source=item.source,
        ta=item.ta,
        lang=item.lang,
        style="asr",
        text=new_text,
        entities=ents,
        topics=item.topics,
        stance=item.stance,
        target=item.target,
        target_text=target_text,
        unmet_need=item.unmet_need,
        adverse_event=item.adverse_event,
    )


def check_raw(obj: dict[str, Any], where: str) -> list[str]:
    errs: list[str] = []
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return [f"{where}: empty text"]
    for pair in obj.get("entities") or []:
        if not (isinstance(pair, list) and len(pair) == 2):
            errs.append(f"{where}: entity {pair!r} is not [text, label]")
            continue
        surface, label = pair
        if label not in ENTITY_LABELS:
            errs.append(f"{where}: unknown entity label {label!r}")
        if surface not in text:
            errs.append(f"{where}: entity {surface!r} not in text")
    if obj.get("source") not in SOURCES:
        errs.append(f"{where}: bad source {obj.get('source')!r}")
    if obj.get("stance") not in STANCES:
        errs.append(f"{where}: bad stance {obj.get('stance')!r}")
    if (obj.get("stance") == "none") != (obj.get("target") is None):
        errs.append(f"{where}: stance none iff target null")
    for t in obj.get("topics") or []:
        if t not in TOPICS:
            errs.append(f"{where}: bad topic {t!r}")
    if obj.get("unmet_need") is not None and obj.get("unmet_need") not in UNMET_NEEDS:
        errs.append(f"{where}: bad unmet need {obj.get('unmet_need')!r}")
    if not isinstance(obj.get("adverse_event"), bool):
        errs.append(f"{where}: adverse_event must be true or false")
    return errs


def build_items(
    raw_files: list[Path], *, extra_texts: list[str] | None = None
) -> tuple[list[Item], list[str]]:
    """Items in file order, with ids, offsets, style and split; and every problem found."""
    items: list[Item] = []
    problems: list[str] = []
    counter: dict[str, int] = defaultdict(int)
    for path in raw_files:
        for n, obj in enumerate(read_jsonl(path), 1):
            where = f"{path.name}:{n}"
            errs = check_raw(obj, where)
            if errs:
                problems.extend(errs)
                continue
            doc = str(obj["doc"])
            counter[doc] += 1
            item = Item(
                id=f"{doc}-{counter[doc]:02d}",
                doc=doc,
                source=obj["source"],
                ta=str(obj.get("ta", "")),
                lang=str(obj.get("lang", "zh")),
                style="clean",
                text=obj["text"].strip(),
                entities=locate(obj["text"].strip(), [(e[0], e[1]) for e in obj.get("entities") or []]),
                topics=list(dict.fromkeys(obj.get("topics") or [])),
                stance=obj["stance"],
                target=obj.get("target"),
                target_text=obj.get("target_text"),
                unmet_need=obj.get("unmet_need"),
                adverse_event=obj["adverse_event"],
            )
            items.append(item)
    docs_seen: dict[str, str] = {}
    for it in items:
        src = docs_seen.setdefault(it.doc, it.source)
        if src != it.source:
            problems.append(f"{it.id}: document mixes sources {src} and {it.source}")
    table = HomophoneTable.common()
    out: list[Item] = []
    for it in items:
        if it.source == "call" and _h("asr:" + it.id) % 100 < ASR_SHARE:
            it = asr_render(it, table)
        it.split = split_of(it.doc)
        out.append(it)
    return out, problems


def write_splits(items: list[Item], folder: Path) -> dict[str, int]:
    counts = {}
    for split in SPLITS:
        rows = [it.to_json() for it in items if it.split == split]
        write_jsonl(folder / f"{split}.jsonl", rows)
        counts[split] = len(rows)
    return counts


def validate_items(items: list[Item]) -> list[str]:
    """Checks on built items: unique ids, offsets match text, documents not split across sets."""
    problems: list[str] = []
    seen: set[str] = set()
    doc_split: dict[str, str] = {}
    for it in items:
        if it.id in seen:
            problems.append(f"duplicate id {it.id}")
        seen.add(it.id)
        if doc_split.setdefault(it.doc, it.split) != it.split:
            problems.append(f"document {it.doc} is in two splits")
        for e in it.entities:
            if it.text[e["start"] : e["end"]] != e["text"]:
                problems.append(f"{it.id}: entity {e['text']!r} does not match its offsets")
            if e["label"] not in ENTITY_LABELS:
                problems.append(f"{it.id}: bad label {e['label']}")
        if (it.stance == "none") != (it.target is None):
            problems.append(f"{it.id}: stance none iff target null")
    return problems


def raw_files(folder: Path) -> list[Path]:
    files = sorted((folder / "raw").glob("*.jsonl"))
    if not files:
        raise CorpusError(f"no raw corpus files in {folder / 'raw'}")
    return files
