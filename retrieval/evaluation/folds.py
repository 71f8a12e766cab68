"""Held-out rankers for the harness: each article scored by a model trained without it.

``python -m retrieval.learn.train --folds-dir DIR`` writes one model per fold and
``folds.json``, which names the model that must score each article. ``verbatim eval
--ranker-folds DIR`` replays the questions with them, so the figures of the learned ranking
on its own training set are honest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from retrieval.evaluation.gold import Question, QuestionSetError
from retrieval.search.ranker import Ranker, load_ranker

FOLDS_FILE = "folds.json"


def load_folds(folder: Path) -> Callable[[Question], Ranker]:
    """The held-out model of each question's article (its first source), from ``folder``.

    Raises QuestionSetError when the folder holds no folds or a question's article was in
    none of them (its figures could not be held out).
    """
    index = folder / FOLDS_FILE
    try:
        assignment = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QuestionSetError(
            f"{index} cannot be read ({exc}); write it with "
            "python -m retrieval.learn.train --folds-dir DIR."
        ) from exc
    models = {name: load_ranker(folder / name) for name in sorted(set(assignment.values()))}

    def ranker_for(question: Question) -> Ranker:
        article = question.sources[0] if question.sources else None
        if article not in assignment:
            raise QuestionSetError(
                f"question {question.id!r}: its article {article!r} is in none of the folds "
                f"of {folder}; train the folds on this question set."
            )
        return models[assignment[article]]

    return ranker_for
