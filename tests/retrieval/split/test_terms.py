"""What sentences and passages are indexed under: stems, acronyms in capitals, defined acronyms."""

from __future__ import annotations

from retrieval.split.terms import acronyms, sentence_terms, stem


def test_acronyms_need_matching_initials() -> None:
    found = acronyms(["The Counter-Terrorism Service (CTS) and the Big Army (XYZ) met."])
    assert found == {"CTS": frozenset({"counter", "terror", "servic"})}


def test_sentence_terms_keep_acronyms_in_capitals() -> None:
    assert {"SDF", stem("forces"), stem("took")} <= sentence_terms("The SDF forces took it.")
