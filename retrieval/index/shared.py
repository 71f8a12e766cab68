"""What the readers of one opened index share: the current vector state and bounded caches.

Rows never change at a position, but a removal takes rows away: every cache is emptied when
the store's version changes, and only what a reader read at the current version goes in.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict

from retrieval.index import store_read
from retrieval.index.mapped import VectorState
from retrieval.index.rows import PassageRow, SentenceRow, TermFacts

#: Document texts kept in memory for cutting quotes (most recently used first out).
TEXT_CACHE_CHARS = 8_000_000
#: Sentence and passage rows kept between questions (each about half a KiB); term variants
#: and facts likewise. Each cache is emptied past this many entries.
ROW_CACHE_ROWS = 200_000


class Shared:
    """The current :class:`VectorState` and the caches filled at it. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: VectorState | None = None
        self.sentences: dict[int, SentenceRow] = {}
        self.passages: dict[int, PassageRow] = {}
        self.variants: dict[str, frozenset[str]] = {}
        self.facts: dict[str, TermFacts] = {}
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._text_chars = 0

    def move_to(self, state: VectorState) -> None:
        """Make ``state`` current and empty the caches (call with ``lock`` held)."""
        self.state = state
        self._texts.clear()
        self._text_chars = 0
        self.sentences.clear()
        self.passages.clear()
        self.variants.clear()
        self.facts.clear()

    def text(self, conn: sqlite3.Connection, idx: int) -> str:
        """A document's stored text (cached, bounded); KeyError when there is none."""
        with self.lock:
            text = self._texts.get(idx)
            if text is not None:
                self._texts.move_to_end(idx)
                return text
        text = store_read.document_text(conn, idx)
        if text is None:
            raise KeyError(idx)
        with self.lock:
            self._texts[idx] = text
            self._text_chars += len(text)
            while self._text_chars > TEXT_CACHE_CHARS and len(self._texts) > 1:
                _old, dropped = self._texts.popitem(last=False)
                self._text_chars -= len(dropped)
        return text
