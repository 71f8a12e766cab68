"""Stage 6, evaluate: question sets in; metrics, reports and comparisons out.

The harness replays questions through ``Engine.answer`` (the answering function users get).

Modules: ``questions`` and ``squad`` (loaders), ``gold`` (the ``Question`` both make),
``runner`` (replay and timing), ``metrics``, ``tradeoff`` (decline threshold), ``report`` (JSON
and per-question files, comparison) and ``table`` (terminal tables).
"""

from retrieval.evaluation.questions import Question, QuestionSet, QuestionSetError, load_questions

__all__ = ["Question", "QuestionSet", "QuestionSetError", "load_questions"]
