"""Follow-ups: which questions lean on the one before, and what carries over into retrieval."""

from __future__ import annotations

import pytest

from retrieval.search.followup import in_context, leans_on, own_names, points_back
from retrieval.search.query import prepare
from retrieval.types import PriorTurn, Quote, Source

EARLIER = "Who is the spokesman of Prime Minister Haider al-Abadi?"
TOP_QUOTE = (
    "While patriotic celebrations took place in other parts of the city, Prime Minister Haider "
    "al-Abadi's spokesman, Saad al-Hadithi, said victory would not be formally declared until "
    "the few remaining militants were cleared from Mosul."
)


def _quote(text: str) -> Quote:
    return Quote(
        text=text,
        start=0,
        end=len(text),
        source=Source(id="doc.txt"),
        first_sentence=0,
        last_sentence=0,
        score=0.5,
    )


PRIOR = PriorTurn(question=EARLIER, quotes=(_quote(TOP_QUOTE),))


@pytest.mark.parametrize(
    "question",
    [
        "When did he die?",
        "and how many were there?",
        "Who built it?",
        "When was that?",
        "Who said that?",
        "What happened then?",
        "Is their leader the same?",
        "How many died in that attack?",
        "But why?",
        "What about the wounded?",
        "Where are those villages?",
    ],
)
def test_words_that_point_back(question: str) -> None:
    assert points_back(question)


@pytest.mark.parametrize(
    "question",
    [
        "How many civilians were killed in the attacks?",
        "Who said that victory would not be declared?",
        "Which group took the city that was the capital?",
        "What is the name of the mosque?",
        "Andrew Jackson was the first governor of what?",  # "and" inside a word
    ],
)
def test_questions_that_stand_alone(question: str) -> None:
    assert not points_back(question)


@pytest.mark.parametrize(
    "question",
    [
        "When did he say victory would be declared?",  # a pronoun, no names
        "Why?",  # too short to stand alone
        "How many?",
        "And what did al-Abadi's spokesman say about Mosul?",  # names the conversation used
        "Who said that about Mosul?",  # a name of the top quote
    ],
)
def test_follow_ups_lean_on_the_earlier_question(question: str) -> None:
    assert leans_on(prepare(question), PRIOR)


@pytest.mark.parametrize(
    "question",
    [
        "What did he say about Raqqa?",  # a name of its own: a new subject
        "And what did Donald Trump say?",
        "How many civilians were killed in the attacks?",  # stands alone, points nowhere
        "   ",  # no question at all
    ],
)
def test_questions_with_their_own_subject_start_afresh(question: str) -> None:
    assert not leans_on(prepare(question), PRIOR)


def test_nothing_to_lean_on_without_an_earlier_question() -> None:
    assert not leans_on(prepare("When did he die?"), None)


def test_names_the_conversation_used_are_not_the_questions_own() -> None:
    """Names of the earlier question, of its top quote, or variants of them are not new."""
    assert own_names(prepare("What did he tell Mosul's residents?"), PRIOR) == ()
    assert own_names(prepare("What did Hadithi say?"), PRIOR) == ()  # from the quote
    assert own_names(prepare("Did he visit Baghdad?"), PRIOR) == ("baghdad",)
    assert own_names(prepare("Did he count 426 dead?"), PRIOR) == ()  # numbers are not names


def test_the_earlier_question_and_its_top_quote_carry_over() -> None:
    followup = prepare("When did he say victory would be declared?")
    asked = in_context(followup, PRIOR)
    assert asked.text == followup.text and asked.terms == followup.terms
    assert {"spokesman", "prime", "minister"} <= set(asked.carried)
    assert not set(asked.carried) & set(followup.terms)  # own words are not repeated
    assert {"haider", "hadithi", "mosul"} <= set(asked.focus)  # question's and quote's names
    assert asked.context_text == f"{EARLIER} {followup.text}"
    assert {"spokesman", "haider"} <= set(asked.known)


def test_a_chain_keeps_the_question_it_started_from() -> None:
    second = PriorTurn(question="When did he say victory would be declared?", quotes=())
    chained = second.model_copy(update={"context_question": EARLIER})
    asked = in_context(prepare("Who was he?"), chained)
    assert asked.context_text == f"{EARLIER} {second.question} Who was he?"
    assert "spokesman" in asked.carried and "haider" in asked.focus
    assert asked.restated == prepare(second.question).terms  # the question just before


def test_only_the_top_quote_lends_its_names() -> None:
    prior = PRIOR.model_copy(update={"quotes": (*PRIOR.quotes, _quote("Rupert Colville said."))})
    assert "colville" not in in_context(prepare("What did he say?"), prior).focus


def test_a_follow_up_carries_the_irregular_forms_of_its_own_words() -> None:
    asked = in_context(prepare("When was it blown up?"), PRIOR)
    forms = dict(asked.forms)
    assert {"blew", "blow"} <= set(forms["blown"])
    assert prepare("When was it blown up?").forms == ()
