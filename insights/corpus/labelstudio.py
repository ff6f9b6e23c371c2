"""Round-trip with Label Studio: export items as tasks with predictions-as-annotations, import back.

The labelling config (``LABEL_CONFIG``) has a Labels control for entities and Choices/TextArea
controls for the sentence labels; exporting and importing an item gives the same item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from insights.corpus.io import Item
from insights.doc import ENTITY_LABELS, STANCES, TOPICS, UNMET_NEEDS
from insights.errors import CorpusError


def _control(tag: str, name: str, values: Sequence[str], extra: str = "") -> str:
    item = "Label" if tag == "Labels" else "Choice"
    inner = "".join(f'    <{item} value="{v}"/>\n' for v in values)
    return f'  <{tag} name="{name}" toName="text"{extra}>\n{inner}  </{tag}>\n'


LABEL_CONFIG = (
    "<View>\n"
    '  <Text name="text" value="$text"/>\n'
    + _control("Labels", "entities", ENTITY_LABELS)
    + _control("Choices", "stance", STANCES, ' choice="single"')
    + '  <TextArea name="target" toName="text" maxSubmissions="1"/>\n'
    '  <TextArea name="target_text" toName="text" maxSubmissions="1"/>\n'
    + _control("Choices", "topics", TOPICS, ' choice="multiple"')
    + _control("Choices", "unmet_need", UNMET_NEEDS, ' choice="single"')
    + _control("Choices", "adverse_event", ("true", "false"), ' choice="single"')
    + "</View>\n"
)
_META = ("id", "doc", "source", "ta", "lang", "style")


def _choice(name: str, values: list[str]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": values}}


def _textarea(name: str, value: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "textarea", "value": {"text": [value]}}


def to_task(item: Item) -> dict[str, Any]:
    result: list[dict[str, Any]] = [
        {
            "from_name": "entities",
            "to_name": "text",
            "type": "labels",
            "value": {
                "start": e["start"],
                "end": e["end"],
                "text": e["text"],
                "labels": [e["label"]],
            },
        }
        for e in item.entities
    ]
    result.append(_choice("stance", [item.stance]))
    if item.target:
        result.append(_textarea("target", item.target))
    if item.target_text:
        result.append(_textarea("target_text", item.target_text))
    if item.topics:
        result.append(_choice("topics", list(item.topics)))
    if item.unmet_need:
        result.append(_choice("unmet_need", [item.unmet_need]))
    result.append(_choice("adverse_event", ["true" if item.adverse_event else "false"]))
    data = {"text": item.text, **{k: getattr(item, k) for k in _META}}
    return {"data": data, "annotations": [{"result": result}]}


def from_task(task: dict[str, Any]) -> Item:
    data = task.get("data") or {}
    if "text" not in data:
        raise CorpusError("Label Studio task without data.text")
    anns = task.get("annotations") or []
    if not anns:
        raise CorpusError(f"task {data.get('id')!r} has no annotation")
    # Label Studio keeps every annotator's version; the latest one wins.
    result = anns[-1].get("result") or []
    item = Item(
        id=str(data.get("id", "")),
        doc=str(data.get("doc", data.get("id", ""))),
        source=str(data.get("source", "call")),
        ta=str(data.get("ta", "")),
        lang=str(data.get("lang", "zh")),
        style=str(data.get("style", "clean")),
        text=str(data["text"]),
    )
    for r in result:
        name, value = r.get("from_name"), r.get("value") or {}
        if r.get("type") == "labels":
            start, end = int(value["start"]), int(value["end"])
            label = (value.get("labels") or [""])[0]
            item.entities.append({"text": item.text[start:end], "label": label, "start": start, "end": end})
        elif name == "stance":
            item.stance = value["choices"][0]
        elif name == "topics":
            item.topics = list(value["choices"])
        elif name == "unmet_need":
            item.unmet_need = value["choices"][0]
        elif name == "adverse_event":
            item.adverse_event = value["choices"][0] == "true"
        elif name == "target":
            item.target = value["text"][0]
        elif name == "target_text":
            item.target_text = value["text"][0]
    item.entities.sort(key=lambda e: e["start"])
    return item
