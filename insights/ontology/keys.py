"""String keys shared by the ontology index and the text normaliser (no dependencies)."""

from __future__ import annotations

# Full-width ASCII (U+FF01..U+FF5E) maps to ASCII by a fixed offset; the ideographic space to " ".
_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH_TABLE[0x3000] = 0x20
# Typographic variants that ASR and word processors produce; one character each.
_WIDTH_TABLE.update(
    {
        ord("–"): ord("-"),
        ord("—"): ord("-"),
        ord("‐"): ord("-"),
        ord("−"): ord("-"),
        ord("＋"): ord("+"),
        0x200B: 0x20,
        0xFEFF: 0x20,
        0x00A0: 0x20,
    }
)


def fold_width(text: str) -> str:
    """Full-width to half-width, one character for one (offsets are kept)."""
    return text.translate(_WIDTH_TABLE)


def alias_key(surface: str) -> str:
    """The lookup key of a surface form: width-folded, lowercase, single-spaced."""
    return " ".join(fold_width(surface).lower().split())
