"""Finding and scoring candidate sentences: dense (FAISS) and lexical evidence fused.

Candidates come from the nearest sentence and passage vectors and from the rows holding the
most IDF weight of the question's words (the store's posting lists, read unranked).

Every candidate sentence is scored with its passage as context. The hybrid score is built from
absolute signals (cosine similarities and IDF-weighted term coverage, all in 0..1) so that it
doubles as a calibrated relevance: the decline threshold is applied to it directly.

The baselines ``dense``, ``lexical`` and ``rrf`` exist so the harness can measure the hybrid
against them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.config import Retriever
from retrieval.index.view import IndexView, Kind
from retrieval.search.answer_type import expected_type, holds, question_words
from retrieval.search.coverage import QueryTerms, query_terms
from retrieval.search.query import Prepared

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
#: Postings the BM25 candidate search may scan per question (see ``selective``).
LEXICAL_BUDGET = 4000
#: Only the best candidates are checked for the answer type (it costs a regex each).
TYPE_CHECKED = 60


@dataclass(frozen=True)
class Scored:
    """A candidate sentence position with its score (higher is better)."""

    position: int
    score: float


def _focus_nearby(
    reader: IndexView, terms: QueryTerms, focus: tuple[str, ...], passages: list[int]
) -> np.ndarray:
    """Share of the question's names and numbers found in each passage or a neighbour of it.

    A name often stands one paragraph before the sentence that answers ("...the UN rights
    office..." / "“...”, spokesman Rupert Colville said."), across a passage boundary.
    """
    rows = reader.passages([p + step for p in passages for step in (-1, 0, 1)])
    best = np.zeros(len(passages))
    for step in (-1, 0, 1):
        term_sets: list[str] = []
        valid: list[bool] = []
        for p in passages:
            here, there = rows[p], rows[p + step]
            ok = here is not None and there is not None and there.doc == here.doc
            valid.append(ok)
            term_sets.append(there.terms if ok and there is not None else "")
        found = terms.coverage(term_sets, passages=True, variants=True, only=focus)
        best = np.maximum(best, np.where(valid, found, 0.0))
    return best


def search(
    reader: IndexView,
    prepared: Prepared,
    query_vector: np.ndarray,
    retriever: Retriever,
    *,
    context_vector: np.ndarray | None = None,
) -> list[Scored]:
    """Candidate sentences for a question, best first.

    ``context_vector`` encodes a follow-up together with the question it leans on
    (``prepared.context_text``): it places the answer, ``query_vector`` picks the sentence.
    The baselines, which have one vector, use it instead of ``query_vector``.
    """
    if retriever != "hybrid":
        vector = query_vector if context_vector is None else context_vector
        asked = prepared.terms + prepared.carried
        if retriever == "dense":
            return [Scored(p, s) for p, s in reader.dense("sentences", vector, DENSE_SENTENCES)]
        if retriever == "lexical":
            found = reader.lexical("sentences", asked, LEXICAL_SENTENCES)
            return [Scored(p, s) for p, s in found]
        return _rrf(reader, asked, vector)
    return _hybrid(reader, prepared, query_vector, context_vector)


def _rrf(reader: IndexView, asked: tuple[str, ...], query_vector: np.ndarray) -> list[Scored]:
    """Reciprocal-rank fusion of the dense and lexical sentence rankings (a simple baseline)."""
    fused: dict[int, float] = {}
    rankings = (
        reader.dense("sentences", query_vector, DENSE_SENTENCES),
        reader.lexical("sentences", asked, LEXICAL_SENTENCES),
    )
    for ranking in rankings:
        for rank, (pos, _score) in enumerate(ranking):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted((Scored(p, s) for p, s in fused.items()), key=lambda c: -c.score)


def selective(terms: QueryTerms, words: tuple[str, ...]) -> tuple[str, ...]:
    """The question's words the lexical candidate search can afford, rarest first.

    That search reads the posting list of every word, so a common word costs a scan of tens
    of thousands of rows at a million sentences while adding almost nothing to the ranking.
    Words are taken from the rarest up while their postings add up to at most
    ``LEXICAL_BUDGET``; the two rarest are always taken. On a corpus the size of SQuAD's
    almost every question keeps all its words.
    """
    frequency = {w: terms.sentence_frequency(w) for w in words}
    kept: set[str] = set()
    spent = 0
    for rank, word in enumerate(sorted(words, key=lambda w: frequency[w])):
        if rank >= 2 and spent + frequency[word] > LEXICAL_BUDGET:
            break
        kept.add(word)
        spent += frequency[word]
    return tuple(w for w in words if w in kept)


def matching(
    reader: IndexView, terms: QueryTerms, words: tuple[str, ...], kind: Kind, limit: int
) -> list[int]:
    """The ``limit`` sentences (or passages) holding the most IDF weight of ``words``.

    This is the lexical candidate search of the hybrid: each word's posting list is read
    unranked and a row scores the summed IDF of the words it holds, the same weighing that
    coverage scores candidates by afterwards. Ties go to the earlier position.
    """
    found: list[np.ndarray] = []
    weights: list[float] = []
    for word in dict.fromkeys(words):
        found.append(reader.postings(kind, (word,)))
        weights.append(terms.weight(word, passages=kind == "passages"))
    sizes = [len(f) for f in found]
    if not sum(sizes):
        return []
    rows, inverse = np.unique(np.concatenate(found), return_inverse=True)
    score = np.bincount(inverse, weights=np.repeat(weights, sizes), minlength=len(rows))
    top = np.argsort(-score, kind="stable")[:limit]
    return rows[top].tolist()


def _hybrid(
    reader: IndexView,
    prepared: Prepared,
    query_vector: np.ndarray,
    context_vector: np.ndarray | None,
) -> list[Scored]:
    place_vector = query_vector if context_vector is None else context_vector
    asked = prepared.terms + prepared.carried
    terms = query_terms(reader, asked + prepared.focus, dict(prepared.forms))
    wanted = selective(terms, asked + terms.other_forms)
    positions: set[int] = set()
    for vector in {id(v): v for v in (query_vector, place_vector)}.values():
        positions.update(p for p, _ in reader.dense("sentences", vector, DENSE_SENTENCES))
    positions.update(matching(reader, terms, wanted, "sentences", LEXICAL_SENTENCES))
    passage_hits = {p for p, _ in reader.dense("passages", place_vector, DENSE_PASSAGES)}
    passage_hits.update(matching(reader, terms, wanted, "passages", LEXICAL_PASSAGES))
    for row in reader.passages(sorted(passage_hits)).values():
        if row is not None:
            positions.update(range(row.first, row.last + 1))
    rows = reader.sentences(sorted(positions))
    cand = [p for p in sorted(positions) if rows[p] is not None]
    if not cand:
        return []
    cand_rows = [rows[p] for p in cand]
    cand_passages = [r.passage for r in cand_rows]  # type: ignore[union-attr]
    passage_rows = reader.passages(sorted(set(cand_passages)))
    unique_passages = [p for p in sorted(set(cand_passages)) if passage_rows[p] is not None]
    where = {p: i for i, p in enumerate(unique_passages)}
    keep = [i for i, p in enumerate(cand_passages) if p in where]
    cand = [cand[i] for i in keep]
    cand_rows = [cand_rows[i] for i in keep]
    cand_passages = [cand_passages[i] for i in keep]
    if not cand:
        return []
    # A follow-up's own words and vector pick the sentence; one with no words of its own
    # ("who said that?") asks the question before again, whose words (and the vector of the
    # conversation) then do.
    own = bool(prepared.terms)
    picking_vector = query_vector if own else place_vector
    sentence_dense = reader.sentence_vectors(cand) @ picking_vector
    passage_dense_u = reader.passage_vectors(unique_passages) @ place_vector
    cov_s = terms.coverage(
        [r.terms for r in cand_rows],  # type: ignore[union-attr]
        only=prepared.terms if own else prepared.restated,
    )
    cov_p_u = terms.coverage(
        [passage_rows[p].terms for p in unique_passages],  # type: ignore[union-attr]
        passages=True,
        only=asked,
    )
    idx = np.array([where[p] for p in cand_passages])
    score = (
        W_SENTENCE_DENSE * np.clip(sentence_dense, 0, 1)
        + W_PASSAGE_DENSE * np.clip(passage_dense_u[idx], 0, 1)
        + W_SENTENCE_COVERAGE * cov_s
        + W_PASSAGE_COVERAGE * cov_p_u[idx]
    )
    if prepared.focus:
        focus_p = _focus_nearby(reader, terms, prepared.focus, unique_passages)
        score = score * (FOCUS_FLOOR + (1.0 - FOCUS_FLOOR) * focus_p[idx])
    order = np.argsort(-score, kind="stable")
    kind = expected_type(prepared.text)
    if kind is not None:
        words = question_words(prepared.text) | set(prepared.known)
        for i in order[:TYPE_CHECKED]:
            if not holds(cand_rows[i].text, kind, words):
                score[i] *= TYPE_MISSING
        order = np.argsort(-score, kind="stable")
    return [Scored(cand[i], float(score[i])) for i in order]
