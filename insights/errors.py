"""One coded error catalogue: every error the library raises for bad input has a stable code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes (E1xx input, E2xx ontology/data, E3xx models)."""

    EMPTY_TEXT = "E101"
    NOT_JSON = "E102"
    MISSING_TEXT = "E103"
    TEXT_NOT_STRING = "E104"
    TEXT_TOO_LONG = "E105"
    BAD_ENCODING = "E106"
    BAD_SOURCE = "E107"
    NOT_OBJECT = "E108"
    ONTOLOGY_INVALID = "E201"
    CORPUS_INVALID = "E202"
    MODEL_MISSING = "E301"
    MODEL_INVALID = "E302"
    BACKEND_UNAVAILABLE = "E303"
    INTERNAL = "E900"


MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.EMPTY_TEXT: "text is empty or whitespace only",
    ErrorCode.NOT_JSON: "line is not valid JSON",
    ErrorCode.MISSING_TEXT: "object has no 'text' field",
    ErrorCode.TEXT_NOT_STRING: "'text' must be a string",
    ErrorCode.TEXT_TOO_LONG: "text is longer than the limit",
    ErrorCode.BAD_ENCODING: "line is not valid UTF-8",
    ErrorCode.BAD_SOURCE: "'source' must be one of call, paper, consult",
    ErrorCode.NOT_OBJECT: "line must be a JSON object",
    ErrorCode.ONTOLOGY_INVALID: "ontology data is invalid",
    ErrorCode.CORPUS_INVALID: "annotation corpus is invalid",
    ErrorCode.MODEL_MISSING: "model is not built",
    ErrorCode.MODEL_INVALID: "model files are invalid",
    ErrorCode.BACKEND_UNAVAILABLE: "backend cannot be used here",
    ErrorCode.INTERNAL: "internal error while analysing this item",
}


class InsightsError(Exception):
    """Base error carrying a stable :class:`ErrorCode` and a specific detail."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        text = MESSAGES[code]
        super().__init__(f"[{code.value}] {text}" + (f": {detail}" if detail else ""))


class InputError(InsightsError):
    """Bad input for one item: recorded for that item, the batch goes on."""


class OntologyError(InsightsError):
    def __init__(self, detail: str) -> None:
        super().__init__(ErrorCode.ONTOLOGY_INVALID, detail)


class CorpusError(InsightsError):
    def __init__(self, detail: str) -> None:
        super().__init__(ErrorCode.CORPUS_INVALID, detail)


class ModelError(InsightsError):
    """A model is missing, corrupt or cannot run here."""
