"""What sentences and passages are indexed under: stems, acronyms in capitals, defined acronyms."""

from __future__ import annotations

import pytest

from retrieval.split.terms import STOPWORDS, acronym_key, acronyms, sentence_terms, stem, terms_of


def test_acronyms_need_matching_initials() -> None:
    found = acronyms(["The Counter-Terrorism Service (CTS) and the Big Army (XYZ) met."])
    assert found == {"CTS": frozenset({"counter", "terror", "servic"})}


def test_sentence_terms_keep_acronyms_in_capitals() -> None:
    assert {"SDF", stem("forces"), stem("took")} <= sentence_terms("The SDF forces took it.")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # the shortest run of capitalised words whose initials spell it; "The" is left out
        ("The Syrian Democratic Forces (SDF) advanced.", {"SDF": {"syrian", "democrat", "forc"}}),
        (
            "Fighters of the Syrian Democratic Forces (SDF) advanced.",
            {"SDF": {"syrian", "democrat", "forc"}},
        ),
        # an acronym that spells a stopword says nothing
        ("The Information Technology (IT) office.", {}),
        ("A group (SDF) with no long name.", {}),
    ],
)
def test_acronyms_take_the_long_name_that_spells_them(
    text: str, found: dict[str, set[str]]
) -> None:
    assert acronyms([text]) == {a: frozenset(words) for a, words in found.items()}


def test_terms_are_stems_of_content_words() -> None:
    assert terms_of("The keepers fed the Penguins _ __") == {
        stem("keepers"),
        "fed",
        stem("penguins"),
    }
    assert not terms_of(" ".join(sorted(STOPWORDS)))
    # a question's acronym is looked up in lower case, as stems are
    assert acronym_key("SDF") == "sdf" == stem("sdf")
