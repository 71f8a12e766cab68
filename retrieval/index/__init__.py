"""Stage 3, the index on disk: split documents in; a folder that opens cheaply at any size out.

``build`` (``build_index``: incremental, crash-safe, one writer at a time) writes the ``store``
(SQLite: ``store_write`` puts documents, sentences, passages, their terms and term frequencies
and full text in, ``store_read`` reads them), the ``vectors`` (float32 rows, IVF indexes) and
the ``manifest`` describing them. ``view`` is the store boundary: what answering asks of an
index (``IndexView``, ``OpenIndex``), in the store-neutral ``rows``; ``stores.open_index``
opens one. The embedded store is ``loaded`` (with ``reader``, ``mapped`` and ``shared``: one
answer's snapshot, the mapped vectors, the caches); ``store_check`` tells a damaged store from
a bug. Nothing here knows of questions.
"""
