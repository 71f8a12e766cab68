"""Add one article sent in (a page behind a link, a file from a chat) to the corpus and its index.

The corpus folder stays the one source of truth: the article is saved in its ``received/``
folder with its original bytes and format, a page's url in a source sidecar beside it (which
the readers give its citation), and the corpus is then indexed incrementally, which reads only
the new file. So a full rebuild (``/reindex``) keeps it and ``verbatim sources`` lists it.

The file is named ``<slug of its title>-<hash of its bytes><suffix>``: only ASCII letters,
digits and hyphens, whatever was sent, so no name given by a person reaches the disk. It is
read before it is saved: what holds no article text is refused, and so is an article already
indexed (the same text under any name, or the same url). When indexing fails the file is
removed again, so the corpus never holds what the index was refused.

Refusals are ``ArticleRefused`` (``kind`` and a one-line message); a failing build raises its
own ``VerbatimError``. Blocking: the faces run these in a thread of their own.

An article added is checked as ``verbatim index`` checks a corpus (``split.language_check``):
when it does not look like the index's language, or the language does not fit the model,
``Added.warning`` says so in one short line, for the faces to show beside the counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from embeddings import Encoder
from retrieval.config import EngineSettings
from retrieval.errors import ArticleRefused, VerbatimError
from retrieval.index import manifest as mf
from retrieval.index import store, store_read
from retrieval.index.build import build_index
from retrieval.index.build_embed import SAMPLE_SENTENCES
from retrieval.index.build_report import Log
from retrieval.index.rows import DocumentRow
from retrieval.read.fetch import ARTICLE_SUFFIXES, FetchPolicy, checked_url, fetch, unsupported
from retrieval.read.readers import SkippedFile, read_file, source_sidecar
from retrieval.split.language import language_of
from retrieval.split.language_check import article_warning

#: The folder of the corpus that articles sent in are saved in.
RECEIVED_DIR = "received"
SLUG_CHARS = 48
HASH_CHARS = 12
DEFAULT_SLUG = "article"
INCOMING_PREFIX = ".incoming-"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Received:
    """An article as it was sent: its bytes, their format, a name for it, and its url if any."""

    data: bytes
    suffix: str
    name: str = ""  # a file name or a URL's last part: only ever a hint for the slug
    url: str | None = None


@dataclass(frozen=True)
class Added:
    """An article now in the corpus and the index, as the index holds it."""

    doc_id: str
    title: str | None
    sentences: int
    path: Path
    url: str | None = None
    #: One line when the article does not fit the index's language or model
    #: (``language_check.article_warning``); None when all is well.
    warning: str | None = None


def fetch_article(url: str, index_dir: Path, policy: FetchPolicy) -> Received:
    """The article at ``url``, unless a link that is indexed already (checked before fetching)."""
    refuse_known_url(index_dir, [str(checked_url(url))])
    fetched = fetch(url, policy)
    refuse_known_url(index_dir, [fetched.url])
    return Received(data=fetched.data, suffix=fetched.suffix, name=fetched.name, url=fetched.url)


def add_url(
    url: str,
    corpus: Path,
    index_dir: Path,
    settings: EngineSettings,
    policy: FetchPolicy,
    *,
    encoder: Encoder | None = None,
    log: Log | None = None,
) -> Added:
    """Fetch the article at ``url`` and add it (see ``add_article``)."""
    received = fetch_article(url, index_dir, policy)
    return add_article(received, corpus, index_dir, settings, encoder=encoder, log=log)


def add_article(
    received: Received,
    corpus: Path,
    index_dir: Path,
    settings: EngineSettings,
    *,
    encoder: Encoder | None = None,
    log: Log | None = None,
) -> Added:
    """Save ``received`` under ``corpus/received/`` and index the corpus into ``index_dir``.

    Raises ``ArticleRefused`` when it is not added (nothing is left behind), and what
    ``build_index`` raises when indexing fails (the file is removed again).
    """
    if received.suffix not in ARTICLE_SUFFIXES:
        raise unsupported(f"A {received.suffix or 'file without a suffix'} file")
    folder = _received_folder(corpus, index_dir)
    digest = hashlib.sha256(received.data).hexdigest()[:HASH_CHARS]
    incoming = folder / f"{INCOMING_PREFIX}{uuid.uuid4().hex}{received.suffix}"
    try:
        _write(incoming, received.data)
        title, text = _read(incoming)
        _refuse_duplicate(index_dir, text, [received.url] if received.url else [])
        name = f"{slug(title or received.name)}-{digest}{received.suffix}"
        path, sidecar = folder / name, source_sidecar(folder / name)
        try:
            if received.url:
                _write(sidecar, json.dumps({"url": received.url}).encode("utf-8"))
            os.replace(incoming, path)
        except OSError:
            _remove(sidecar)
            raise
    except OSError as exc:
        raise _unwritable(folder, exc) from exc
    finally:
        _remove(incoming)
    doc_id = f"{RECEIVED_DIR}/{name}"
    try:
        report = build_index(corpus, index_dir, settings, encoder=encoder, log=log)
        row = _stored(index_dir, doc_id)
    except BaseException:
        _remove(path, sidecar)
        raise
    if row is None:
        _remove(path, sidecar)
        reasons = [s.reason for s in report.skipped if s.path == doc_id] or ["it was not indexed"]
        raise ArticleRefused("no_text", f"No article text could be indexed: {reasons[0]}.")
    return Added(
        doc_id=doc_id,
        title=row.source.title,
        sentences=row.sentence_count,
        path=path,
        url=row.source.url,
        warning=_language_warning(index_dir, row, settings.model),
    )


def refuse_known_url(index_dir: Path, urls: Sequence[str]) -> None:
    """Refuse (duplicate) when an indexed article is cited with one of ``urls``."""
    with _current_store(index_dir) as conn:
        row = store_read.document_with_url(conn, urls) if conn is not None else None
    if row is not None:
        raise _duplicate(row, "from this link")


def slug(text: str) -> str:
    """Lowercase ASCII words of ``text`` joined by hyphens, at most ``SLUG_CHARS`` long."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    kept = ""
    for word in _WORD.findall(folded.lower()):
        longer = f"{kept}-{word}" if kept else word[:SLUG_CHARS]
        if len(longer) > SLUG_CHARS:
            break
        kept = longer
    return kept or DEFAULT_SLUG


def _received_folder(corpus: Path, index_dir: Path) -> Path:
    """``corpus/received`` (made if need be), when the corpus is the folder of the index."""
    if not corpus.is_dir():
        what = "a single file" if corpus.exists() else "missing"
        raise ArticleRefused(
            "not_allowed",
            f"The corpus {corpus} is {what}: articles are added to a corpus folder. Set "
            "VERBATIM_CORPUS to the folder of articles.",
        )
    try:
        built_from: str | None = mf.read(index_dir).corpus
    except VerbatimError:  # no index yet, or one the build replaces: nothing to keep apart
        built_from = str(corpus.resolve())
    if built_from != str(corpus.resolve()):
        source = built_from or "a list of documents"
        raise ArticleRefused(
            "not_allowed",
            f"The index at {index_dir} was built from {source}, not from the corpus "
            f"{corpus}; adding an article would index {corpus} in its place. Set "
            "VERBATIM_CORPUS to the folder the index was built from.",
        )
    folder = corpus / RECEIVED_DIR
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise _unwritable(folder, exc) from exc
    if not folder.is_dir():
        raise ArticleRefused("not_allowed", f"{folder} is not a folder: articles cannot be saved.")
    return folder


def _unwritable(folder: Path, exc: OSError) -> ArticleRefused:
    why = exc.strerror or type(exc).__name__
    return ArticleRefused(
        "not_allowed", f"Articles cannot be saved in {folder} ({why}); the corpus is not writable."
    )


def _write(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (written beside it, then renamed)."""
    partial = path.with_name(f".{path.name.lstrip('.')}.{uuid.uuid4().hex}.part")  # hidden
    try:
        with partial.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def _read(file: Path) -> tuple[str | None, str]:
    """The title and text of the article in ``file``, as the index will read it."""
    skipped: list[SkippedFile] = []
    documents = read_file(file, f"{RECEIVED_DIR}/{file.name}", skipped)
    if not documents:
        why = skipped[0].reason if skipped else "nothing readable in it"
        raise ArticleRefused("no_text", f"No article text found: the file {why}.")
    return documents[0].title, documents[0].text


def _refuse_duplicate(index_dir: Path, text: str, urls: Sequence[str]) -> None:
    with _current_store(index_dir) as conn:
        if conn is None:
            return
        same_text = store_read.document_with_text(conn, text)
        same_url = store_read.document_with_url(conn, urls) if urls else None
    if same_text is not None:
        raise _duplicate(same_text, "with the same text")
    if same_url is not None:
        raise _duplicate(same_url, "from this link")


def _duplicate(row: DocumentRow, how: str) -> ArticleRefused:
    title = f"“{row.source.title}” ({row.source.id})" if row.source.title else row.source.id
    return ArticleRefused("duplicate", f"An article {how} is indexed already: {title}.")


@contextlib.contextmanager
def _current_store(index_dir: Path) -> Iterator[sqlite3.Connection | None]:
    """The current generation's store, read-only; None when there is no usable index yet."""
    try:
        generation = mf.generation_dir(index_dir, mf.read(index_dir))
        conn = store.connect(generation / store.STORE_FILE, readonly=True)
    except (VerbatimError, sqlite3.Error):
        yield None
        return
    try:
        yield conn
    finally:
        conn.close()


def _stored(index_dir: Path, doc_id: str) -> DocumentRow | None:
    with _current_store(index_dir) as conn:
        return store_read.document_by_id(conn, doc_id) if conn is not None else None


def _language_warning(index_dir: Path, row: DocumentRow, model: str) -> str | None:
    """``article_warning`` on the article's first sentences as the index holds them, judged in
    the index's language."""
    count = min(row.sentence_count, SAMPLE_SENTENCES)
    with _current_store(index_dir) as conn:
        if conn is None:
            return None
        positions = range(row.first_sentence, row.first_sentence + count)
        sentences = sorted(store_read.sentence_rows(conn, positions), key=lambda r: r.pos)
    language = language_of(mf.read(index_dir).language)
    return article_warning(model, language, (sentence.text for sentence in sentences))


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
