"""The corpus, from article files to cited quotes, in folders named after the pipeline's stages.

A document's way, at build time: ``read`` (files to clean ``Document`` values), ``split``
(sentences, passages and the terms they are indexed under), ``index`` (the index on disk, and
opened for answering). A question's way, over that index: ``search`` (scored candidate
sentences), ``answer`` (verbatim quotes with citations, or a decline). Then ``evaluation``
replays question sets through the same answering and scores it.

Each stage imports only the stages before it. ``types``, ``config`` and ``errors`` are the
contracts they share; ``engine`` is the facade the faces hold (open an index, answer).
"""
