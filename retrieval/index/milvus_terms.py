"""The Milvus store's term reads: posting lists, lexical matches and term statistics.

Part of :class:`~retrieval.index.milvus_view.MilvusReader`. A posting list is read per
full-text token for sentences and passages at once, kept for the answer and between answers
while the version stands; :meth:`MilvusTermReads.term_facts`, which search asks first with
the question's stems, reads their posting lists ahead in the background, so that the
lexical search later finds them read (or waits less). Term frequencies and the terms under a
prefix (read ahead too, for all the stems in one call) are kept likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from retrieval.index import milvus_schema as ms
from retrieval.index.milvus_sync import query_all
from retrieval.index.rows import Stats, TermFacts
from retrieval.index.view import Kind

#: Stems whose sentence frequency is above this are not read ahead (search may skip them,
#: see ``retrieval.search.candidates.LEXICAL_BUDGET``).
PREFETCH_MAX_FREQUENCY = 4_000
#: Stems at least this long have the terms under them read ahead (see
#: ``retrieval.search.coverage.VARIANT_MIN_LENGTH``).
PREFIX_MIN_LENGTH = 4
_KINDS = ("s", "p")


class _Store(Protocol):
    """What the term reads use of the open index (``milvus_view.MilvusIndex``)."""

    tokenizer: ms.Tokenizer
    pool: ThreadPoolExecutor

    def call(self, work: Callable[[], Any]) -> Any: ...


class MilvusTermReads:
    """Posting lists and term statistics of one answer's version (mixed into the reader)."""

    index: _Store
    client: Any
    names: dict[str, str]
    version: int
    retired_docs: frozenset[str]
    _stats: Stats
    _tokens: dict[str, np.ndarray]
    _reading: list[Future[dict[str, np.ndarray]]]
    _prefixes: dict[str, dict[str, tuple[int, int]]]
    _prefixing: list[Future[dict[str, dict[str, tuple[int, int]]]]]

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
            if f"s:{tok}" not in self._tokens and f"s:{tok}" not in shared
        }
        if tokens:
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

    def _latest_df(self, rule: str) -> dict[str, tuple[int, int]]:
        rows = self.index.call(
            lambda: query_all(
                self.client,
                self.names["term_df"],
                f"({rule}) and added <= {self.version}",
                ["term", "sentences", "passages", "added"],
            )
        )
        return _newest(rows)

    def term_frequencies(self, terms: Sequence[str]) -> dict[str, tuple[int, int]]:
        shared = self.cache("df")
        asked = sorted(set(terms))
        missing = [t for t in asked if t not in shared]
        if missing and len(missing) * self.version <= ms.PROBE_KEYS:
            # point reads of each version's row (key "term|version"); the newest counts
            keys = [f"{t}|{v}" for t in missing for v in range(1, self.version + 1)]
            rows = self.by_keys("term_df", keys, ["term", "sentences", "passages", "added"])
            read = _newest(row for row in rows if int(row["added"]) <= self.version)
            shared.update({t: read.get(t) for t in missing})
            missing = []
        for chunk in ms.chunks(missing):
            listed = ", ".join(ms.quoted(t) for t in chunk)
            read = self._latest_df(f"term in [{listed}]")
            shared.update({t: read.get(t) for t in chunk})
        held = {t: shared.get(t, (0, 0)) for t in asked}
        return {t: df for t, df in held.items() if df is not None and (df[0] > 0 or df[1] > 0)}

    def _read_prefixes(self, prefixes: list[str]) -> dict[str, dict[str, tuple[int, int]]]:
        """The terms under each of ``prefixes`` with their frequencies, in one read."""
        rule = " or ".join(f"term like {ms.quoted(p + '%')}" for p in prefixes)
        held = self._latest_df(rule)
        return {p: {t: df for t, df in held.items() if t.startswith(p)} for p in prefixes}

    def _read_prefixes_ahead(self, stems: Sequence[str]) -> None:
        """Start reading the terms under ``stems`` (search asks them for spelling variants);
        a filter other than by key reads every row, so all are read in one call."""
        shared = self.cache("prefix")
        wanted = sorted({s for s in stems if len(s) >= PREFIX_MIN_LENGTH and s not in shared})
        if wanted:
            self._prefixing.append(self.index.pool.submit(self._read_prefixes, wanted))

    def terms_with_prefix(self, prefix: str, *, longest: int) -> list[str]:
        shared = self.cache("prefix")
        while self._prefixing:
            read = self._prefixing.pop().result()
            self._prefixes.update(read)
            shared.update(read)
        found = self._prefixes.get(prefix)
        found = shared.get(prefix) if found is None else found
        if found is None:
            found = self._latest_df(f"term like {ms.quoted(prefix + '%')}")
            shared[prefix] = found
        return sorted(
            t for t, (_, p) in found.items() if t.startswith(prefix) and len(t) <= longest and p > 0
        )

    def _acronym_rows(self, stems: Sequence[str]) -> list[dict]:
        listed = ", ".join(ms.quoted(s) for s in set(stems))
        return list(
            self.index.call(
                lambda: query_all(
                    self.client,
                    self.names["acronyms"],
                    f"(term in [{listed}] or akey in [{listed}]) and added <= {self.version}",
                    ["dockey", "acronym", "akey", "term"],
                )
            )
        )

    def term_facts(self, stems: Sequence[str]) -> dict[str, TermFacts]:
        """Frequencies and acronyms of ``stems`` (read side by side); their posting lists
        start to be read in the background."""
        self._read_prefixes_ahead(stems)
        acronyms = self.index.pool.submit(self._acronym_rows, stems) if stems else None
        df = self.term_frequencies(stems)
        self._read_ahead(stems, df)
        by_term: dict[str, set[str]] = {}
        by_key: dict[str, set[str]] = {}
        if acronyms is not None:
            asked = set(stems)
            for r in acronyms.result():
                if r["dockey"] in self.retired_docs:
                    continue
                if r["term"] in asked:
                    by_term.setdefault(r["term"], set()).add(r["acronym"])
                if r["akey"] in asked:
                    by_key.setdefault(r["akey"], set()).add(r["term"])
        return {
            s: TermFacts(
                df.get(s, (0, 0)), frozenset(by_term.get(s, ())), frozenset(by_key.get(s, ()))
            )
            for s in stems
        }


def _newest(rows: Iterable[dict]) -> dict[str, tuple[int, int]]:
    """Each term's frequencies from its newest row, for the terms some row holds."""
    newest: dict[str, tuple[int, int, int]] = {}
    for r in rows:
        held = newest.get(r["term"])
        if held is None or r["added"] > held[0]:
            newest[r["term"]] = (int(r["added"]), int(r["sentences"]), int(r["passages"]))
    return {t: (s, p) for t, (_, s, p) in newest.items() if s > 0 or p > 0}
