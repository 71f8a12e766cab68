"""SQuAD files: questions, gold answers, impossible questions and the corpus they carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.evaluation.questions import QuestionSetError, load_questions
from retrieval.evaluation.squad import PARAGRAPH_SEPARATOR

SQUAD_DEV = Path(__file__).resolve().parents[4] / "shared" / "data" / "squad-v2.0-dev.json"


def squad(articles: list[dict]) -> dict:
    return {"version": "v2.0", "data": articles}


def qa(qid: str, question: str, answers: list[str], impossible: bool = False) -> dict:
    return {
        "id": qid,
        "question": question,
        "answers": [] if impossible else [{"text": a, "answer_start": 0} for a in answers],
        "is_impossible": impossible,
    }


TINY = squad(
    [
        {
            "title": "Grey_Owls",
            "paragraphs": [
                {
                    "context": "Grey owls nest in old pines. They hunt voles at dusk.",
                    "qas": [
                        qa("o1", "Where do grey owls nest?", ["old pines", "old pines", "pines"]),
                        qa("o2", "What do grey owls eat at dawn?", [], impossible=True),
                    ],
                },
                {"context": "A grey owl can live for twelve years.", "qas": []},
            ],
        },
        {
            "title": "Salt_Flats",
            "paragraphs": [
                {
                    "context": "The salt flats shine white in July.",
                    "qas": [qa("s1", "When do the salt flats shine?", ["July"])],
                }
            ],
        },
    ]
)


def test_tiny_squad_file_gives_one_document_per_article(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    question_set = load_questions(path)

    assert question_set.format == "squad"
    assert question_set.documents is not None
    owls, salt = question_set.documents
    assert (owls.id, owls.title) == ("Grey_Owls", "Grey Owls")
    assert owls.text == (
        "Grey owls nest in old pines. They hunt voles at dusk."
        + PARAGRAPH_SEPARATOR
        + "A grey owl can live for twelve years."
    )
    assert [owls.text[s.start : s.end] for s in owls.indexable] == [
        "Grey owls nest in old pines. They hunt voles at dusk.",
        "A grey owl can live for twelve years.",
    ]
    assert (salt.id, salt.title, salt.text) == (
        "Salt_Flats",
        "Salt Flats",
        "The salt flats shine white in July.",
    )

    by_id = {q.id: q for q in question_set.questions}
    assert list(by_id) == ["o1", "o2", "s1"]
    assert by_id["o1"].answers == ("old pines", "pines")
    assert by_id["o1"].sources == ("Grey_Owls",)
    assert by_id["o2"].answers == () and not by_id["o2"].answerable
    assert by_id["o2"].sources == ("Grey_Owls",)
    assert by_id["s1"].answers == ("July",) and by_id["s1"].sources == ("Salt_Flats",)


def test_squad_articles_sharing_a_title_are_merged(tmp_path: Path) -> None:
    first = {"title": "T", "paragraphs": [{"context": "One.", "qas": [qa("1", "Q?", ["One"])]}]}
    second = {"title": "T", "paragraphs": [{"context": "Two.", "qas": [qa("2", "R?", ["Two"])]}]}
    path = tmp_path / "merged.json"
    path.write_text(json.dumps(squad([first, second])), encoding="utf-8")
    documents = load_questions(path).documents
    assert documents is not None
    assert [(d.id, d.text) for d in documents] == [("T", "One." + PARAGRAPH_SEPARATOR + "Two.")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ('[{"id": "1", "question": "q"}]', "is not a SQuAD file"),
        ('{"version": "v2.0"}', "is not a SQuAD file"),
        ('{"data": [{"paragraphs": []}]}', "article 1 has no 'title'"),
        ('{"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}', "has no 'context'"),
        (
            json.dumps(
                squad([{"title": "T", "paragraphs": [{"context": "c", "qas": [qa("1", "q", [])]}]}])
            ),
            "not marked impossible but has no answer texts",
        ),
        (
            json.dumps(
                squad(
                    [
                        {
                            "title": "T",
                            "paragraphs": [
                                {"context": "c", "qas": [qa("1", "q", ["c"]), qa("1", "r", ["c"])]}
                            ],
                        }
                    ]
                )
            ),
            "repeats the question id '1'",
        ),
        (json.dumps(squad([{"title": "T", "paragraphs": []}])), "holds no questions"),
    ],
)
def test_broken_squad_files_get_a_clear_message(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionSetError, match=expected):
        load_questions(path)


def test_the_squad_dev_set_makes_35_documents_of_1204_paragraphs() -> None:
    if not SQUAD_DEV.exists():
        pytest.skip(f"{SQUAD_DEV} is not on this machine")
    raw = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    question_set = load_questions(SQUAD_DEV)
    assert question_set.documents is not None
    assert len(question_set.documents) == 35
    assert sum(len(d.indexable) for d in question_set.documents) == 1204
    contexts = [p["context"] for a in raw["data"] for p in a["paragraphs"]]
    spans = [d.text[s.start : s.end] for d in question_set.documents for s in d.indexable]
    assert spans == contexts
    qas = [q for a in raw["data"] for p in a["paragraphs"] for q in p["qas"]]
    assert len(question_set.questions) == len(qas)
    impossible = sum(q["is_impossible"] for q in qas)
    assert sum(not q.answerable for q in question_set.questions) == impossible
    # every gold answer of an answerable question is in its own article
    texts = {d.id: d.text for d in question_set.documents}
    for question in question_set.questions:
        assert all(answer in texts[question.sources[0]] for answer in question.answers)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"data": [], "n": ' + "9" * 5000 + "}", "holds a number too long"),
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply"),
        (
            json.dumps(
                squad([{"title": "T", "paragraphs": [{"context": "c", "qas": []}]}])
            ).replace('"c"', '"c\\ud800"'),
            "article 1: 'context' holds a lone surrogate",
        ),
        (
            json.dumps(squad([{"title": "T\\ud800", "paragraphs": []}])).replace("\\\\", "\\"),
            "article 1: 'title' holds a lone surrogate",
        ),
        (
            json.dumps(
                squad(
                    [{"title": "T", "paragraphs": [{"context": "c", "qas": [qa("1", "q", ["c"])]}]}]
                )
            ).replace('"q"', '"q\\udc00"'),
            "question 1: 'question' holds a lone surrogate",
        ),
    ],
)
def test_hostile_squad_files_name_the_file_and_problem(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    assert expected in caught.value.message and str(path) in caught.value.message
