"""Which consistency level each read asks of Milvus, so that nothing half-written is read.

A Milvus cluster serves a read at a guarantee timestamp: ``Strong`` waits until the query
nodes hold every write made before the read (a wait on every request), ``Bounded`` serves
what they held ``gracefulTime`` ago (5 s by default, ``common.gracefulTime``) without
waiting. Collections default to ``Bounded``.

The ``meta`` row is always read ``Strong``: a reader sees the version last published (as of
its read, which serves for ``milvus_view.META_REUSE_SECONDS``).
The rows of that version were all written before its ``meta`` row, so once this process has
known the version for longer than the server's graceful time, a ``Bounded`` read (served as
of at least that long ago) sees every one of them: the first :data:`BOUNDED_AFTER_SECONDS`
after a version is first seen here, its rows are read ``Strong``, later ``Bounded``. A retired
document's rows are deleted only a grace period after the version that retired them
(``milvus_sync.RETIRED_GRACE_SECONDS``), so a reader of the version before finds them at
either level; readers treat what they do not find as removed. Milvus Lite ignores the level
(nothing to measure here); the reasoning is for a cluster.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: Longer than the server's ``common.gracefulTime`` (5,000 ms by default), with a margin
#: for the clocks of this machine and the server's time oracle ticking apart.
BOUNDED_AFTER_SECONDS = 15.0
STRONG = "Strong"
BOUNDED = "Bounded"


class Consistency:
    """Remembers when this process first saw each version (the newest few)."""

    #: Versions remembered; an older one is read ``Strong`` again (it is rare).
    KEPT = 8

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[int, float] = {}

    def level(self, version: int) -> str:
        """The level to read rows of ``version`` at (its ``meta`` was just read Strong)."""
        now = time.monotonic()
        with self._lock:
            first = self._seen.setdefault(version, now)
            while len(self._seen) > self.KEPT:
                del self._seen[min(self._seen)]
        return BOUNDED if now - first > BOUNDED_AFTER_SECONDS else STRONG


class LeveledClient:
    """A ``MilvusClient`` whose reads (search, query, query_iterator) ask ``level``."""

    def __init__(self, client: Any, level: str) -> None:
        self._client = client
        self.level = level

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.search(*args, consistency_level=self.level, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.query(*args, consistency_level=self.level, **kwargs)

    def query_iterator(self, *args: Any, **kwargs: Any) -> Any:
        return self._client.query_iterator(*args, consistency_level=self.level, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
