"""insights: doctor insight from calls, papers and consults.

The analysis API is ``insights.analyze(texts) -> list[Doc]``; nothing heavy loads at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "analyze"]

if TYPE_CHECKING:
    from insights.doc import Doc


def analyze(texts: Any, *, source: str = "call", backend: str | None = None) -> list[Doc]:
    """Analyse texts with the configured backend (see :mod:`insights.analyze`)."""
    from insights.analyze import analyze as _analyze

    return _analyze(texts, source=source, backend=backend)
