"""Question preparation: what a person typed, made safe to search with, or why it cannot be."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

import pytest

from retrieval.index import store_read
from retrieval.index.store_read import fts_query
from retrieval.search.query import (
    MAX_QUERY_TERMS,
    MAX_QUESTION_CHARS,
    focus_terms,
    prepare,
)
from retrieval.split.terms import stem, terms_of


@pytest.mark.parametrize(
    ("raw", "text", "terms", "focus"),
    [
        ("Who is Lynn Maalouf?", "Who is Lynn Maalouf?", ("lynn", "maalouf"), ("lynn", "maalouf")),
        # markup and entities are read as text, not searched for
        ("<b>Who</b> is **Lynn Maalouf**?", "Who is Lynn Maalouf ?", ("lynn", "maalouf"), None),
        ("Who is Lynn &amp; Co?", "Who is Lynn & Co?", ("lynn", "co"), None),
        # a control character is a space
        ("Who\x00is Lynn?", "Who is Lynn?", ("lynn",), None),
        ("  Who   is\n\tLynn?  ", "Who is Lynn?", ("lynn",), None),
        # stopwords are left out and a repeated word counted once, in order
        ("How many died, and how many died in 2017?", None, ("died", "2017"), ("2017",)),
        # only stopwords: still a question (answered by meaning alone)
        ("What is it?", "What is it?", (), ()),
    ],
)
def test_prepare_cleans_the_question(
    raw: str, text: str | None, terms: tuple[str, ...], focus: tuple[str, ...] | None
) -> None:
    prepared = prepare(raw)
    assert prepared.problem is None
    if text is not None:
        assert prepared.text == text
    assert prepared.terms == terms
    if focus is not None:
        assert prepared.focus == focus


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "as text"),
        (42, "as text"),
        ("\x00\x01\x02abc", "doesn't look like text"),
        ("\ufffd\ufffd\ufffd ok", "doesn't look like text"),
        ("", "ask a question"),
        ("<i></i>", "ask a question"),
        ("**", "ask a question"),
        ("🙂🙂", "in words"),
        ("x" * (MAX_QUESTION_CHARS + 1), f"{MAX_QUESTION_CHARS + 1:,} characters"),
    ],
)
def test_prepare_says_what_is_wrong(raw: object, problem: str) -> None:
    prepared = prepare(raw)
    assert prepared.problem is not None and problem in prepared.problem
    assert prepared.terms == ()


def test_a_long_question_is_cut_and_refused_not_searched() -> None:
    prepared = prepare("why " * 100_000)
    assert prepared.problem is not None and len(prepared.text) == MAX_QUESTION_CHARS


def test_terms_are_capped() -> None:
    words = [f"word{i}" for i in range(MAX_QUERY_TERMS + 10)]
    prepared = prepare(" ".join(words))
    assert prepared.terms == tuple(words[:MAX_QUERY_TERMS])
    assert len(prepared.focus) == MAX_QUERY_TERMS  # every word holds a digit


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        ("Who is Lynn Maalouf?", ("lynn", "maalouf")),
        ("How many died in 2017?", ("2017",)),
        ("What did the SDF say?", ("sdf",)),
        # the first word is capitalised because it opens the question, not because it is a name
        ("Mosul fell when?", ()),
        ("When did Mosul fall?", ("mosul",)),
        ("When did Mosul fall, and when did Mosul rise again?", ("mosul",)),
        # a capitalised stopword is no name
        ("Who said It?", ()),
    ],
)
def test_focus_terms_are_names_and_numbers(text: str, focus: tuple[str, ...]) -> None:
    assert focus_terms(text) == focus


@pytest.mark.parametrize(
    ("terms", "query"),
    [
        (("penguin",), '"penguin"'),
        (("penguin", "zoo"), '"penguin" OR "zoo"'),
        # quotes are dropped, and a term of nothing but quotes with them
        (('pen"guin', '"', "zoo"), '"penguin" OR "zoo"'),
        ((), ""),
    ],
)
def test_fts_query_quotes_every_term(terms: tuple[str, ...], query: str) -> None:
    assert fts_query(terms) == query


HOSTILE = [
    'penguin" OR NEAR(zoo city) AND * -- ^text:keeper',
    "NOT zoo AND NEAR",
    "zoo* OR {text}: (city",
    "Zürich keepers' penguin-house",
]


@pytest.mark.parametrize("question", HOSTILE)
def test_fts_operators_in_a_question_are_plain_words(
    store_of: Callable[[dict[str, str]], sqlite3.Connection], question: str
) -> None:
    """Differential: the rows FTS5 finds are those holding one of the words, whatever the syntax."""
    conn = store_of(
        {
            "a.txt": "The zoo keeper fed the penguin at dawn.",
            "b.txt": "The city council met near the river.",
            "c.txt": "Text about nothing in particular was read.",
            "d.txt": "A house in Zürich was sold.",
        }
    )
    terms = prepare(question).terms
    found = set(store_read.postings(conn, "sentences", fts_query(terms)).tolist())
    rows = conn.execute("SELECT pos, text FROM sentences").fetchall()
    expected = {pos for pos, text in rows if set(terms) & set(re.findall(r"\w+", text.lower()))}
    assert found == expected and found


@pytest.mark.parametrize(
    "sentence",
    [
        "The keepers fed the penguins at dawn.",
        "Iraqi forces said they took the town of Mosul in 2017.",
        "Why were the SDF's fighters not told?",
        "Were the fighters_on_duty told?",
        "Does max_tokens cut the reply_length?",
    ],
)
def test_a_question_is_stemmed_as_sentences_are_indexed(sentence: str) -> None:
    """Search and the index agree on stopwords and stems, or coverage would miss words."""
    assert {stem(t) for t in prepare(sentence).terms} == terms_of(sentence)


def test_looked_up_holds_every_word_a_search_looks_up_once() -> None:
    from dataclasses import replace

    prepared = replace(
        prepare("When was the mosque in Mosul blown up?"),
        carried=("mosque", "nuri"),
        forms=(("blown", ("blow", "blew")),),
    )
    assert prepared.looked_up == (*prepared.terms, "nuri", "blow", "blew")
    assert "mosul" in prepared.looked_up and len(set(prepared.looked_up)) == len(prepared.looked_up)
