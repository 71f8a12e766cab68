"""Follow-up questions: whether a question leans on the one before, and asking it in context.

People ask on from the last answer: "when did he die?", "and how many were there?", "who built
it?". Such a question names nothing of its own, so alone it matches anything. :func:`leans_on`
says whether a question points back (a pronoun, "there", "then", "that", "the same", an
opening "and", or too few words to stand alone) and names nothing the conversation has not
named already; :func:`in_context` then carries into retrieval the subject words, names and
numbers of the earlier question and the names and numbers of the quote that answered it. A
question naming something new starts afresh. English question words only (in an index of
another language only the short, elliptical follow-ups are told); nothing here knows any
corpus.
"""

from __future__ import annotations

from dataclasses import replace

from retrieval.search.forms import forms_of
from retrieval.search.query import MAX_QUERY_TERMS, Prepared, focus_terms, prepare
from retrieval.split.language import ENGLISH, WORD
from retrieval.types import PriorTurn

#: Words that point back at something said before.
POINTERS = frozenset(
    """
    he him his she her hers it its they them their theirs there then this these those
    """.split()  # noqa: SIM905 - a word list reads better as prose
)
#: "that" points back at the end ("who said that?") or after a preposition, "to be" or "do"
#: ("in that period", "when was that city built?"); elsewhere it opens a clause ("the group
#: that took ...", "said that ...").
POINTER_LEADS = frozenset(
    """
    about after at before by during for from in into of on since to until with is was are
    were be been do does did done
    """.split()  # noqa: SIM905
)
#: Words a follow-up opens with: "and how many?", "but when?", "so who ...?", "also ...".
CONTINUERS = frozenset({"and", "but", "so", "also"})
#: Openings that ask the last question again about something else: "what about the wounded?".
CONTINUING_OPENINGS = frozenset({("what", "about"), ("how", "about")})
#: A question with at most this many content words cannot stand alone ("why?", "how many?").
ELLIPTICAL_TERMS = 1
#: Quotes of the earlier answer whose names and numbers carry over: the top one, just read.
QUOTES_CARRIED = 1
#: A name counts as already said when it is a said one plus at most this many letters
#: ("Iraqi" after "Iraq"), as the coverage of names allows.
NAME_EXTRA_LETTERS = 2
NAME_MIN_LENGTH = 4


def points_back(text: str) -> bool:
    """Whether ``text`` holds a word that refers to something said before, or opens as a
    continuation ("and ...?")."""
    words = [w.lower() for w in WORD.findall(text)]
    if (words and words[0] in CONTINUERS) or tuple(words[:2]) in CONTINUING_OPENINGS:
        return True
    for i, word in enumerate(words):
        if word in POINTERS:
            return True
        if word == "same" and i > 0 and words[i - 1] == "the":
            return True
        if word == "that" and _pointing_that(words, i):
            return True
    return False


def _pointing_that(words: list[str], i: int) -> bool:
    if i == 0 or i == len(words) - 1:
        return True
    return words[i - 1] in POINTER_LEADS


def own_names(prepared: Prepared, prior: PriorTurn) -> tuple[str, ...]:
    """The question's names (not numbers) that the earlier question and answer never used."""
    stem = prepared.language.stem
    said = {stem(w.lower()) for w in WORD.findall(_said(prior))}
    return tuple(
        name
        for name in prepared.focus
        if not any(ch.isdigit() for ch in name) and not _known(stem(name), said)
    )


def _known(name: str, said: set[str]) -> bool:
    if name in said:
        return True
    if len(name) < NAME_MIN_LENGTH:
        return False
    return any(
        len(word) >= NAME_MIN_LENGTH
        and (word.startswith(name) or name.startswith(word))
        and abs(len(word) - len(name)) <= NAME_EXTRA_LETTERS
        for word in said
    )


def _earlier_questions(prior: PriorTurn) -> list[str]:
    return [q for q in (prior.context_question, prior.question) if q]


def _said(prior: PriorTurn) -> str:
    quotes = [q.text for q in prior.quotes[:QUOTES_CARRIED]]
    return " ".join([*_earlier_questions(prior), *quotes])


def leans_on(prepared: Prepared, prior: PriorTurn | None) -> bool:
    """Whether the question is a follow-up to ``prior``: it points back or is too short to
    stand alone, and names nothing new."""
    if prior is None or prepared.problem or not prepared.text:
        return False
    elliptical = len(prepared.terms) <= ELLIPTICAL_TERMS
    if not (elliptical or points_back(prepared.text)):
        return False
    return not own_names(prepared, prior)


def in_context(prepared: Prepared, prior: PriorTurn) -> Prepared:
    """``prepared`` asked after ``prior``: its subject words, names and numbers carried over.

    The question's own terms still pick the sentence; what is carried places it (the passage,
    the names around it, the vector of both questions together). A question without words of
    its own restates the one just before, whose terms then pick the sentence. Words of the
    earlier questions are known to the asker, so the answer type looks past them.
    """
    earlier = _earlier_questions(prior)
    language = prepared.language
    earlier_prepared = [prepare(q, language) for q in earlier]
    own = set(prepared.terms)
    carried_terms = dict.fromkeys(t for p in earlier_prepared for t in p.terms if t not in own)
    carried = tuple(carried_terms)[:MAX_QUERY_TERMS]
    names = [*prepared.focus]
    for p in earlier_prepared:
        names.extend(p.focus)
    for quote in prior.quotes[:QUOTES_CARRIED]:
        names.extend(focus_terms(quote.text, language))
    known = tuple(dict.fromkeys(w.lower() for q in earlier for w in WORD.findall(q)))
    return replace(
        prepared,
        carried=carried,
        restated=earlier_prepared[-1].terms if earlier_prepared else (),
        focus=tuple(dict.fromkeys(names))[:MAX_QUERY_TERMS],
        context_text=" ".join([*earlier, prepared.text]),
        known=known,
        answered_at=tuple(
            (q.source.id, q.first_sentence, q.last_sentence) for q in prior.quotes[:QUOTES_CARRIED]
        ),
        # irregular forms come from an English lexicon (lemminflect)
        forms=forms_of(prepared.terms) if language.code == ENGLISH.code else (),
    )
