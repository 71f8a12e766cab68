"""Stage 1, read and clean: corpus files in, clean ``Document`` values out.

In: a folder of ``.txt``/``.md``, ``.html`` and ``.jsonl`` files (or one such file). Out: one
``Document`` per article (its id is its path in the corpus) with its title, date and the spans
worth indexing, and the files skipped with the reason. ``readers`` walks and decodes,
``cleaning`` tells an article from a site's boilerplate, ``dates`` reads the dates it names.
"""
