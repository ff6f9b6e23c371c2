"""Corpus items and reading the checked-in split files (``annotations/{train,dev,test}.jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insights.config import get_settings
from insights.errors import CorpusError

SPLITS = ("train", "dev", "test")


@dataclass(slots=True)
class Item:
    id: str
    doc: str
    source: str
    ta: str
    lang: str
    style: str
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    stance: str = "none"
    target: str | None = None
    target_text: str | None = None
    unmet_need: str | None = None
    adverse_event: bool = False
    split: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc": self.doc,
            "source": self.source,
            "ta": self.ta,
            "lang": self.lang,
            "style": self.style,
            "text": self.text,
            "gold": {
                "entities": self.entities,
                "topics": self.topics,
                "stance": self.stance,
                "target": self.target,
                "target_text": self.target_text,
                "unmet_need": self.unmet_need,
                "adverse_event": self.adverse_event,
            },
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], split: str = "") -> Item:
        try:
            gold = obj["gold"]
            return cls(
                id=str(obj["id"]),
                doc=str(obj["doc"]),
                source=str(obj.get("source", "call")),
                ta=str(obj.get("ta", "")),
                lang=str(obj.get("lang", "zh")),
                style=str(obj.get("style", "clean")),
                text=str(obj["text"]),
                entities=list(gold.get("entities") or []),
                topics=list(gold.get("topics") or []),
                stance=str(gold.get("stance", "none")),
                target=gold.get("target"),
                target_text=gold.get("target_text"),
                unmet_need=gold.get("unmet_need"),
                adverse_event=bool(gold.get("adverse_event", False)),
                split=split,
            )
        except (KeyError, TypeError) as exc:
            raise CorpusError(f"bad item {obj.get('id')!r}: {exc}") from exc


def corpus_dir() -> Path:
    configured = get_settings().annotations_dir
    if configured is not None:
        return configured
    # Source checkout (editable install): <repo>/annotations beside the package.
    return Path(__file__).resolve().parents[2] / "annotations"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{path.name}:{n}: {exc}") from exc


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_split(split: str, folder: Path | None = None) -> list[Item]:
    if split not in SPLITS:
        raise CorpusError(f"unknown split {split!r}")
    path = (folder or corpus_dir()) / f"{split}.jsonl"
    if not path.exists():
        raise CorpusError(f"{path} not found (run `insights corpus build`)")
    return [Item.from_json(o, split) for o in read_jsonl(path)]


def load_items(folder: Path | None = None) -> list[Item]:
    return [it for s in SPLITS for it in load_split(s, folder)]


def with_context(items: list[Item]) -> list[tuple[Item, str]]:
    """Each item with the text of the earlier items of its document (for ellipsis targets)."""
    out: list[tuple[Item, str]] = []
    history: dict[str, list[str]] = {}
    for it in items:
        prev = history.setdefault(it.doc, [])
        out.append((it, "".join(prev[-3:])))
        prev.append(it.text)
    return out
