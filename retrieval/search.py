"""Finding and scoring candidate sentences: dense (FAISS) and lexical (BM25) evidence fused.

Every candidate sentence is scored with its passage as context. The hybrid score is built from
absolute signals (cosine similarities and IDF-weighted term coverage, all in 0..1) so that it
doubles as a calibrated relevance: the decline threshold is applied to it directly.

The baselines ``dense``, ``lexical`` and ``rrf`` exist so the harness can measure the hybrid
against them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.answer_type import expected_type, holds, question_words
from retrieval.config import Retriever
from retrieval.loaded import P_DOC, LoadedIndex
from retrieval.query import Prepared, fts_query

DENSE_SENTENCES = 60
LEXICAL_SENTENCES = 60
DENSE_PASSAGES = 12
LEXICAL_PASSAGES = 12
RRF_K = 60

# Weights of the hybrid score (they sum to 1, so a perfect match scores 1).
W_SENTENCE_DENSE = 0.30
W_PASSAGE_DENSE = 0.20
W_SENTENCE_COVERAGE = 0.30
W_PASSAGE_COVERAGE = 0.20
#: What is left of a score when none of the question's names and numbers is in the passage.
FOCUS_FLOOR = 0.6
#: What is left of a score when the sentence holds nothing of the kind the question asks for.
TYPE_MISSING = 0.85
#: Only the best candidates are checked for the answer type (it costs a regex each).
TYPE_CHECKED = 60


@dataclass(frozen=True)
class Scored:
    """A candidate sentence position with its score (higher is better)."""

    position: int
    score: float


def _focus_nearby(index: LoadedIndex, focus: tuple[str, ...], passages: list[int]) -> np.ndarray:
    """Share of the question's names and numbers found in each passage or a neighbour of it.

    A name often stands one paragraph before the sentence that answers ("...the UN rights
    office..." / "“...”, spokesman Rupert Colville said."), across a passage boundary.
    """
    best = np.zeros(len(passages))
    for step in (-1, 0, 1):
        nearby = [p + step for p in passages]
        valid = np.array(
            [
                0 <= n < len(index.passages)
                and index.passages[n, P_DOC] == index.passages[p, P_DOC]
                for p, n in zip(passages, nearby, strict=True)
            ]
        )
        found = index.lexicon.coverage(
            focus,
            [n if ok else p for n, p, ok in zip(nearby, passages, valid, strict=True)],
            passages=True,
            variants=True,
        )
        best = np.maximum(best, np.where(valid, found, 0.0))
    return best


def search(
    index: LoadedIndex,
    prepared: Prepared,
    query_vector: np.ndarray,
    retriever: Retriever,
) -> list[Scored]:
    """Candidate sentences for a question, best first."""
    terms_query = fts_query(prepared.terms)
    if retriever == "dense":
        from retrieval import vectors

        return [
            Scored(p, s)
            for p, s in vectors.search(index.sentence_faiss, query_vector, DENSE_SENTENCES)
        ]
    if retriever == "lexical":
        return [
            Scored(p, s)
            for p, s in index.store.lexical("sentences", terms_query, LEXICAL_SENTENCES)
        ]
    if retriever == "rrf":
        return _rrf(index, terms_query, query_vector)
    return _hybrid(index, prepared, terms_query, query_vector)


def _rrf(index: LoadedIndex, terms_query: str, query_vector: np.ndarray) -> list[Scored]:
    """Reciprocal-rank fusion of the dense and lexical sentence rankings (a simple baseline)."""
    from retrieval import vectors

    fused: dict[int, float] = {}
    rankings = (
        vectors.search(index.sentence_faiss, query_vector, DENSE_SENTENCES),
        index.store.lexical("sentences", terms_query, LEXICAL_SENTENCES),
    )
    for ranking in rankings:
        for rank, (pos, _score) in enumerate(ranking):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted((Scored(p, s) for p, s in fused.items()), key=lambda c: -c.score)


def _hybrid(
    index: LoadedIndex, prepared: Prepared, terms_query: str, query_vector: np.ndarray
) -> list[Scored]:
    from retrieval import vectors

    positions: set[int] = set()
    positions.update(
        p for p, _ in vectors.search(index.sentence_faiss, query_vector, DENSE_SENTENCES)
    )
    positions.update(p for p, _ in index.store.lexical("sentences", terms_query, LEXICAL_SENTENCES))
    passage_hits = {p for p, _ in vectors.search(index.passage_faiss, query_vector, DENSE_PASSAGES)}
    passage_hits.update(
        p for p, _ in index.store.lexical("passages", terms_query, LEXICAL_PASSAGES)
    )
    for passage in passage_hits:
        row = index.passages[passage]
        first = int(index.doc_first_sentence[row[0]])
        positions.update(range(first + int(row[4]), first + int(row[5]) + 1))
    if not positions:
        return []
    cand = sorted(positions)
    cand_passages = [index.passage_of(p) for p in cand]
    unique_passages = sorted(set(cand_passages))
    sentence_dense = index.sentence_vectors[cand] @ query_vector
    passage_dense_u = index.passage_vectors[unique_passages] @ query_vector
    cov_s = index.lexicon.coverage(prepared.terms, cand)
    cov_p_u = index.lexicon.coverage(prepared.terms, unique_passages, passages=True)
    where = {p: i for i, p in enumerate(unique_passages)}
    idx = np.array([where[p] for p in cand_passages])
    score = (
        W_SENTENCE_DENSE * np.clip(sentence_dense, 0, 1)
        + W_PASSAGE_DENSE * np.clip(passage_dense_u[idx], 0, 1)
        + W_SENTENCE_COVERAGE * cov_s
        + W_PASSAGE_COVERAGE * cov_p_u[idx]
    )
    if prepared.focus:
        focus_p = _focus_nearby(index, prepared.focus, unique_passages)
        score = score * (FOCUS_FLOOR + (1.0 - FOCUS_FLOOR) * focus_p[idx])
    order = np.argsort(-score, kind="stable")
    kind = expected_type(prepared.text)
    if kind is not None:
        words = question_words(prepared.text)
        for i in order[:TYPE_CHECKED]:
            if not holds(index.sentence_text(cand[i]), kind, words):
                score[i] *= TYPE_MISSING
        order = np.argsort(-score, kind="stable")
    return [Scored(cand[i], float(score[i])) for i in order]
