"""Irregular word forms: what the stemmer does not join, the inflection lexicon does."""

from __future__ import annotations

from retrieval.search.forms import forms_of, other_forms
from retrieval.split.terms import stem


def test_irregular_verb_forms_are_found() -> None:
    assert {"blew", "blow"} <= set(other_forms("blown"))
    assert {"go", "went"} <= set(other_forms("gone"))
    assert stem("child") in other_forms("children")


def test_forms_the_stemmer_joins_are_left_out() -> None:
    assert other_forms("captured") == ()
    assert stem("blown") not in other_forms("blown")


def test_only_words_with_other_forms_are_listed() -> None:
    found = dict(forms_of(("blown", "capture", "zzqx")))
    assert set(found) == {"blown"}
