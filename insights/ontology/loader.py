"""Load, merge and validate the ontology YAML files."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from insights.config import get_settings
from insights.errors import OntologyError
from insights.ontology.model import (
    LIST_FIELDS,
    REF_FIELDS,
    SECTION_KIND,
    Concept,
    Ontology,
)

logger = logging.getLogger(__name__)

ID_RE = re.compile(r"^(?P<kind>[a-z]+):[a-z0-9][a-z0-9.\-+]*$")
SCALAR_FIELDS = ("zh", "en", "parent", "status", "company")


def shipped_data_dir() -> Path:
    return Path(str(resources.files("insights.ontology") / "data"))


def _yaml_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")))
        elif p.exists():
            files.append(p)
        else:
            raise OntologyError(f"no such ontology path: {p}")
    return files


def _as_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and str(v).strip()]
    raise OntologyError(f"{where}: expected a list, got {type(value).__name__}")


def _parse_entry(raw: Any, kind: str, where: str) -> Concept:
    if not isinstance(raw, dict):
        raise OntologyError(f"{where}: each concept must be a mapping")
    cid = str(raw.get("id", "")).strip()
    m = ID_RE.match(cid)
    if not m:
        raise OntologyError(f"{where}: bad concept id {cid!r}")
    if m.group("kind") != kind:
        raise OntologyError(f"{where}: id {cid!r} is listed under kind {kind!r}")
    concept = Concept(id=cid, kind=kind)
    for f in SCALAR_FIELDS:
        if raw.get(f) is not None:
            setattr(concept, f, str(raw[f]).strip())
    for f in LIST_FIELDS:
        if f in raw:
            setattr(concept, f, _as_list(raw[f], f"{where} {cid}.{f}"))
    return concept


def _merge(into: Concept, new: Concept, where: str) -> None:
    for f in ("zh", "en"):
        a, b = getattr(into, f), getattr(new, f)
        if a and b and a != b:
            # Keep the first name; the second is still a valid surface form.
            into.aliases.append(b)
            logger.debug("%s: %s.%s %r vs %r merged as alias", where, into.id, f, a, b)
        elif b and not a:
            setattr(into, f, b)
    for f in LIST_FIELDS:
        merged = list(dict.fromkeys([*getattr(into, f), *getattr(new, f)]))
        setattr(into, f, merged)
    into.parent = into.parent or new.parent
    into.status = into.status or new.status
    into.company = into.company or new.company


def load_ontology(paths: list[Path] | None = None, *, include_shipped: bool = True) -> Ontology:
    """Read every YAML file (shipped data first, then ``paths``) into one :class:`Ontology`."""
    search = ([shipped_data_dir()] if include_shipped else []) + list(paths or [])
    concepts: dict[str, Concept] = {}
    for path in _yaml_files(search):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise OntologyError(f"{path.name}: {exc}") from exc
        if not isinstance(data, dict):
            raise OntologyError(f"{path.name}: top level must be a mapping")
        for section, entries in data.items():
            kind = SECTION_KIND.get(section)
            if kind is None:
                raise OntologyError(f"{path.name}: unknown section {section!r}")
            for i, raw in enumerate(entries or []):
                where = f"{path.name}:{section}[{i}]"
                concept = _parse_entry(raw, kind, where)
                concept.files = [path.name]
                if concept.id in concepts:
                    _merge(concepts[concept.id], concept, where)
                    concepts[concept.id].files.append(path.name)
                else:
                    concepts[concept.id] = concept
    return Ontology(concepts)


def validate(ontology: Ontology) -> list[str]:
    """Return every problem found: alias clashes, dangling references, nameless concepts."""
    problems = [f"surface {s!r} names both {a} and {b}" for s, a, b in ontology.conflicts]
    ids = ontology.concepts
    for c in ids.values():
        if not (c.zh or c.en):
            problems.append(f"{c.id}: has neither zh nor en name")
        for f, kind in REF_FIELDS.items():
            for ref in getattr(c, f):
                if ref not in ids:
                    problems.append(f"{c.id}.{f}: unknown {kind} {ref!r}")
        for ref in c.components:
            if ref not in ids:
                problems.append(f"{c.id}.components: unknown concept {ref!r}")
        if c.parent and c.parent not in ids:
            problems.append(f"{c.id}.parent: unknown concept {c.parent!r}")
    return problems


@lru_cache(maxsize=1)
def get_ontology() -> Ontology:
    """The process-wide ontology: shipped data plus ``INSIGHTS_ONTOLOGY_PATHS``."""
    return load_ontology(list(get_settings().ontology_paths))
