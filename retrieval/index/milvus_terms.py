"""The Milvus store's term reads: posting lists, lexical matches and term statistics.

Part of :class:`~retrieval.index.milvus_reader.MilvusReader`. A posting list is read per
full-text token for sentences and passages at once, kept for the answer and between answers
while the version stands; :meth:`MilvusTermReads.term_facts`, which search asks first with
the question's stems, starts reading their posting lists in the background, so that the
lexical search later finds them read (or waits less). Term frequencies, the terms under a
prefix and acronyms come from the version's :class:`~retrieval.index.milvus_term_table.TermTable`
in memory: no round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from retrieval.index import milvus_schema as ms
from retrieval.index.milvus_protocol import OpenMilvusIndex
from retrieval.index.milvus_sync import query_all
from retrieval.index.milvus_term_table import TermTable
from retrieval.index.rows import Stats, TermFacts
from retrieval.index.view import Kind
from retrieval.split.language import Language

#: Stems whose sentence frequency is above this are not read ahead (search may skip them,
#: see ``retrieval.search.candidates.LEXICAL_BUDGET``).
PREFETCH_MAX_FREQUENCY = 4_000
_KINDS = ("s", "p")


class MilvusTermReads:
    """Posting lists and term statistics of one answer's version (mixed into the reader)."""

    index: OpenMilvusIndex
    language: Language
    client: Any
    names: dict[str, str]
    version: int
    retired_docs: frozenset[str]
    _stats: Stats
    _tokens: dict[str, np.ndarray]
    _reading: list[Future[dict[str, np.ndarray]]]
    #: Tokens whose posting lists a read in ``_reading`` is fetching.
    _ahead: set[str]

    def cache(self, name: str) -> dict[Any, Any]:
        raise NotImplementedError

    def document_keys(self) -> list[str] | None:
        raise NotImplementedError

    def by_keys(self, kind: str, keys: Sequence[str], fields: list[str]) -> list[dict]:
        """The rows of collection ``kind`` with primary keys ``keys`` (those that exist).

        A filter that is only ``key in [...]`` is a point read on the server; any other filter
        reads every row of the collection.
        """
        found: list[dict] = []
        for chunk in ms.chunks(list(keys), ms.KEYS_CHUNK):
            listed = ", ".join(ms.quoted(k) for k in chunk)
            found.extend(
                self.index.call(
                    lambda listed=listed: self.client.query(  # type: ignore[misc]
                        self.names[kind], filter=f"key in [{listed}]", output_fields=fields
                    )
                )
            )
        return found

    # -- posting lists ---------------------------------------------------------------------

    def _read_tokens(self, tokens: Sequence[str]) -> dict[str, np.ndarray]:
        """The sentence and passage posting lists of ``tokens``: ``"s:tok"``/``"p:tok"`` ->
        ascending positions (empty for a token no live row holds)."""
        keys = [f"{k}:{t}" for t in dict.fromkeys(tokens) for k in _KINDS]
        lists: dict[str, list[int]] = {key: [] for key in keys}
        documents = self.document_keys()
        if documents is not None and len(documents) * len(keys) <= ms.PROBE_KEYS:
            self._probe_tokens(documents, tokens, lists)
            return {k: np.unique(np.asarray(found, dtype=np.int64)) for k, found in lists.items()}
        for chunk in ms.chunks(keys):
            listed = ", ".join(ms.quoted(key) for key in chunk)
            rows = self.index.call(
                lambda listed=listed: query_all(  # type: ignore[misc]
                    self.client,
                    self.names["postings"],
                    f"token in [{listed}] and added <= {self.version}",
                    ["token", "dockey", "positions"],
                )
            )
            for row in rows:
                if row["dockey"] not in self.retired_docs:
                    lists[str(row["token"])].extend(row["positions"])
        return {key: np.unique(np.asarray(found, dtype=np.int64)) for key, found in lists.items()}

    def _probe_tokens(
        self, documents: list[str], tokens: Sequence[str], lists: dict[str, list[int]]
    ) -> None:
        """Read posting lists by key (kind, document, token, chunk): point reads of every live
        document's row for each token, then the next chunk of any row that was full."""
        probes = [
            f"{k}|{doc}|{tok}|0"
            for tok in dict.fromkeys(tokens)
            for k in _KINDS
            for doc in documents
        ]
        while probes:
            rows = self.by_keys("postings", probes, ["key", "token", "positions", "added"])
            probes = []
            for row in rows:
                if int(row["added"]) > self.version:
                    continue
                lists[str(row["token"])].extend(row["positions"])
                if len(row["positions"]) >= ms.POSTING_CHUNK:
                    head, chunk = str(row["key"]).rsplit("|", 1)
                    probes.append(f"{head}|{int(chunk) + 1}")

    def _keep_tokens(self, lists: dict[str, np.ndarray]) -> None:
        self._tokens.update(lists)
        self.cache("tok").update(lists)

    def _token_lists(self, kind: Kind, tokens: Sequence[str]) -> dict[str, np.ndarray]:
        """Each of ``tokens``' posting list among ``kind`` (read ahead, kept, or read now)."""
        while self._reading:
            self._keep_tokens(self._reading.pop().result())
        shared = self.cache("tok")
        for key in [f"{k}:{t}" for t in tokens for k in _KINDS]:
            if key not in self._tokens and key in shared:
                self._tokens[key] = shared[key]
        missing = [t for t in tokens if f"{kind[0]}:{t}" not in self._tokens]
        if missing:
            self._keep_tokens(self._read_tokens(missing))
        return {t: self._tokens[f"{kind[0]}:{t}"] for t in tokens}

    def _read_ahead(self, stems: Sequence[str], df: dict[str, tuple[int, int]]) -> None:
        """Start reading the posting lists of the not too common ``stems``."""
        tokenizer = self.index.tokenizer
        shared = self.cache("tok")
        # a stem's frequency is of Snowball stems, the tokens are FTS5's: 0 proves nothing
        held = [s for s in stems if df.get(s, (0, 0))[0] <= PREFETCH_MAX_FREQUENCY]
        tokens = {
            tok
            for s in held
            for tok in tokenizer.word(s)
            if f"s:{tok}" not in self._tokens
            and f"s:{tok}" not in shared
            and tok not in self._ahead
        }
        if tokens:
            self._ahead.update(tokens)
            self._reading.append(self.index.pool.submit(self._read_tokens, sorted(tokens)))

    def _word_postings(self, kind: Kind, terms: Sequence[str]) -> dict[str, np.ndarray]:
        """Each term's positions: rows holding all its full-text tokens."""
        words = {t: self.index.tokenizer.word(t) for t in dict.fromkeys(terms)}
        per_token = self._token_lists(
            kind, sorted({tok for toks in words.values() for tok in toks})
        )
        found: dict[str, np.ndarray] = {}
        for term, toks in words.items():
            if not toks:
                continue
            rows = per_token[toks[0]]
            for tok in toks[1:]:  # a phrase: rows holding every token (FTS5 also wants order)
                rows = np.intersect1d(rows, per_token[tok])
            found[term] = rows
        return found

    def postings(self, kind: Kind, terms: Sequence[str]) -> np.ndarray:
        found = list(self._word_postings(kind, terms).values())
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def lexical(self, kind: Kind, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """Rows holding the most IDF weight of ``terms`` (term counts and lengths unweighed)."""
        live = max(self._stats.sentences if kind == "sentences" else self._stats.passages, 1)
        found = [f for f in self._word_postings(kind, terms).values() if len(f)]
        if not found:
            return []
        weights = [float(np.log(1 + (live - len(f) + 0.5) / (len(f) + 0.5))) for f in found]
        rows, inverse = np.unique(np.concatenate(found), return_inverse=True)
        sizes = [len(f) for f in found]
        score = np.bincount(inverse, weights=np.repeat(weights, sizes), minlength=len(rows))
        top = np.argsort(-score, kind="stable")[:limit]
        return [(int(rows[i]), float(score[i])) for i in top]

    # -- statistics ------------------------------------------------------------------------

    def table(self) -> TermTable:
        """The term statistics of this view's version (held in memory, see milvus_term_table)."""
        raise NotImplementedError

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        table = self.table()
        held = {t: table.frequencies(t) for t in sorted(set(terms))}
        return {t: df for t, df in held.items() if df is not None}

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        return [t for t, _, p in self.table().with_prefix(prefix) if len(t) <= longest and p > 0]

    def read_ahead(self, terms: Sequence[str]) -> None:
        """Start reading the posting lists of the question's words ``terms`` whose stems are
        not too common, in the background: answering asks this before it encodes the
        question, so that the server reads them while this process encodes."""
        table, stem = self.table(), self.language.stem
        self._read_ahead(terms, {t: table.frequencies(stem(t)) or (0, 0) for t in terms})

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        """Frequencies and acronyms of ``stems`` (no round trip); their posting lists start
        to be read in the background."""
        table = self.table()
        df = {s: table.frequencies(s) or (0, 0) for s in stems}
        self._read_ahead(stems, df)
        return {
            s: TermFacts(
                df[s],
                self._live_links(table.spelled_by.get(s, ())),
                self._live_links(table.long_name.get(s, ())),
            )
            for s in stems
        }

    def _live_links(self, links: Iterable[tuple[str, str]]) -> frozenset[str]:
        return frozenset(word for dockey, word in links if dockey not in self.retired_docs)
