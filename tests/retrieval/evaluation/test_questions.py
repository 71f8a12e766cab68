"""Question set loaders: JSONL and CSV files, their error messages, the repository's sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import VerbatimError
from retrieval.evaluation.questions import Question, QuestionSetError, load_questions

DATA = Path(__file__).resolve().parents[2] / "data"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_reads_answerable_and_unanswerable_questions(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "question": "Who?", "answers": ["Lynn Maalouf", "Maalouf"], "sources": ["x"]},
        {},  # replaced by a blank line below
        {"id": 7, "question": "Why?", "answers": "because", "sources": []},
        {"question": "Off topic?", "answers": []},
    ]
    text = "\n".join("" if not line else json.dumps(line) for line in lines) + "\n"
    question_set = load_questions(write(tmp_path / "set.jsonl", text))

    assert question_set.format == "jsonl"
    assert question_set.documents is None
    assert question_set.name == "set"
    assert question_set.questions == (
        Question("a", "Who?", ("Lynn Maalouf", "Maalouf"), ("x",)),
        Question("7", "Why?", ("because",), ()),
        Question("line-4", "Off topic?", (), ()),
    )
    assert [q.answerable for q in question_set.questions] == [True, True, False]


def test_jsonl_drops_blank_and_repeated_gold_strings(tmp_path: Path) -> None:
    record = {"id": "q", "question": "Q?", "answers": ["x", " ", "x", "y"], "sources": ["d", "d"]}
    question_set = load_questions(write(tmp_path / "s.jsonl", json.dumps(record)))
    assert question_set.questions[0].answers == ("x", "y")
    assert question_set.questions[0].sources == ("d",)


def test_csv_reads_pipe_separated_and_json_list_cells(tmp_path: Path) -> None:
    text = (
        "id,question,answers,sources\n"
        'c1,"Who said it, and when?",Lynn Maalouf|Maalouf,doc1.txt|doc2.txt\n'
        'c2,Which one?,"[""a|b"", ""c""]","[""doc3.txt""]"\n'
        "c3,Off topic?,,\n"
        ",,,\n"
    )
    question_set = load_questions(write(tmp_path / "set.csv", text))

    assert question_set.format == "csv"
    assert question_set.questions == (
        Question(
            "c1", "Who said it, and when?", ("Lynn Maalouf", "Maalouf"), ("doc1.txt", "doc2.txt")
        ),
        Question("c2", "Which one?", ("a|b", "c"), ("doc3.txt",)),
        Question("c3", "Off topic?", (), ()),
    )


def test_csv_and_jsonl_of_the_same_questions_agree(tmp_path: Path) -> None:
    records = [
        {"id": "1", "question": "Q one?", "answers": ["A", "B"], "sources": ["d1"]},
        {"id": "2", "question": "Q two?", "answers": [], "sources": []},
    ]
    jsonl = write(tmp_path / "q.jsonl", "\n".join(json.dumps(r) for r in records))
    rows = ["id,question,answers,sources"] + [
        f"{r['id']},{r['question']},{'|'.join(r['answers'])},{'|'.join(r['sources'])}"
        for r in records
    ]
    csv_file = write(tmp_path / "q.csv", "\n".join(rows))
    assert load_questions(jsonl).questions == load_questions(csv_file).questions


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("none.jsonl", None, "No question set at"),
        ("set.txt", "question\n", "unknown suffix '.txt'"),
        ("bad.jsonl", '{"question": "ok"}\n{"question": \n', "line 2 is not valid JSON"),
        ("list.jsonl", '["question"]\n', "line 1 holds a JSON list"),
        (
            "noq.jsonl",
            '{"id": "1", "question": "ok"}\n{"id": "2", "answers": []}\n',
            "line 2 has no 'question'",
        ),
        ("num.jsonl", '{"question": 42}\n', "'question' must be a string"),
        (
            "ans.jsonl",
            '{"question": "q", "answers": [1, 2]}\n',
            "'answers' must be a list of strings",
        ),
        (
            "src.jsonl",
            '{"question": "q", "sources": {"a": 1}}\n',
            "'sources' must be a list of strings",
        ),
        (
            "dup.jsonl",
            '{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n',
            "repeats the id 'a'",
        ),
        ("empty.jsonl", "\n\n", "holds no questions"),
        ("bin.jsonl", b'{"question": "q"}\x00\x01', "binary file"),
        ("latin.jsonl", '{"question": "caf\xe9"}'.encode("latin-1"), "not UTF-8"),
        ("cols.csv", "id,query,answers\n1,Who?,x\n", "no 'question' column"),
        ("wide.csv", "id,question\n1,Who?,extra\n", "line 2 has more cells than the header"),
        ("empty.csv", "", "no 'question' column"),
    ],
)
def test_bad_files_get_a_clear_message(
    tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        write(path, content)
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    assert isinstance(caught.value, VerbatimError)
    assert expected in caught.value.message
    assert str(path) in caught.value.message


def test_a_folder_is_not_a_question_set(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="is not a file"):
        load_questions(tmp_path)


@pytest.mark.parametrize("name", ["seeds_questions.jsonl", "seeds_questions.csv"])
def test_the_repository_question_sets_load(name: str) -> None:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not written yet")
    question_set = load_questions(path)
    assert question_set.questions
    assert all(q.question.strip() for q in question_set.questions)
    answerable = [q for q in question_set.questions if q.answerable]
    assert answerable
    seeds = {p.name for p in (DATA.parents[1] / "seeds").iterdir()}
    assert all(set(q.sources) <= seeds for q in question_set.questions)


#: Digits past Python's limit for converting a string to an int (4,300).
HUGE_INT = "9" * 5000
#: Nesting deeper than the JSON decoder's recursion allows.
DEEP = 100_000


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"question": "Who?", "id": ' + HUGE_INT + "}", "line 2 holds a number too long"),
        ('{"question": "Who \\ud800?"}', "line 2: 'question' holds a lone surrogate"),
        ('{"question": "Who?", "id": "\\udfff"}', "line 2: 'id' holds a lone surrogate"),
        ('{"question": "Who?", "answers": ["a\\ud800"]}', "line 2: 'answers' holds a lone"),
        ('{"question": "Who?", "sources": ["\\ud800.txt"]}', "line 2: 'sources' holds a lone"),
        ("[" * DEEP + "]" * DEEP, "line 2 is nested too deeply"),
    ],
)
def test_hostile_jsonl_lines_name_the_file_line_and_problem(
    tmp_path: Path, line: str, expected: str
) -> None:
    """Found by hostile testing: these reached the CLI as "invalid settings" or a traceback."""
    path = write(tmp_path / "hostile.jsonl", '{"question": "fine?"}\n' + line + "\n")
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    assert f"{path}, {expected}" in caught.value.message


#: Deeper than the decoder's recursion, shorter than the csv module's field limit.
CSV_DEEP = 5_000


@pytest.mark.parametrize("cell", ["[" + HUGE_INT + "]", "[" * CSV_DEEP + "]" * CSV_DEEP])
def test_a_csv_list_cell_json_cannot_hold_is_read_as_text(tmp_path: Path, cell: str) -> None:
    path = write(tmp_path / "hostile.csv", f"id,question,answers\n1,Who?,{cell}\n")
    assert load_questions(path).questions[0].answers == (cell,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Before: read silently as one question swallowing the rest of the file.
        ('id,question,answers\n1,"Who is Lynn?,x\n2,What?,y\n', "line 2: a quoted cell"),
        ('id,question,answers\n1,Who?,x\n2,"What?,y\n', "line 3: a quoted cell"),
        # Before: read silently as "Who is".
        ('id,question,answers\n1,Who?,x\n2,"Who" is,x\n', "line 3 is not valid CSV"),
    ],
)
def test_broken_csv_quoting_names_the_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "quotes.csv", text)
    with pytest.raises(QuestionSetError) as caught:
        load_questions(path)
    assert f"{path}, {expected}" in caught.value.message
    assert '""' in caught.value.message  # says how to write a quote inside a cell


def test_a_quoted_csv_cell_may_span_lines(tmp_path: Path) -> None:
    text = 'id,question,answers\n1,"Who is\nshe?",x\n\n2,What?,y\n'
    questions = load_questions(write(tmp_path / "multi.csv", text)).questions
    assert [(q.id, q.question) for q in questions] == [("1", "Who is\nshe?"), ("2", "What?")]
