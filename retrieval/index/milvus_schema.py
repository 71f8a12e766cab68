"""The Milvus store's collections, connection and full-text tokens (see ``milvus_sync``).

One index lives under one name prefix (``VERBATIM_MILVUS_PREFIX``): a ``meta`` collection
holding the published state, and per index generation the collections ``sentences``,
``passages``, ``documents``, ``doc_text``, ``postings``, ``term_df`` and ``acronyms``. Milvus
requires a vector field in every collection: those without vectors carry a 2-dimensional zero
vector (``_unused``). VARCHAR holds at most 65,535 bytes: longer values are packed
(:func:`pack`), document texts are kept in chunks.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from retrieval.errors import StoreUnavailableError
from retrieval.split.language import Language

#: Milvus's largest VARCHAR, in bytes.
VARCHAR_BYTES = 65_535
#: Characters of a document's text per ``doc_text`` row (4 bytes each at most: under 65,535).
TEXT_CHUNK_CHARS = 16_000
#: Positions per ``postings`` row (Milvus's ARRAY holds at most 4,096 elements).
POSTING_CHUNK = 4_000
#: Values per ``in [...]`` filter and rows per insert call.
IN_CHUNK = 1_000
#: Keys per ``key in [...]`` read (a point read on the server, unlike any other filter, which
#: reads every row of the collection), and the most keys one lookup may probe.
KEYS_CHUNK = 5_000
PROBE_KEYS = 20_000
INSERT_CHUNK = 1_000
#: Dimension of the placeholder vector of collections that hold no vectors.
UNUSED_DIM = 2
UNUSED_VECTOR = [0.0] * UNUSED_DIM
#: How stored (unit) vectors are compared; an index written with "COSINE" is still read.
VECTOR_METRIC = "IP"
#: Seconds a call may take before the server counts as unreachable.
TIMEOUT_SECONDS = 30.0
#: The logger pymilvus reports failed calls on (each also raised to us).
PYMILVUS_LOGGER = "pymilvus"
#: Marks a packed (compressed) VARCHAR value; no stored text starts with a NUL.
_PACKED = "\x00z"

META = "meta"
COLLECTIONS = ("sentences", "passages", "documents", "doc_text", "postings", "term_df", "acronyms")

T = TypeVar("T")


def install_hint() -> str:
    return (
        "The Milvus store needs pymilvus (and milvus-lite for a local file): "
        "pip install 'verbatim-qa[cluster]', or set VERBATIM_STORE=embedded."
    )


def unreachable(uri: str, exc: BaseException) -> StoreUnavailableError:
    detail = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
    return StoreUnavailableError(
        f"Cannot reach the Milvus server at {uri} ({detail}). Start it, or point "
        "VERBATIM_MILVUS_URI at one that answers (VERBATIM_STORE=embedded answers from the "
        "index folder)."
    )


def connect(uri: str) -> Any:
    """A ``MilvusClient`` for ``uri``; StoreUnavailableError when nothing answers there."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreUnavailableError(install_hint()) from exc
    # Every failure reaches our caller as an exception that says it in one line; pymilvus's
    # own handler (set at its import, past the faces' logging) would repeat each on stderr
    # with a traceback, once per call while the server is down.
    logging.getLogger(PYMILVUS_LOGGER).setLevel(logging.CRITICAL)
    try:
        client = MilvusClient(uri=uri, timeout=TIMEOUT_SECONDS)
        client.list_collections()
    except Exception as exc:
        raise unreachable(uri, exc) from exc
    return client


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the server is gone (not that a request was wrong)."""
    code = getattr(exc, "code", None)
    text = str(exc).lower()
    return code in (1, 2) or "unavailable" in text or "connect" in text or "deadline" in text


def guarded(uri: str, call: Callable[[], T]) -> T:
    """Run ``call``; a server that stopped answering becomes StoreUnavailableError."""
    try:
        return call()
    except Exception as exc:
        if is_unreachable(exc):
            raise unreachable(uri, exc) from exc
        raise


def name(prefix: str, tag: str, collection: str) -> str:
    """The collection ``collection`` of generation ``tag``."""
    return f"{prefix}{tag}_{collection}"


def generation_tag(generation: str) -> str:
    """A generation's folder name as Milvus allows in names (letters, digits, ``_``)."""
    return "".join(c if c.isalnum() else "_" for c in generation)


def pack(value: str) -> str:
    """``value``, compressed when its UTF-8 is longer than a VARCHAR holds."""
    if len(value) * 4 <= VARCHAR_BYTES or len(value.encode()) <= VARCHAR_BYTES:
        return value
    packed = _PACKED + base64.b64encode(zlib.compress(value.encode(), 9)).decode("ascii")
    if len(packed) > VARCHAR_BYTES:
        raise ValueError(f"a stored value of {len(value)} characters does not fit in Milvus")
    return packed


def unpack(value: str) -> str:
    if value.startswith(_PACKED):
        return zlib.decompress(base64.b64decode(value[len(_PACKED) :])).decode()
    return value


def chunks(values: list[T], size: int = IN_CHUNK) -> Iterable[list[T]]:
    for at in range(0, len(values), size):
        yield values[at : at + size]


def quoted(value: str) -> str:
    """A string literal for a Milvus filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Tokenizer:
    """The full-text tokens SQLite's FTS5 makes of a text (the embedded store's postings).

    The embedded store matches words with FTS5 (``Language.fts_tokenizer`` over
    ``Language.fts_text``: for English, Porter stems of Unicode-folded words); the Milvus store
    keeps posting lists of the same tokens, made by the same tokenizer from the same text in an
    in-memory table, so both stores find the same rows for a word.
    """

    def __init__(self, language: Language) -> None:
        """``language`` is the index's (its manifest's)."""
        self._fts_text = language.fts_text
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        tokenizer = language.fts_tokenizer
        self._conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, tokenize='{tokenizer}')")
        self._conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        self._words: dict[str, tuple[str, ...]] = {}

    def tokens(self, rows: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
        """Token -> the ids (ascending) of ``rows`` (id, text) holding it."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(
                "INSERT INTO t (rowid, text) VALUES (?, ?)",
                ((row, self._fts_text(text)) for row, text in rows),
            )
            found: dict[str, list[int]] = {}
            for term, doc in conn.execute("SELECT DISTINCT term, doc FROM v ORDER BY term, doc"):
                found.setdefault(str(term), []).append(int(doc))
        finally:
            conn.execute("ROLLBACK")
        return found

    def word(self, word: str) -> tuple[str, ...]:
        """The tokens of a question word, in order (cached)."""
        known = self._words.get(word)
        if known is None:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                conn.execute("INSERT INTO t (rowid, text) VALUES (1, ?)", (self._fts_text(word),))
                known = tuple(str(r[0]) for r in conn.execute("SELECT term FROM v ORDER BY offset"))
            finally:
                conn.execute("ROLLBACK")
            if len(self._words) > 100_000:
                self._words.clear()
            self._words[word] = known
        return known


def create(client: Any, collection: str, kind: str, dimension: int) -> None:
    """Create ``collection`` of ``kind`` (one of ``COLLECTIONS`` or ``META``) with its indexes."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    index = client.prepare_index_params()
    text = {"datatype": DataType.VARCHAR, "max_length": VARCHAR_BYTES}
    ints: tuple[str, ...] = ()
    if kind in ("sentences", "passages"):
        schema.add_field("pos", DataType.INT64, is_primary=True)
        ints = ("doc", "ordinal", "passage", "start", "end")
        if kind == "passages":
            ints = ("doc", "ordinal", "start", "end", "first", "last")
        for field in ints:
            schema.add_field(field, DataType.INT64)
        if kind == "sentences":
            schema.add_field("text", **text)
        schema.add_field("terms", **text)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        # FLAT: exact, as the embedded store's flat search. Inner product, as the vectors are
        # unit: the same order as cosine without normalising every stored vector per search.
        index.add_index(field_name="vector", index_type="FLAT", metric_type=VECTOR_METRIC)
    else:
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=VARCHAR_BYTES)
        schema.add_field("_unused", DataType.FLOAT_VECTOR, dim=UNUSED_DIM)
        index.add_index(field_name="_unused", index_type="FLAT", metric_type="L2")
        if kind != META:
            schema.add_field("added", DataType.INT64)
        if kind == META:
            schema.add_field("body", **text)
        elif kind == "documents":
            schema.add_field("idx", DataType.INT64)
            schema.add_field("id", **text)
            schema.add_field("body", **text)
            index.add_index(field_name="idx", index_type="INVERTED")
        elif kind == "doc_text":
            schema.add_field("dockey", **text)
            schema.add_field("chunk", DataType.INT64)
            schema.add_field("text", **text)
            index.add_index(field_name="dockey", index_type="INVERTED")
        elif kind == "postings":
            schema.add_field("token", **text)
            schema.add_field("dockey", **text)
            schema.add_field(
                "positions",
                DataType.ARRAY,
                element_type=DataType.INT64,
                max_capacity=POSTING_CHUNK,
            )
            index.add_index(field_name="token", index_type="INVERTED")
        elif kind == "term_df":
            schema.add_field("term", **text)
            schema.add_field("sentences", DataType.INT64)
            schema.add_field("passages", DataType.INT64)
            index.add_index(field_name="term", index_type="INVERTED")
        elif kind == "acronyms":
            schema.add_field("dockey", **text)
            for field in ("acronym", "akey", "term"):
                schema.add_field(field, **text)
            index.add_index(field_name="term", index_type="INVERTED")
            index.add_index(field_name="akey", index_type="INVERTED")
    client.create_collection(collection, schema=schema, index_params=index)
