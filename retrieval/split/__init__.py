"""Stage 2, split: a ``Document`` in; its sentences, passages and their terms out.

``segment`` cuts a document's indexable spans into ``Sentence`` values with character offsets
(``text == document.text[start:end]``) and groups them into ``Passage`` values; ``terms`` says
what each is indexed under (stemmed words, acronyms, the acronyms an article defines). Questions
are stemmed with the same ``terms.stem`` and ``terms.STOPWORDS`` later, in search.
"""
