"""The annotated corpus: raw writer files -> checked split files, validation, Label Studio."""

from insights.corpus.io import Item, corpus_dir, load_items, load_split

__all__ = ["Item", "corpus_dir", "load_items", "load_split"]
