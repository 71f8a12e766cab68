"""The runner end to end on the real engine: the seeds question set and a tiny SQuAD file.

Every quote of every answer (and every agreeing extract) is checked against the text of the
document it cites, read from the corpus files themselves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.answer.thresholds import threshold_for
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.evaluation.metrics import QuestionResult
from retrieval.evaluation.questions import load_questions
from retrieval.evaluation.report import build_report, write_report
from retrieval.evaluation.runner import run_questions
from retrieval.index.build import build_index
from retrieval.types import Answer

REPO = Path(__file__).resolve().parents[3]
SEEDS_QUESTIONS = REPO / "tests" / "data" / "seeds_questions.jsonl"
TINY_SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Grey_Owls",
            "paragraphs": [
                {
                    "context": (
                        "Grey owls nest in the hollows of old pine trees. They hunt voles and "
                        "shrews at dusk, gliding low over the meadows."
                    ),
                    "qas": [
                        {
                            "id": "o1",
                            "question": "Where do grey owls make their nests?",
                            "answers": [{"text": "old pine trees", "answer_start": 30}],
                            "is_impossible": False,
                        },
                        {
                            "id": "o2",
                            "question": "Which stock exchange listed the owl company?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                },
                {
                    "context": "In the wild a grey owl can live for twelve years or more.",
                    "qas": [
                        {
                            "id": "o3",
                            "question": "How long do grey owls live in the wild?",
                            "answers": [{"text": "twelve years", "answer_start": 36}],
                            "is_impossible": False,
                        }
                    ],
                },
            ],
        },
        {
            "title": "Salt_Flats",
            "paragraphs": [
                {
                    "context": (
                        "The salt flats shine white in July, when the last of the lake water "
                        "has evaporated. Tourists drive across them at sunrise."
                    ),
                    "qas": [
                        {
                            "id": "s1",
                            "question": "In which month do the salt flats look white?",
                            "answers": [{"text": "July", "answer_start": 29}],
                            "is_impossible": False,
                        }
                    ],
                }
            ],
        },
    ],
}


def assert_quotes_are_verbatim(answers: Sequence[Answer], texts: Mapping[str, str]) -> int:
    """Every quote and agreeing extract equals its document's text at [start:end]."""
    checked = 0
    for answer in answers:
        for quote in answer.quotes:
            for extract in (quote, *quote.also_in):
                document = texts[extract.source.id]
                assert extract.text == document[extract.start : extract.end], extract
                checked += 1
    return checked


def seeds_texts() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in (REPO / "seeds").iterdir()}


#: Every how-many-th seeds question the baseline retrievers replay (they share the quote code).
BASELINE_STRIDE = 4


@pytest.mark.parametrize(
    ("retriever", "stride"),
    [("hybrid", 1), ("dense", BASELINE_STRIDE), ("lexical", BASELINE_STRIDE)],
)
def test_seeds_questions_replay_as_users_get_them(
    seeds_engine: Engine, engine_settings: EngineSettings, retriever: str, stride: int
) -> None:
    questions = load_questions(SEEDS_QUESTIONS).questions[::stride]
    results = run_questions(
        seeds_engine,
        questions,
        retriever=retriever,  # type: ignore[arg-type]
        top_k=engine_settings.top_k,
        min_relevance=threshold_for(retriever, engine_settings.min_relevance),  # type: ignore[arg-type]
        progress=False,
    )

    assert [r.question for r in results] == list(questions)
    assert all(r.latency_ms > 0 for r in results)
    checked = assert_quotes_are_verbatim([r.raw for r in results], seeds_texts())
    assert checked >= sum(q.answerable for q in questions)
    # What is measured is what users get: the same call with the configured threshold,
    # closest topics included (named on every decline).
    for result in results:
        users = seeds_engine.answer(result.question.question, retriever=retriever)
        assert users == result.answer
        assert users.status != "not_found" or users.closest_topics
        assert len(result.raw.quotes) <= engine_settings.top_k
        assert set(result.answer.quotes) <= set(result.raw.quotes)


@pytest.fixture(scope="module")
def tiny_squad_run(
    tmp_path_factory: pytest.TempPathFactory, engine_settings: EngineSettings, encoder: Encoder
) -> tuple[list[QuestionResult], dict[str, str], Engine]:
    folder = tmp_path_factory.mktemp("tiny-squad")
    path = folder / "tiny.json"
    path.write_text(json.dumps(TINY_SQUAD), encoding="utf-8")
    question_set = load_questions(path)
    assert question_set.documents is not None
    build_index(list(question_set.documents), folder / "index", engine_settings, encoder=encoder)
    engine = Engine.open(folder / "index", engine_settings, encoder=encoder)
    results = run_questions(
        engine,
        question_set.questions,
        retriever="hybrid",
        top_k=engine_settings.top_k,
        min_relevance=threshold_for("hybrid", engine_settings.min_relevance),
        progress=False,
    )
    return results, {d.id: d.text for d in question_set.documents}, engine


def test_tiny_squad_corpus_is_indexed_and_quoted_verbatim(
    tiny_squad_run: tuple[list[QuestionResult], dict[str, str], Engine],
) -> None:
    results, texts, engine = tiny_squad_run
    assert [(s.source.id, s.source.title) for s in engine.sources()] == [
        ("Grey_Owls", "Grey Owls"),
        ("Salt_Flats", "Salt Flats"),
    ]
    assert [r.question.id for r in results] == ["o1", "o2", "o3", "s1"]
    assert assert_quotes_are_verbatim([r.raw for r in results], texts) >= len(results)
    assert assert_quotes_are_verbatim([r.answer for r in results], texts) >= 0
    # the paragraph separator is never indexed, so no quote runs across paragraphs
    assert all("\n\n" not in q.text for r in results for q in r.raw.quotes)


def test_tiny_squad_report_is_written(
    tiny_squad_run: tuple[list[QuestionResult], dict[str, str], Engine], tmp_path: Path
) -> None:
    results, _texts, _engine = tiny_squad_run
    report = build_report(
        {"hybrid": results}, min_relevance={"hybrid": 0.5}, settings={"questions": "tiny"}
    )
    assert report["counts"]["answerable"] == 3 and report["counts"]["unanswerable"] == 1
    lines_path = write_report(report, {"hybrid": results}, tmp_path / "tiny.json")
    lines = [json.loads(line) for line in lines_path.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["o1", "o2", "o3", "s1"]
    for line, result in zip(lines, results, strict=True):
        assert [q["text"] for q in line["quotes"]] == [q.text for q in result.answer.quotes]
        assert line["relevance"] == result.raw.relevance
