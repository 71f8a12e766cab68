"""The answering function: verbatim quotes with citations, declines, bad questions, paging."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.index.build import build_index
from retrieval.types import Answer, Document, Extract, PriorTurn

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
SEEDS = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "seeds").glob("*.txt")}


def _questions(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _assert_verbatim(extract: Extract, texts: dict[str, str]) -> None:
    assert extract.text, "empty quote"
    assert texts[extract.source.id][extract.start : extract.end] == extract.text


def _assert_all_verbatim(answer: Answer, texts: dict[str, str]) -> None:
    for quote in answer.quotes:
        _assert_verbatim(quote, texts)
        for other in quote.also_in:
            _assert_verbatim(other, texts)
            assert other.source.id != quote.source.id


@pytest.mark.parametrize("retriever", ["hybrid", "dense", "lexical", "rrf"])
def test_every_quote_is_cut_from_its_source(seeds_engine: Engine, retriever: str) -> None:
    for question in _questions("seeds_questions.jsonl"):
        answer = seeds_engine.answer(
            question["question"], retriever=retriever, min_relevance=-math.inf, top_k=5
        )
        assert answer.answered or not question["answers"]
        _assert_all_verbatim(answer, SEEDS)
        assert all(q.source.title for q in answer.quotes)  # every seed has a title


def test_off_topic_questions_are_declined_with_topics(seeds_engine: Engine) -> None:
    for question in _questions("seeds_questions.jsonl"):
        if question["answers"]:
            continue
        answer = seeds_engine.answer(question["question"])
        assert answer.status == "not_found", question["question"]
        assert answer.quotes == () and answer.message
        assert answer.closest_topics and all(answer.closest_topics)


def test_an_answer_given_names_no_topics_and_a_raw_one_keeps_them(seeds_engine: Engine) -> None:
    """Topics are for declines; a raw answer (no threshold) keeps them for apply_threshold."""
    question = "Who is Amnesty International's Middle East research director?"
    given = seeds_engine.answer(question)
    assert given.answered and given.closest_topics == ()
    raw = seeds_engine.answer(question, min_relevance=-math.inf)
    assert raw.answered and raw.closest_topics


@pytest.mark.parametrize(
    "question",
    [q["question"] for q in _questions("hostile_questions.jsonl")],
    ids=[q["kind"] for q in _questions("hostile_questions.jsonl")],
)
def test_hostile_questions_get_an_answer_or_a_message(seeds_engine: Engine, question: str) -> None:
    answer = seeds_engine.answer(question)
    assert answer.status in {"answered", "not_found", "invalid_question"}
    if answer.status == "invalid_question":
        assert answer.message and len(answer.message) < 200
    _assert_all_verbatim(answer, SEEDS)
    answer.model_dump_json()  # always serialisable (no lone surrogates)


@pytest.mark.parametrize(
    ("question", "problem"),
    [
        ("", "ask a question"),
        ("   \n\t ", "ask a question"),
        ("x" * 10_000, "10,000 characters"),
        ("\x00\x01\x02\x03\x04\x05", "doesn't look like text"),
        ("🙂🙂🙂", "in words"),
        ("<b></b>", "ask a question"),
    ],
)
def test_bad_questions_say_what_is_wrong(seeds_engine: Engine, question: str, problem: str) -> None:
    answer = seeds_engine.answer(question)
    assert answer.status == "invalid_question"
    assert problem in (answer.message or "")


def test_markup_is_ignored_when_searching(seeds_engine: Engine) -> None:
    plain = seeds_engine.answer("Who is Lynn Maalouf?")
    marked = seeds_engine.answer("<b>Who</b> is **Lynn Maalouf**?")
    assert plain.answered and [q.text for q in plain.quotes] == [q.text for q in marked.quotes]


def test_paging_gives_new_quotes_without_overlap(seeds_engine: Engine) -> None:
    seen: list[tuple[str, int, int]] = []
    offset = 0
    while True:
        answer = seeds_engine.answer(
            "What happened to civilians in Mosul?", offset=offset, min_relevance=-math.inf
        )
        for q in answer.quotes:
            assert all(q.source.id != s or q.end <= a or q.start >= b for s, a, b in seen), (
                "overlapping quotes across pages"
            )
            seen.append((q.source.id, q.start, q.end))
        offset += len(answer.quotes)
        if not answer.has_more or offset > 12:
            break
    assert len(seen) >= 6


def test_top_k_is_respected(seeds_engine: Engine) -> None:
    for k in (1, 2, 5):
        answer = seeds_engine.answer(
            "What did Amnesty International say?", top_k=k, min_relevance=-math.inf
        )
        assert 1 <= len(answer.quotes) <= k


def test_agreeing_articles_are_folded_into_one_quote(
    tmp_path: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    same = "The bridge over the river was reopened to traffic on Monday after repairs."
    docs = [
        Document(id="a.txt", title="Bridge news", text=f"Bridge news\n\n{same}\n\nCrowds cheered."),
        Document(
            id="b.txt", title="City digest", text=f"City digest\n\nMarkets were busy.\n\n{same}"
        ),
        Document(id="c.txt", title="Weather", text="Weather\n\nRain is expected all week."),
    ]
    build_index(docs, tmp_path / "index", engine_settings, encoder=encoder)
    engine = Engine.open(tmp_path / "index", engine_settings, encoder=encoder)
    answer = engine.answer("When was the bridge reopened?")
    assert answer.answered
    top = answer.quotes[0]
    assert same in top.text
    assert [e.source.id for e in top.also_in] == ["b.txt" if top.source.id == "a.txt" else "a.txt"]
    texts = {d.id: d.text for d in docs}
    _assert_all_verbatim(answer, texts)
    assert sum(same in q.text for q in answer.quotes) == 1, "agreement repeated as a quote"


def test_apply_threshold_is_the_rule_answer_applies(seeds_engine: Engine) -> None:
    from retrieval.answer.answering import apply_threshold

    for question in _questions("seeds_questions.jsonl")[::5]:
        raw = seeds_engine.answer(question["question"], min_relevance=-math.inf)
        for threshold in (0.2, 0.35, 0.5, 0.7):
            direct = seeds_engine.answer(question["question"], min_relevance=threshold)
            assert apply_threshold(raw, threshold) == direct


@pytest.mark.parametrize("retriever", ["hybrid", "hand"])
def test_the_question_s_words_are_looked_up_in_another_thread_with_the_same_answers(
    seeds_engine: Engine, monkeypatch: pytest.MonkeyPatch, retriever: str
) -> None:
    """While the question is encoded, its terms and lexical candidates are found in a second
    thread (``retrieval.answer.meanwhile``); the answers are those found in one thread."""
    import threading

    from retrieval.answer import answering
    from retrieval.search import features

    threads: list[str] = []

    def recording(*args: object) -> features.Lexical:
        threads.append(threading.current_thread().name)
        return features.lexical_side(*args)  # type: ignore[arg-type]

    questions = [q["question"] for q in _questions("seeds_questions.jsonl")[::4]]
    monkeypatch.setattr(answering, "lexical_side", recording)
    seeds_engine.index.encoder._queries.clear()  # first-time questions: each one is encoded
    meanwhile = [seeds_engine.answer(q, retriever=retriever) for q in questions]  # type: ignore[arg-type]
    assert len(threads) == len(questions)
    assert threading.current_thread().name not in threads
    assert all(name.startswith("verbatim-meanwhile") for name in threads)
    # asked again, the vector is at hand: nothing to do meanwhile, so no thread
    assert [seeds_engine.answer(q, retriever=retriever) for q in questions] == meanwhile  # type: ignore[arg-type]
    assert len(threads) == len(questions)

    def inline(work: object, *args: object) -> object:
        from contextlib import nullcontext

        return nullcontext(None)  # no future: gather finds the terms itself

    monkeypatch.setattr(answering, "meanwhile", inline)
    monkeypatch.setattr(answering, "lexical_side", None)
    seeds_engine.index.encoder._queries.clear()
    assert [seeds_engine.answer(q, retriever=retriever) for q in questions] == meanwhile  # type: ignore[arg-type]
    assert len(threads) == len(questions)


def test_context_is_verbatim_and_surrounds_the_quote(seeds_engine: Engine) -> None:
    quote = seeds_engine.answer("Who is Lynn Maalouf?").quotes[0]
    context = seeds_engine.context(quote.source.id, quote.start, quote.end, window=2)
    _assert_verbatim(context, SEEDS)
    assert context.start <= quote.start and context.end >= quote.end
    assert len(context.text) > len(quote.text)
    with pytest.raises(KeyError):
        seeds_engine.context("no-such-doc", 0, 10)


#: Follow-ups (from tests/data/followup_questions.jsonl) that the seeds cannot answer alone:
#: (first question, follow-up, words the right quote holds).
FOLLOW_UPS = [
    (
        "Which forces recaptured six districts of eastern Mosul?",
        "When did they do that?",
        ("Peshmerga", "Friday"),
    ),
    (
        "What share of buildings in western Mosul were damaged or destroyed?",
        "Who said that?",
        ("Interior Ministry",),
    ),
]


@pytest.mark.parametrize(("first", "followup", "needles"), FOLLOW_UPS)
def test_a_follow_up_is_answered_in_the_context_of_the_question_before(
    seeds_engine: Engine, first: str, followup: str, needles: tuple[str, ...]
) -> None:
    alone = seeds_engine.answer(followup)
    assert alone.context_question is None
    assert not (alone.quotes and all(n in alone.quotes[0].text for n in needles))

    earlier = seeds_engine.answer(first)
    answer = seeds_engine.answer(followup, context=PriorTurn.of(earlier))
    assert answer.context_question == first
    assert answer.answered and all(n in answer.quotes[0].text for n in needles)
    _assert_all_verbatim(answer, SEEDS)
    assert PriorTurn.of(answer).context_question == first  # a further follow-up keeps it


def test_a_question_with_names_of_its_own_ignores_the_context(seeds_engine: Engine) -> None:
    earlier = seeds_engine.answer("Who is the spokesman of Prime Minister Haider al-Abadi?")
    question = "What did Donald Trump say about the victory in Mosul?"
    answer = seeds_engine.answer(question, context=PriorTurn.of(earlier))
    assert answer.context_question is None
    assert answer == seeds_engine.answer(question)
    assert answer.answered and "Trump" in answer.quotes[0].text


def test_a_bad_question_stays_bad_in_context(seeds_engine: Engine) -> None:
    earlier = seeds_engine.answer("Who is the spokesman of Prime Minister Haider al-Abadi?")
    answer = seeds_engine.answer("   ", context=PriorTurn.of(earlier))
    assert answer.status == "invalid_question" and answer.context_question is None
