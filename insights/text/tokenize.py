"""Word tokenisation with jieba, the ontology's surface forms added as user words."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

from insights.doc import Token

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)


class Tokenizer:
    """A private jieba instance (the global one is shared state) with domain words.

    Heavy: the jieba dictionary loads in :meth:`initialize`, not at construction.
    """

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self._words = [w for w in user_words if w and len(w) >= 2]
        self._jieba: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def initialize(self) -> jieba.Tokenizer:
        with self._lock:
            if self._jieba is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                for word in self._words:
                    # A high frequency keeps multi-character terms whole (奥希替尼, 非小细胞肺癌).
                    tk.add_word(word, freq=20000)
                self._jieba = tk
            return self._jieba

    def __call__(self, text: str) -> list[Token]:
        tk = self._jieba or self.initialize()
        return [Token(w, s, e) for w, s, e in tk.tokenize(text, HMM=True) if w.strip()]
