"""Stage 3, the index on disk: split documents in; a folder that opens cheaply at any size out.

``build`` (``build_index``: incremental, crash-safe, one writer at a time) writes the ``store``
(SQLite: documents, sentences, passages, their terms and term frequencies, full text), the
``vectors`` (float32 rows, IVF indexes) and the ``manifest`` describing them. ``loaded`` opens a
folder for answering and gives each answer a ``Reader`` (one snapshot, rows cached);
``store_check`` tells a damaged store from a bug. Nothing here knows of questions.
"""
