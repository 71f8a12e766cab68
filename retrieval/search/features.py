"""The evidence about each candidate sentence that ranking weighs, as one feature matrix.

:func:`gather` finds the candidates (nearest sentence and passage vectors, the rows holding the
most IDF weight of the question's words, and every sentence of a candidate passage) and measures
for each of them what the hybrid ranking looks at: cosine similarities of the sentence and its
passage, IDF-weighted term coverage of both and of the neighbouring sentences, the question's
names and numbers nearby, whether the sentence holds the kind of answer asked for, whether it
turns a question word into its opposite ("declined" for "rise"), ranks in each retriever,
position and length; and, the same for every candidate of a question, what tells "the articles
say it" from "the articles talk about it": the best candidate's margin, how the retrievers
agree, the rarest question word that the passage lacks.

The learned ranker (``retrieval.search.ranker``) turns a row of these into a probability; the
hand-set formula of earlier versions is one of the features (``hand``) and the ``hand``
baseline retriever. ``FEATURES`` names the columns; a model records the names it was trained
on, and loading refuses another list.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from retrieval.index.rows import SentenceRow
from retrieval.index.view import IndexView
from retrieval.search.answer_type import AnswerType, expected_type, holds, question_words
from retrieval.search.conversation import answered_positions, around, share_place
from retrieval.search.coverage import QueryTerms, query_terms
from retrieval.search.lexical import matching, selective
from retrieval.search.query import Prepared
from retrieval.split.antonyms import opposed
from retrieval.split.language import WORD, Language

DENSE_SENTENCES = 60
LEXICAL_SENTENCES = 60
DENSE_PASSAGES = 12
LEXICAL_PASSAGES = 12

# Weights of the hand-set score (they sum to 1, so a perfect match scores 1).
W_SENTENCE_DENSE = 0.30
W_PASSAGE_DENSE = 0.20
W_SENTENCE_COVERAGE = 0.30
W_PASSAGE_COVERAGE = 0.20
#: What is left of a hand score when none of the question's names and numbers is nearby.
FOCUS_FLOOR = 0.6
#: What is left of a hand score when the sentence holds nothing of the kind asked for.
TYPE_MISSING = 0.85

#: The learned ranker scores this many candidates, the best by the hand-set score (it was
#: trained on them: every answer of SQuAD 2.0 dev that any candidate holds is among them in
#: all but a few questions), and the rest count as not holding the answer.
SCORED_CANDIDATES = 40

#: Sentences whose stems in order are remembered (phrase matches are counted from them).
STEMMED_TEXTS = 100_000

#: The answer types as numbers for the models (none expected: -1).
TYPE_CODES = {kind: code for code, kind in enumerate(AnswerType)}
NO_TYPE = -1.0
#: "not", "never", "n't": a question or sentence that says something did not happen. Matched
#: in lower-cased text: twice as quick as ``re.IGNORECASE``, and the same for these letters.
_NEGATION = re.compile(r"\b(?:not|never|no|none|nor|cannot)\b|n't\b")

FEATURES: tuple[str, ...] = (
    # the candidate itself
    "sentence_dense",
    "passage_dense",
    "sentence_coverage",
    "passage_coverage",
    "previous_coverage",
    "next_coverage",
    "previous_dense",
    "next_dense",
    "bigram_coverage",
    "matched_terms",
    "focus_nearby",
    "type_held",
    "negated",
    "opposed",
    "sentence_missing_idf",
    "passage_missing_idf",
    "dense_rank",
    "lexical_rank",
    "passage_dense_rank",
    "passage_lexical_rank",
    "ordinal",
    "passage_sentences",
    "document_ordinal",
    "sentence_terms",
    "hand",
    # the candidate against the best of its question
    "hand_share",
    "sentence_dense_gap",
    "passage_dense_gap",
    "sentence_coverage_gap",
    # the question and its candidates as a whole
    "question_terms",
    "question_focus",
    "question_negated",
    "expected_type",
    "best_hand",
    "hand_margin",
    "retrievers_agree",
    "best_passage_missing_idf",
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Candidates:
    """A question's candidate sentences: positions, their rows and one feature row each."""

    positions: list[int]
    rows: list[SentenceRow]
    features: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.features[:, _COLUMN[name]]

    def __len__(self) -> int:
        return len(self.positions)


def scored_rows(hand: np.ndarray) -> np.ndarray:
    """Which candidates the learned ranker scores: the ``SCORED_CANDIDATES`` best by ``hand``."""
    return np.argsort(-hand, kind="stable")[:SCORED_CANDIDATES]


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


def _ranks(hits: list[int], positions: list[int], missing: int) -> np.ndarray:
    """Each position's rank (0 = first) in ``hits``; ``missing`` where it is not there."""
    rank = {p: i for i, p in reversed(list(enumerate(hits)))}
    return np.array([rank.get(p, missing) for p in positions], dtype=np.float64)


def _missing_idf(found: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The IDF of the rarest question term each row lacks (0 when it lacks none)."""
    if not found.shape[1]:
        return np.zeros(found.shape[0])
    return ((1.0 - found) * weights[None, :]).max(axis=1)


class Lexical(NamedTuple):
    """What a question's words find, before its vectors are needed (:func:`lexical_side`)."""

    terms: QueryTerms
    #: The lexical candidate search's sentences and passages, best first.
    sentences: list[int]
    passages: list[int]


def lexical_side(reader: IndexView, prepared: Prepared) -> Lexical:
    """The question's terms with their statistics, and the lexical candidate search.

    None of it needs the question's vectors: answering runs it in a second thread while the
    question is encoded (``retrieval.answer.answering``), and :func:`gather` takes the result.
    """
    asked = prepared.terms + prepared.carried
    terms = query_terms(reader, asked + prepared.focus, dict(prepared.forms))
    wanted = selective(terms, asked + terms.other_forms)
    return Lexical(
        terms,
        matching(reader, terms, wanted, "sentences", LEXICAL_SENTENCES),
        matching(reader, terms, wanted, "passages", LEXICAL_PASSAGES),
    )


def gather(
    reader: IndexView,
    prepared: Prepared,
    query_vector: np.ndarray,
    context_vector: np.ndarray | None = None,
    lexical: Lexical | None = None,
) -> Candidates:
    """The candidate sentences of a question with their features (``FEATURES``), by position.

    ``context_vector`` encodes a follow-up with the question it leans on: it places the
    answer (passages), while ``query_vector`` picks the sentence. ``lexical`` is
    :func:`lexical_side` of the same question and reader, when the caller has it already.
    """
    place_vector = query_vector if context_vector is None else context_vector
    asked = prepared.terms + prepared.carried
    if lexical is None:
        lexical = lexical_side(reader, prepared)
    terms, lexical_hits, passage_lexical_hits = lexical
    own = bool(prepared.terms)
    picking_vector = query_vector if own else place_vector
    dense_hits = [p for p, _ in reader.dense("sentences", picking_vector, DENSE_SENTENCES)]
    positions: set[int] = set(dense_hits)
    if place_vector is not picking_vector:
        positions.update(p for p, _ in reader.dense("sentences", place_vector, DENSE_SENTENCES))
    positions.update(lexical_hits)
    answered = answered_positions(reader, prepared)
    positions.update(around(answered))
    passage_dense_hits = [p for p, _ in reader.dense("passages", place_vector, DENSE_PASSAGES)]
    for row in reader.passages(sorted({*passage_dense_hits, *passage_lexical_hits})).values():
        if row is not None:
            positions.update(range(row.first, row.last + 1))
    found_rows = reader.sentences(sorted(positions))
    live = [found_rows[p] for p in sorted(positions)]
    rows = [r for r in live if r is not None]
    passage_rows = reader.passages(sorted({r.passage for r in rows}))
    rows = [r for r in rows if passage_rows[r.passage] is not None]
    if not rows:
        return Candidates([], [], np.zeros((0, len(FEATURES))))
    cand = [r.pos for r in rows]
    unique_passages = sorted({r.passage for r in rows})
    where = {p: i for i, p in enumerate(unique_passages)}
    idx = np.array([where[r.passage] for r in rows])
    prow = [row for p in unique_passages if (row := passage_rows[p]) is not None]

    sentence_dense = reader.sentence_vectors(cand) @ picking_vector
    passage_dense = (reader.passage_vectors(unique_passages) @ place_vector)[idx]
    sentence_only = prepared.terms if own else prepared.restated
    found_s, weights_s = terms.presence([r.terms for r in rows], only=sentence_only)
    cov_s = _share(found_s, weights_s)
    found_p, weights_p = terms.presence(
        [p.terms for p in prow],
        passages=True,
        only=asked,
    )
    cov_p = _share(found_p, weights_p)[idx]
    passage_missing = _missing_idf(found_p, weights_p)[idx]
    sentence_missing = _missing_idf(found_s, weights_s)
    before, after = _neighbours(cand, [r.passage for r in rows])
    language = reader.language
    question_pairs = _pairs(ordered_stems(prepared.text, language))

    focus = np.ones(len(rows))
    if prepared.focus:
        focus = _focus_nearby(reader, terms, prepared.focus, unique_passages)[idx]
    if answered:
        share_place(rows, answered, (passage_dense, cov_p, focus), (passage_missing,))
    kind = expected_type(prepared.text)
    held = np.full(len(rows), 1.0)
    if kind is not None:
        words = question_words(prepared.text) | set(prepared.known)
        held = np.array([1.0 if holds(r.text, kind, words) else 0.0 for r in rows])
    hand = (
        W_SENTENCE_DENSE * np.clip(sentence_dense, 0, 1)
        + W_PASSAGE_DENSE * np.clip(passage_dense, 0, 1)
        + W_SENTENCE_COVERAGE * cov_s
        + W_PASSAGE_COVERAGE * cov_p
    )
    if prepared.focus:
        hand = hand * (FOCUS_FLOOR + (1.0 - FOCUS_FLOOR) * focus)
    hand = hand * np.where(held > 0, 1.0, TYPE_MISSING)

    # the sentence-level text checks only where the learned ranker looks (it scores these
    # rows alone); elsewhere they stay 0 and are never read
    scored = scored_rows(hand)
    pairs = np.zeros(len(rows))
    negated = np.zeros(len(rows))
    opposites = np.zeros(len(rows))
    for i in scored:
        pairs[i] = _pair_share(question_pairs, rows[i].text, language)
        negated[i] = float(_negated(rows[i].text))
        opposites[i] = float(opposed(prepared.text, rows[i].text, language))
    order = np.argsort(-hand, kind="stable")
    best = int(order[0])
    margin = float(hand[order[0]] - hand[order[1]]) if len(order) > 1 else float(hand[best])
    first_hits = {h[0] for h in (dense_hits, lexical_hits) if h}
    agree = float(len(first_hits) == 1 and cand[best] in first_hits)
    question_negated = float(_negated(prepared.text))
    columns = {
        "sentence_dense": sentence_dense,
        "passage_dense": passage_dense,
        "sentence_coverage": cov_s,
        "passage_coverage": cov_p,
        "previous_coverage": _neighbour(cov_s, before),
        "next_coverage": _neighbour(cov_s, after),
        "previous_dense": _neighbour(sentence_dense, before),
        "next_dense": _neighbour(sentence_dense, after),
        "bigram_coverage": pairs,
        "matched_terms": found_s.sum(axis=1) if found_s.size else np.zeros(len(rows)),
        "focus_nearby": focus,
        "type_held": held if kind is not None else np.full(len(rows), NO_TYPE),
        "negated": negated,
        "opposed": opposites,
        "sentence_missing_idf": sentence_missing,
        "passage_missing_idf": passage_missing,
        "dense_rank": _ranks(dense_hits, cand, DENSE_SENTENCES),
        "lexical_rank": _ranks(lexical_hits, cand, LEXICAL_SENTENCES),
        "passage_dense_rank": _ranks(passage_dense_hits, [r.passage for r in rows], DENSE_PASSAGES),
        "passage_lexical_rank": _ranks(
            passage_lexical_hits, [r.passage for r in rows], LEXICAL_PASSAGES
        ),
        "ordinal": np.array([r.pos - prow[where[r.passage]].first for r in rows], dtype=np.float64),
        "passage_sentences": np.array(
            [prow[where[r.passage]].last - prow[where[r.passage]].first + 1 for r in rows],
            dtype=np.float64,
        ),
        "document_ordinal": np.log1p(np.array([r.ordinal for r in rows], dtype=float)),
        "sentence_terms": np.array([r.terms.count(" ") for r in rows], dtype=float),
        "hand": hand,
        "hand_share": hand / max(float(hand[best]), 1e-9),
        "sentence_dense_gap": sentence_dense.max() - sentence_dense,
        "passage_dense_gap": passage_dense.max() - passage_dense,
        "sentence_coverage_gap": cov_s.max() - cov_s,
        "question_terms": np.full(len(rows), float(len(terms.stems))),
        "question_focus": np.full(len(rows), float(len(prepared.focus))),
        "question_negated": np.full(len(rows), question_negated),
        "expected_type": np.full(len(rows), TYPE_CODES[kind] if kind is not None else NO_TYPE),
        "best_hand": np.full(len(rows), float(hand[best])),
        "hand_margin": np.full(len(rows), margin),
        "retrievers_agree": np.full(len(rows), agree),
        "best_passage_missing_idf": np.full(len(rows), float(passage_missing[best])),
    }
    features = np.column_stack([columns[name] for name in FEATURES]).astype(np.float64)
    return Candidates(cand, rows, features)


@lru_cache(maxsize=STEMMED_TEXTS)
def ordered_stems(text: str, language: Language) -> tuple[str, ...]:
    """The stems of ``text``'s content words in ``language``, in order (stopwords left out)."""
    stopwords, stem = language.stopwords, language.stem
    return tuple(stem(w) for w in WORD.findall(text.lower()) if w not in stopwords)


def _pairs(stems: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    return frozenset(itertools.pairwise(stems))


def _pair_share(question_pairs: frozenset[tuple[str, str]], text: str, language: Language) -> float:
    """Share of the question's consecutive word pairs that the sentence has consecutive too."""
    if not question_pairs:
        return 0.0
    return len(question_pairs & _pairs(ordered_stems(text, language))) / len(question_pairs)


def _neighbour(values: np.ndarray, slots: list[int]) -> np.ndarray:
    """``values`` of each candidate's neighbour (its slot, -1 when it has none: 0)."""
    index = np.array(slots)
    return np.where(index >= 0, values[np.maximum(index, 0)], 0.0)


def _share(found: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """IDF-weighted share of the terms each row holds (0 where there are no terms)."""
    total = float(weights.sum()) if weights.size else 0.0
    if total <= 0:
        return np.zeros(found.shape[0])
    return (found @ weights) / total


def _neighbours(positions: list[int], passages: list[int]) -> tuple[list[int], list[int]]:
    """Each candidate's slot of the sentences before and after it, where those are candidates
    in the same passage too (-1 where not)."""
    slot = {p: i for i, p in enumerate(positions)}
    before: list[int] = []
    after: list[int] = []
    for i, p in enumerate(positions):
        j = slot.get(p - 1, -1)
        before.append(j if j >= 0 and passages[j] == passages[i] else -1)
        j = slot.get(p + 1, -1)
        after.append(j if j >= 0 and passages[j] == passages[i] else -1)
    return before, after


def _negated(text: str) -> bool:
    return _NEGATION.search(text.lower()) is not None
