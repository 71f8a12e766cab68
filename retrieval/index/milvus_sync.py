"""Mirroring the embedded index into Milvus, so that answers can read Milvus alone.

``verbatim index`` builds or updates the embedded index as always (it decides what changed and
gives out positions); with ``VERBATIM_STORE=milvus`` it then calls :func:`sync`, which makes
the Milvus collections hold the same documents:

1. Rows an interrupted sync left unpublished are deleted (sentences and passages at or past
   the published high-water positions, other rows written after the published version).
2. Documents are compared by key ``idx:first_sentence:first_passage`` (positions are never
   reused, so a changed document has a new key). New ones are written with their rows,
   vectors (read from the embedded vector files), text chunks, posting lists and acronyms,
   all marked ``added = version + 1``; the term frequencies of every term they or the removed
   documents hold are written as new rows ``(term, version + 1)``.
3. Only then the ``meta`` row is replaced: version, generation, high-water positions, counts,
   manifest, and the removed documents as *retired* (their keys and position ranges).
4. Retired rows are deleted a grace period after the version that retired them was published
   (:data:`RETIRED_GRACE_SECONDS`), by the first sync that runs after it: until then ``meta``
   keeps them under ``deferred`` (one entry a version: its number, when it was published, the
   documents and ranges it retired) and lists them as retired. Collecting an entry deletes its
   rows and the ``term_df`` rows its version superseded (older rows of the terms it wrote),
   then ``meta`` is written again without it.
5. A new generation (a rebuild, another model, a compaction) is written into new collections
   from version 1; publishing it lists the previous generation under ``stale_generations``
   (its tag and when it was replaced), and its collections are dropped by the first sync a
   grace period later, as retired rows are (a ``meta`` without the field lists none).

Why the wait: an answer reads the version its ``meta`` read named, and a reader of the
previous version may still be reading when the next is published; it must find every row of
a document the new version removed (else a quote could come out empty), and a reader of the
previous generation its collections (else the answer fails). An answer takes milliseconds,
so a minute is ample; a sync that crashed leaves its entries in the published ``meta`` and
the next sync collects them. Entries are timed by the writer's clock (one writer at a time;
clocks of machines taking turns should agree to well within the grace).

Readers (``retrieval.index.milvus_view``) read ``meta`` first and see only positions below
its high-water marks, rows with ``added <= version``, the newest frequency row of a term at
or below the version, and nothing of a retired document: what an unfinished sync wrote is
invisible, and a removal shows at once with the version that made it. A reader that finds
``meta`` naming another generation than its own makes the engine reopen the index.
One index per collection prefix; one writer at a time (the index folder's build lock).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.config import EngineSettings
from retrieval.index import manifest as mf
from retrieval.index import milvus_rows, store
from retrieval.index import milvus_schema as ms
from retrieval.split.language import language_of

Log = Callable[[str], None]
#: ``meta`` is read at the newest state on a cluster (see ``milvus_consistency``).
META_CONSISTENCY = "Strong"
#: Seconds the rows a version retired stay in Milvus after that version is published: longer
#: than any answer that may have read the previous version (milliseconds, plus the
#: ``milvus_view.META_REUSE_SECONDS`` a ``meta`` read is reused).
RETIRED_GRACE_SECONDS = 60.0


def read_meta(client: Any, prefix: str, *, known: bool = False) -> dict[str, Any] | None:
    """The published state of the index under ``prefix``, or None when there is none.

    ``known``: the meta collection was there before, so it is read in one call (asking
    whether it still exists only when that read fails).
    """
    collection = prefix + ms.META

    def current() -> dict | None:
        # "key in [...]" is a point read on the server (any other filter reads every row)
        rows = client.query(
            collection,
            filter='key in ["current"]',
            output_fields=["body"],
            consistency_level=META_CONSISTENCY,
        )
        return json.loads(rows[0]["body"]) if rows else None

    if known:
        from pymilvus.exceptions import MilvusException

        try:
            return current()
        except MilvusException:
            if client.has_collection(collection):
                raise
            return None
    if not client.has_collection(collection):
        return None
    return current()


_published_here = [0]


def published_here() -> int:
    """How many versions this process has published (any prefix): an open index reuses a
    ``meta`` read only while this stands still, so what this process wrote (an article sent
    to the bot) is answered from at once."""
    return _published_here[0]


def _publish(client: Any, prefix: str, body: dict[str, Any]) -> None:
    collection = prefix + ms.META
    client.upsert(
        collection, [{"key": "current", "body": json.dumps(body), "_unused": ms.UNUSED_VECTOR}]
    )
    client.flush(collection)
    _published_here[0] += 1


def query_all(client: Any, collection: str, filter: str, fields: list[str]) -> list[dict]:
    """Every row matching ``filter`` (a plain query stops at 16,384 rows)."""
    rows = client.query(collection, filter=filter, output_fields=fields, limit=16_384)
    if len(rows) < 16_384:
        return list(rows)
    found: list[dict] = []
    it = client.query_iterator(collection, filter=filter, output_fields=fields, batch_size=8_192)
    while batch := it.next():
        found.extend(batch)
    it.close()
    return found


def sync(index_dir: Path, settings: EngineSettings, say: Log) -> None:
    """Make the Milvus store at ``settings.milvus_uri`` mirror the embedded index at ``index_dir``.

    Raises StoreUnavailableError when the server cannot be reached.
    """
    client = ms.connect(settings.milvus_uri)
    ms.guarded(settings.milvus_uri, lambda: _sync(client, index_dir, settings, say))


def _sync(client: Any, index_dir: Path, settings: EngineSettings, say: Log) -> None:
    prefix = settings.milvus_prefix
    manifest = mf.read(index_dir)
    generation = mf.generation_dir(index_dir, manifest)
    tag = ms.generation_tag(manifest.generation)
    dim = manifest.model.dimension
    if not client.has_collection(prefix + ms.META):
        ms.create(client, prefix + ms.META, ms.META, ms.UNUSED_DIM)
    client.load_collection(prefix + ms.META)
    published = read_meta(client, prefix)
    same = published is not None and published["generation"] == tag
    version = int(published["version"]) if same and published else 0
    names = {kind: ms.name(prefix, tag, kind) for kind in ms.COLLECTIONS}
    for kind, collection in names.items():
        if not client.has_collection(collection):
            ms.create(client, collection, kind, dim)
        client.load_collection(collection)
    old = published["stats"] if same and published else {"sentence_rows": 0, "passage_rows": 0}
    deferred = _deferred(published, version) if same and published else []
    gone = set(_retired_by(deferred)["documents"])
    _remove_unpublished(client, names, old, version)
    conn = store.connect(generation / store.STORE_FILE, readonly=True)
    try:
        conn.execute("BEGIN")  # one snapshot of the embedded store
        current = store.stats(conn)
        embedded = _embedded_documents(conn)
        mirrored = {
            str(r["key"]): r
            for r in query_all(client, names["documents"], f"added <= {version}", ["key", "body"])
            if r["key"] not in gone
        }
        added = [d for key, d in embedded.items() if key not in mirrored]
        removed = [
            json.loads(r["body"]) | {"key": k} for k, r in mirrored.items() if k not in embedded
        ]
        touched = _removed_terms(client, names, removed)
        new = version + 1
        say(f"Milvus: adding {len(added)} documents, removing {len(removed)}")
        language = language_of(manifest.language)
        touched |= milvus_rows.write_documents(
            client, names, conn, generation, current, dim, added, new, language
        )
        milvus_rows.write_term_df(client, names["term_df"], conn, sorted(touched), new)
        for collection in names.values():
            client.flush(collection)
        conn.execute("COMMIT")
    finally:
        conn.close()
    deferred.append(
        {
            "version": new,
            "at": time.time(),
            "documents": [doc["key"] for doc in removed],
            "sentences": [[doc["first_sentence"], doc["sentence_count"]] for doc in removed],
            "passages": [[doc["first_passage"], doc["passage_count"]] for doc in removed],
        }
    )
    stale = _stale_generations(published, tag)  # replaced now, when the new one is published
    body = {
        "generation": tag,
        "version": new,
        "stats": {
            "sentence_rows": current.sentence_rows,
            "passage_rows": current.passage_rows,
            "documents": current.documents,
            "sentences": current.sentences,
            "passages": current.passages,
        },
        "retired": _retired_by(deferred),
        "deferred": deferred,
        "stale_generations": stale,
        "manifest": json.loads(manifest.model_dump_json()),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _publish(client, prefix, body)
    _collect(client, prefix, names, body, say)
    say(f"Milvus: published version {new} at {settings.milvus_uri} ({prefix}*)")


def _collect(
    client: Any, prefix: str, names: dict[str, str], body: dict[str, Any], say: Log
) -> None:
    """Delete what the published ``body`` keeps past its grace period, then publish it again.

    Rows and collections go first, then ``meta``: until they are gone they stay listed.
    """
    now = time.time()
    deferred, stale = body["deferred"], body["stale_generations"]
    due = [e for e in deferred if now - float(e["at"]) >= RETIRED_GRACE_SECONDS]
    due_stale = [e for e in stale if now - float(e["at"]) >= RETIRED_GRACE_SECONDS]
    if due:
        _delete_retired(client, names, due)
    for entry in due_stale:
        for kind in ms.COLLECTIONS:
            collection = ms.name(prefix, str(entry["generation"]), kind)
            if client.has_collection(collection):
                client.drop_collection(collection)
    if due or due_stale:
        kept = [e for e in deferred if e not in due]
        kept_stale = [e for e in stale if e not in due_stale]
        _publish(
            client,
            prefix,
            body
            | {"retired": _retired_by(kept), "deferred": kept, "stale_generations": kept_stale},
        )
    if len(deferred) > len(due):
        say(
            f"Milvus: rows retired by {len(deferred) - len(due)} versions are kept for "
            f"{RETIRED_GRACE_SECONDS:.0f} s after each (answers may still read them)"
        )
    if len(stale) > len(due_stale):
        say(
            f"Milvus: the collections of {len(stale) - len(due_stale)} earlier generations are "
            f"kept for {RETIRED_GRACE_SECONDS:.0f} s after each (answers may still read them)"
        )


def _stale_generations(published: dict[str, Any] | None, tag: str) -> list[dict[str, Any]]:
    """The earlier generations whose collections are not dropped yet (see the module's step 5).

    When ``published`` is of another generation than ``tag``, that one joins them, replaced
    from now. Never ``tag`` itself, whose collections are being written.
    """
    if published is None:
        return []
    stale = list(published.get("stale_generations", []))
    if published["generation"] != tag:
        stale.append({"generation": published["generation"], "at": time.time()})
    return [e for e in stale if e["generation"] != tag]


def _deferred(published: dict[str, Any], version: int) -> list[dict[str, Any]]:
    """The retirements ``published`` defers, oldest first (see the module's step 4).

    A ``meta`` written before retirements were deferred holds none, and retired rows only
    when its sync was cut short before deleting them: those become an entry of its version,
    kept a grace period from now.
    """
    if "deferred" in published:
        return list(published["deferred"])
    retired = published["retired"]
    if not retired["documents"]:
        return []
    return [{"version": version, "at": time.time(), **retired}]


def _retired_by(entries: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """What readers must not see: everything ``entries`` retired and has not deleted yet."""
    return {
        k: [item for e in entries for item in e[k]] for k in ("documents", "sentences", "passages")
    }


def _remove_unpublished(
    client: Any, names: dict[str, str], old: dict[str, int], version: int
) -> None:
    client.delete(names["sentences"], filter=f"pos >= {int(old['sentence_rows'])}")
    client.delete(names["passages"], filter=f"pos >= {int(old['passage_rows'])}")
    for kind in ("documents", "doc_text", "postings", "term_df", "acronyms"):
        client.delete(names[kind], filter=f"added > {version}")


_DOC_COLUMNS = (
    "idx, id, title, date, url, chars, first_sentence, sentence_count, first_passage, "
    "passage_count, pages"
)


def _embedded_documents(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents"):
        idx, doc_id, title, date, url, chars, s0, ns, p0, np_, pages = row
        found[milvus_rows.document_key(idx, s0, p0)] = {
            "idx": idx,
            "id": doc_id,
            "title": title,
            "date": date,
            "url": url,
            "chars": chars,
            "first_sentence": s0,
            "sentence_count": ns,
            "first_passage": p0,
            "passage_count": np_,
            "pages": list(store.pages_of(pages)),
        }
    return found


def _removed_terms(client: Any, names: dict[str, str], removed: list[dict]) -> set[str]:
    """The stored terms of the removed documents' rows (their frequencies change)."""
    terms: set[str] = set()
    for doc in removed:
        for kind, first, count in (
            ("sentences", doc["first_sentence"], doc["sentence_count"]),
            ("passages", doc["first_passage"], doc["passage_count"]),
        ):
            rows = query_all(
                client, names[kind], f"pos >= {first} and pos < {first + count}", ["terms"]
            )
            for row in rows:
                terms.update(ms.unpack(row["terms"]).split())
    return terms


def _delete_retired(client: Any, names: dict[str, str], entries: list[dict[str, Any]]) -> None:
    """Delete the rows ``entries`` retired and the ``term_df`` rows their versions superseded."""
    for entry in entries:
        for kind in ("sentences", "passages"):
            for first, count in entry[kind]:
                client.delete(names[kind], filter=f"pos >= {first} and pos < {first + count}")
        for keys in ms.chunks(list(entry["documents"])):
            listed = ", ".join(ms.quoted(k) for k in keys)
            client.delete(names["documents"], filter=f"key in [{listed}]")
            for kind in ("doc_text", "postings", "acronyms"):
                client.delete(names[kind], filter=f"dockey in [{listed}]")
        version = int(entry["version"])
        # the terms a version wrote a frequency row for: their older rows are superseded
        written = query_all(client, names["term_df"], f"added == {version}", ["term"])
        for chunk in ms.chunks(sorted({str(r["term"]) for r in written})):
            listed = ", ".join(ms.quoted(t) for t in chunk)
            client.delete(names["term_df"], filter=f"term in [{listed}] and added < {version}")
    for collection in names.values():
        client.flush(collection)
