"""Off-topic examples: questions asked of a corpus that lacks their article.

SQuAD's unanswerable questions are near misses: every one is asked of the article it is
about. A model that learned only from them has never seen a question the corpus knows
nothing of ("What is the capital of Australia?" of five news articles) and rates such
questions as it rates near misses. So the articles are split in two halves by fold, each half
is indexed alone, and every question is asked of the half without its article: the
answerability model learns from these too (all labelled "not answerable"), and the held-out
figures say how many of them the threshold declines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.evaluation.gold import Question
from retrieval.index.build import build_index
from retrieval.index.stores import open_index
from retrieval.learn.dataset import TrainingSet, collect, concatenate
from retrieval.types import Document

HALVES = 2
#: Hex digits of the digest that names a half's index folder.
DIGEST_CHARS = 12


def off_topic(
    documents: Sequence[Document],
    questions: Sequence[Question],
    fold_of: dict[str, int],
    base: Path,
    settings: EngineSettings,
    encoder: Encoder,
) -> TrainingSet:
    """Candidates of every question asked of the half of the articles without its own.

    Half ``h`` holds the articles whose fold is ``h`` modulo 2; its index is kept at
    ``base-h-DIGEST``, named by the articles it holds: a second run with the same folds does no
    work, and other folds (another ``--seed``) get a fresh index, never one updated from the
    last split. (Int8 vectors depend a little on their batch-mates, so an updated index is not
    quite a fresh one: over 600 SQuAD questions, 34 got other quotes.)
    """
    parts: list[TrainingSet] = []
    for half in range(HALVES):
        held = [d for d in documents if fold_of.get(d.id, -1) % HALVES == half]
        asked = asked_of(questions, fold_of, half)
        digest = hashlib.sha256("\n".join(sorted(d.id for d in held)).encode()).hexdigest()
        folder = base.with_name(f"{base.name}-{half}-{digest[:DIGEST_CHARS]}")
        build_index(held, folder, settings, encoder=encoder)
        index = open_index(folder, settings, encoder=encoder)
        try:
            parts.append(collect(index, asked, progress=False, answerable=False))
        finally:
            index.close()
    return concatenate(parts)


def asked_of(questions: Sequence[Question], fold_of: dict[str, int], half: int) -> list[Question]:
    """The questions asked of half ``half``: those whose article is in the other."""
    return [q for q in questions if fold_of[_article(q)] % HALVES != half]


def off_topic_questions(questions: Sequence[Question], fold_of: dict[str, int]) -> list[Question]:
    """Every question in the order :func:`off_topic` asks them."""
    return [q for half in range(HALVES) for q in asked_of(questions, fold_of, half)]


def _article(question: Question) -> str:
    return question.sources[0] if question.sources else question.id
