"""One coded error catalogue: every error the library raises for bad input has a stable code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes (E1xx text input, E2xx ontology/data, E3xx models, E4xx audio,
    E5xx ingestion and records)."""

    EMPTY_TEXT = "E101"
    NOT_JSON = "E102"
    MISSING_TEXT = "E103"
    TEXT_NOT_STRING = "E104"
    TEXT_TOO_LONG = "E105"
    BAD_ENCODING = "E106"
    BAD_SOURCE = "E107"
    NOT_OBJECT = "E108"
    AUDIO_UNREADABLE = "E401"
    AUDIO_EMPTY = "E402"
    AUDIO_SILENT = "E403"
    NOT_AUDIO = "E404"
    AUDIO_TRUNCATED = "E405"
    AUDIO_TOO_LONG = "E406"
    SIDECAR_INVALID = "E407"
    SIDECAR_MISSING = "E501"
    HCP_MISSING = "E502"
    RECORD_INVALID = "E503"
    HCP_UNKNOWN = "E504"
    SOURCE_UNKNOWN = "E505"
    FILE_UNREADABLE = "E506"
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
    ErrorCode.AUDIO_UNREADABLE: "audio file cannot be read",
    ErrorCode.AUDIO_EMPTY: "audio file is empty",
    ErrorCode.AUDIO_SILENT: "audio holds no speech",
    ErrorCode.NOT_AUDIO: "file is not audio",
    ErrorCode.AUDIO_TRUNCATED: "audio file is truncated or corrupt",
    ErrorCode.AUDIO_TOO_LONG: "audio is longer than the limit",
    ErrorCode.SIDECAR_INVALID: "call sidecar JSON is invalid",
    ErrorCode.SIDECAR_MISSING: "call has no sidecar metadata (AUDIO_STEM.json)",
    ErrorCode.HCP_MISSING: "call metadata names no doctor (hcp.id)",
    ErrorCode.RECORD_INVALID: "record is invalid",
    ErrorCode.HCP_UNKNOWN: "no such doctor",
    ErrorCode.SOURCE_UNKNOWN: "no such source",
    ErrorCode.FILE_UNREADABLE: "input file cannot be read",
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


class AudioError(InsightsError):
    """One audio file cannot be transcribed: recorded for that file, the batch goes on."""


class IngestError(InsightsError):
    """One source cannot be ingested (no sidecar, no doctor, a bad record): recorded on its job."""
