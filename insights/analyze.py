"""The analysis API that workers and the CLI call: texts in, annotated ``Doc`` objects out.

``analyze_lines`` implements the JSON Lines contract (spec §3): one output object per input line,
in order; a bad line yields ``{"id", "error", "code"}`` and the batch goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from insights.config import get_settings
from insights.doc import SOURCES, Doc
from insights.errors import ErrorCode, InputError
from insights.nlp.pipeline import Pipeline, get_pipeline

logger = logging.getLogger(__name__)


def _pipeline(backend: str | None) -> Pipeline:
    return get_pipeline(backend or get_settings().backend)


def make_doc(text: Any, *, id: str | None = None, source: Any = "call", context: Any = None) -> Doc:
    """Validate one input and wrap it in a :class:`Doc`; raise :class:`InputError` if bad."""
    if not isinstance(text, str):
        raise InputError(ErrorCode.TEXT_NOT_STRING, f"got {type(text).__name__}")
    if not text.strip():
        raise InputError(ErrorCode.EMPTY_TEXT)
    limit = get_settings().max_text_chars
    if len(text) > limit:
        raise InputError(ErrorCode.TEXT_TOO_LONG, f"{len(text)} characters, limit {limit}")
    if source is None:
        source = "call"
    if source not in SOURCES:
        raise InputError(ErrorCode.BAD_SOURCE, f"got {source!r}")
    ctx = context if isinstance(context, str) and context.strip() else None
    return Doc(text=text, id=id, source=source, context=ctx[-2000:] if ctx else None)


def analyze(texts: str | Sequence[str], *, source: str = "call", backend: str | None = None) -> list[Doc]:
    """Analyse one text or many; raises :class:`InputError` for an invalid text."""
    items = [texts] if isinstance(texts, str) else list(texts)
    docs = [make_doc(t, source=source) for t in items]
    return _pipeline(backend)(docs)


@dataclass(slots=True)
class _Slot:
    """One input line: either a doc to analyse or the error object to print for it."""

    doc: Doc | None
    error: dict[str, Any] | None


def _error(id_: Any, code: ErrorCode, detail: str) -> dict[str, Any]:
    return {"id": id_, "error": str(InputError(code, detail)), "code": code.value}


def parse_line(raw: bytes | str, lineno: int) -> _Slot:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _Slot(
                None,
                _error(None, ErrorCode.BAD_ENCODING, f"line {lineno}: {exc.reason} at byte {exc.start}"),
            )
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return _Slot(None, _error(None, ErrorCode.NOT_JSON, f"line {lineno}: {exc.msg}"))
    if not isinstance(obj, dict):
        return _Slot(None, _error(None, ErrorCode.NOT_OBJECT, f"line {lineno}: got {type(obj).__name__}"))
    id_ = obj.get("id")
    if "text" not in obj:
        return _Slot(None, _error(id_, ErrorCode.MISSING_TEXT, f"line {lineno}"))
    try:
        doc = make_doc(obj["text"], id=id_, source=obj.get("source"), context=obj.get("context"))
    except InputError as exc:
        return _Slot(None, {"id": id_, "error": str(exc), "code": exc.code.value})
    return _Slot(doc, None)


def _run(pipeline: Pipeline, docs: list[Doc]) -> list[dict[str, Any]]:
    try:
        return [d.to_dict() for d in pipeline(docs)]
    except Exception:
        if len(docs) == 1:
            logger.exception("analysis failed for item %r", docs[0].id)
            return [_error(docs[0].id, ErrorCode.INTERNAL, "see the service log")]
        # Isolate the item that fails; the others still get their results.
        return [r for d in docs for r in _run(pipeline, [d])]


def analyze_lines(
    lines: Iterable[bytes | str], *, backend: str | None = None, batch_size: int = 64
) -> Iterator[dict[str, Any]]:
    """Yield one result object per non-blank input line, in input order."""
    pipeline = _pipeline(backend)
    pending: list[_Slot] = []

    def flush() -> Iterator[dict[str, Any]]:
        docs = [s.doc for s in pending if s.doc is not None]
        results = iter(_run(pipeline, docs)) if docs else iter(())
        for slot in pending:
            yield slot.error if slot.error is not None else next(results)
        pending.clear()

    for n, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not stripped:
            continue
        pending.append(parse_line(stripped, n))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()
