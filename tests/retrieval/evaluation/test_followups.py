"""The follow-up harness: the committed set, its loader, the replay and the summary table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.evaluation.followups import (
    ALL,
    FollowUpPair,
    format_summary,
    load_pairs,
    per_pair,
    run_pairs,
    summarise,
)
from retrieval.evaluation.matching import contains_answer
from retrieval.evaluation.questions import QuestionSetError
from retrieval.evaluation.squad import parse_squad

REPO = Path(__file__).resolve().parents[3]
FOLLOWUPS = REPO / "tests" / "data" / "followup_questions.jsonl"
#: Pairs written afterwards by an author who saw neither the method nor its results.
BLIND = REPO / "tests" / "data" / "followup_questions_blind.jsonl"
SETS = pytest.mark.parametrize("pairs_file", [FOLLOWUPS, BLIND], ids=["first", "blind"])
SQUAD_DEV = REPO.parent / "shared" / "data" / "squad-v2.0-dev.json"
MIN_PAIRS = 40

GOOD = {"id": "a", "corpus": "seeds", "first": "Who?", "followup": "When?", "answers": ["x"]}


def test_the_committed_set_is_about_half_seeds_half_squad() -> None:
    pairs = load_pairs(FOLLOWUPS)
    assert len(pairs) >= MIN_PAIRS
    seeds = [p for p in pairs if p.corpus == "seeds"]
    squad = [p for p in pairs if p.corpus == "squad"]
    assert len(seeds) + len(squad) == len(pairs)
    assert abs(len(seeds) - len(squad)) <= len(pairs) // 10


@SETS
def test_seed_gold_answers_are_in_the_seed_articles(pairs_file: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in (REPO / "seeds").iterdir()]
    assert len(load_pairs(pairs_file)) >= MIN_PAIRS
    for pair in load_pairs(pairs_file):
        if pair.corpus == "seeds":
            assert any(contains_answer(text, pair.answers) for text in texts), pair.id


@SETS
def test_squad_pairs_keep_the_first_question_and_the_gold_of_the_second(pairs_file: Path) -> None:
    """Each SQuAD pair: its first question verbatim, the gold answers of the question the
    follow-up was rewritten from, both about one paragraph."""
    if not SQUAD_DEV.exists():
        pytest.skip(f"{SQUAD_DEV} is not on this machine")
    questions, _ = parse_squad(SQUAD_DEV.read_text(encoding="utf-8"), SQUAD_DEV)
    by_id = {q.id: q for q in questions}
    raw = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    paragraph_of = {
        qa["id"]: paragraph["context"]
        for article in raw["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    for line in pairs_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["corpus"] != "squad":
            continue
        first, second = (by_id[i] for i in record["squad_ids"])
        assert record["first"] == first.question.strip()
        assert record["rewritten_from"] == second.question.strip()
        assert set(record["answers"]) <= set(second.answers)
        assert paragraph_of[first.id] == paragraph_of[second.id]
        assert record["followup"] != record["rewritten_from"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "followup"}), "no 'followup'"),
        (json.dumps({**GOOD, "first": " "}), "'first' must be a non-empty string"),
        (json.dumps({**GOOD, "answers": []}), "'answers' is empty"),
        (json.dumps({**GOOD, "answers": "x"}), "'answers' must be a list"),
        (json.dumps(GOOD) + "\n" + json.dumps(GOOD), "repeats the id 'a'"),
        ("", "holds no follow-up pairs"),
    ],
)
def test_bad_sets_are_refused_with_the_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match=re.escape(problem)):
        load_pairs(path)


def test_replay_answers_the_follow_up_in_context_and_alone(seeds_engine: Engine) -> None:
    pairs = [
        FollowUpPair(
            id="fs11",
            corpus="seeds",
            first="Which forces recaptured six districts of eastern Mosul?",
            followup="When did they do that?",
            answers=("Friday",),
        ),
        FollowUpPair(
            id="own-names",
            corpus="seeds",
            first="Who opened the meeting on Mosul held in France?",
            followup="What did Donald Trump say about the victory?",
            answers=("numbered",),
        ),
    ]
    results = run_pairs(seeds_engine, pairs, top_k=3, min_relevance=0.32)
    leaning, afresh = results
    assert leaning.with_context.context_question == pairs[0].first
    assert leaning.rank(leaning.with_context) == 1
    assert leaning.alone.context_question is None
    assert afresh.with_context.context_question is None
    assert afresh.with_context == afresh.alone

    summary = summarise(results)
    assert summary["seeds"] == summary[ALL]
    assert summary[ALL]["pairs"] == 2 and summary[ALL]["leaned"] == 0.5
    assert summary[ALL]["hit_at_1_context"] == 1.0
    rows = per_pair(results)
    assert rows[0]["rank_context"] == 1 and rows[0]["context_question"] == pairs[0].first
    json.dumps(rows)  # JSON-ready


def test_the_table_has_a_row_per_corpus_and_one_for_all() -> None:
    row = {
        "pairs": 2,
        "hit_at_1_context": 1.0,
        "hit_at_1_alone": 0.5,
        "hit_at_k_context": 1.0,
        "hit_at_k_alone": None,
        "leaned": 1.0,
    }
    lines = format_summary({"seeds": row, ALL: row}, 3).splitlines()
    assert lines[0].split() == [
        "corpus",
        "pairs",
        "hit@1",
        "ctx",
        "hit@1",
        "alone",
        "gain",
        "hit@3",
        "ctx",
        "hit@3",
        "alone",
        "leaned",
    ]
    assert lines[1].split() == ["seeds", "2", "1.000", "0.500", "+0.500", "1.000", "-", "1.000"]
    assert lines[2].split()[0] == ALL
