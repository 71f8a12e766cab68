"""Other forms of a word that its stem does not reach: "blown" and "blew", "children" and "child".

The Porter stemmer joins regular endings ("captured", "capture") but not irregular forms, so
"when was it blown up?" misses "ISIL blew up the mosque". :func:`other_forms` looks the word
up in an English inflection lexicon (lemminflect) and returns the stems of its lemma's other
inflections. Only follow-ups use it (``retrieval.search.followup``): their one or two words
must find the sentence on their own.
"""

from __future__ import annotations

from functools import lru_cache

from retrieval.split.terms import stem

#: Parts of speech whose inflections name the same thing (not "saw" the tool for "see").
INFLECTED = ("VERB", "NOUN")
#: At most this many other forms per word (a verb has five at most).
MAX_FORMS = 6

_INSTALL_HINT = (
    "lemminflect is needed to match irregular word forms in follow-up questions; "
    "install it with: pip install lemminflect"
)


@lru_cache(maxsize=20_000)
def other_forms(word: str) -> tuple[str, ...]:
    """Stems of the other inflections of ``word``'s lemmas that differ from its own stem."""
    try:
        import lemminflect
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(_INSTALL_HINT) from exc
    own = stem(word)
    lemmas = lemminflect.getAllLemmas(word, upos=None)
    found: dict[str, None] = {}
    for pos in INFLECTED:
        for lemma in lemmas.get(pos, ()):
            inflections = lemminflect.getAllInflections(lemma, upos=pos)
            for form in (lemma, *(f for forms in inflections.values() for f in forms)):
                form_stem = stem(form.lower())
                if form_stem != own:
                    found[form_stem] = None
    return tuple(found)[:MAX_FORMS]


def forms_of(terms: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each of ``terms`` that has other forms, with them."""
    return tuple((term, forms) for term in terms if (forms := other_forms(term)))
