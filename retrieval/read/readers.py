"""Read a corpus folder (or one file) into Documents, skipping what cannot be read.

Formats: ``.txt``, ``.md``/``.markdown`` (stored as written), ``.html``/``.htm`` (the main
text that trafilatura extracts is what is stored and quoted) and ``.jsonl`` (one article a
line: ``id``, ``text``, optional ``title``, ``date``, ``url``). Files must be UTF-8 (a BOM is
dropped); encodings are never guessed. Newlines are normalised to ``\\n`` before storing,
since every offset refers to the stored text; nothing else is changed. ``.pdf`` files are read
from their text layer (``retrieval.read.pdf``): the stored text is the one built from it, with
running headers, footers and page numbers left out, and the Document records where each page
starts.

Nothing here raises for one bad file: each is reported as a ``SkippedFile`` with the reason
in plain words. That includes files of other types (``photo.jpg``), links that lead out of the
corpus folder (they are not followed) and HTML when its reader cannot be loaded, so a person can
see what was not read. Hidden files and folders (``.git``, ``.DS_Store``) are ignored silently.
Metadata is bounded: a title longer than ``MAX_TITLE_CHARS`` is shortened, an over-long date or
url is dropped.

A hidden file beside an article, ``.NAME.source.json`` (``{"url": "https://…"}``), gives its
citation's url over what the file says (articles fetched from a link keep theirs there). It is
read with its article; an incremental build also watches it (``source_sidecar_rel``), so adding,
changing or deleting only the sidecar re-reads the article. It is the only metadata taken from
outside an article's file (titles and dates are read from the file itself; the id is its path).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import CorpusError
from retrieval.read.cleaning import clean
from retrieval.read.dates import parse_date
from retrieval.read.pdf import UnreadablePdf, read_pdf
from retrieval.types import Document

#: Files larger than this are skipped (a news article is a few kilobytes).
MAX_FILE_BYTES = 50 * 1024 * 1024
#: A JSONL file holds many articles, so it may be larger; each line is one article.
MAX_JSONL_BYTES = 1024 * 1024 * 1024
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES
#: A PDF holds images and fonts besides its text, so it may be larger than a text file.
MAX_PDF_BYTES = 100 * 1024 * 1024
#: Longer titles are cut at a word (a title is embedded with each of the article's passages).
MAX_TITLE_CHARS = 500
#: Longer dates and urls are not metadata but junk, and are dropped.
MAX_DATE_CHARS = 100
MAX_URL_CHARS = 2_048
#: A JSONL article's id is shown in every citation: longer ids skip the line.
MAX_ID_CHARS = 1_000
#: The version of the rules that turn a file into what is indexed: the readers and cleaning
#: here (``cleaning``, ``dates``, ``pdf``, ``pdf_layout``) and the sentence, passage and term
#: rules of ``retrieval.split``. Bump it with any change that alters a document's text, spans,
#: pages, title, date or url, or its sentences, passages, terms or acronyms: an index records
#: the version it was built under, and the next ``verbatim index`` under another one re-reads
#: every file (size and mtime ignored), then embeds again only the documents that came out
#: otherwise (``retrieval.index.build_changes``). Unbumped, such a change never reaches an existing
#: index, since unchanged files are not read.
#: 2: an underscore separates words in terms (``split.language.WORD``), as in questions and FTS5.
READERS_VERSION = 2
#: Beside ``NAME``, ``.NAME`` + this holds the article's source (hidden, so never read as one).
SOURCE_SIDECAR_SUFFIX = ".source.json"
MAX_SIDECAR_BYTES = 64 * 1024
_JSONL_ENDINGS = tuple(JSONL_SUFFIXES)
_OPTIONAL_FIELDS = ("title", "date", "url")
_HTML_INSTALL_HINT = "pip install trafilatura lxml_html_clean"
_HTML_DATE_SEARCH = {"extensive_search": False, "original_date": True}


@dataclass(frozen=True)
class SkippedFile:
    """A file (or ``file:line`` of a JSONL file) that was not read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ReadResult:
    """The documents read, in path order, and everything skipped."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


class _Skip(Exception):
    """One file or line cannot be read; the message says why."""


def read_corpus(path: Path) -> ReadResult:
    """Read every supported file under ``path`` (a folder, searched recursively, or one file).

    Document ids are paths relative to ``path`` with ``/`` separators (a single file's id is
    its name); a JSONL article's id is its ``id`` field. Raises ``CorpusError`` when ``path``
    does not exist or yields no document at all.
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"The corpus path {path} does not exist. Give a folder of articles.")
    result = ReadResult()
    first_seen: dict[str, str] = {}
    files = [(path, path.name)]
    if path.is_dir():
        files = list(_walk(path, path, result.skipped, set()))
    for file, rel in files:
        for item in _read_with_source(file, rel, result.skipped):
            if item.id in first_seen:
                where = first_seen[item.id]
                result.skipped.append(
                    SkippedFile(rel, f"duplicate document id {item.id!r} (first read from {where})")
                )
                continue
            first_seen[item.id] = rel
            result.documents.append(item)
    if not result.documents:
        raise CorpusError(_nothing_read(path, result.skipped))
    return result


def corpus_files(
    path: Path, skipped: list[SkippedFile], sidecars: set[str] | None = None
) -> list[tuple[Path, str]]:
    """The files ``read_corpus`` would read, with their ids (paths relative to ``path``).

    ``sidecars``, when given, receives the relative paths of the source sidecars seen on the
    way (read from the listings the walk makes anyway: no file is looked at for them).
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"The corpus path {path} does not exist. Give a folder of articles.")
    if path.is_dir():
        return list(_walk(path, path, skipped, set(), sidecars))
    if sidecars is not None and source_sidecar(path).exists():
        sidecars.add(source_sidecar(Path(path.name)).as_posix())
    return [(path, path.name)]


def read_file(file: Path, rel: str, skipped: list[SkippedFile]) -> list[Document]:
    """The documents of one corpus file (several for JSONL); problems go to ``skipped``."""
    return _read_with_source(file, rel, skipped)


def source_sidecar(file: Path) -> Path:
    """Where the url of the article in ``file`` may be kept: ``.NAME.source.json`` beside it."""
    return file.with_name(f".{file.name}{SOURCE_SIDECAR_SUFFIX}")


def source_sidecar_rel(rel: str) -> str | None:
    """The relative path of the sidecar the reader of corpus file ``rel`` consults (it may not
    exist); None for JSONL, whose lines carry their own urls. String work only: it is asked
    of every file of an unchanged corpus."""
    folder, slash, name = rel.rpartition("/")
    if name.lower().endswith(_JSONL_ENDINGS):
        return None
    return f"{folder}{slash}.{name}{SOURCE_SIDECAR_SUFFIX}"


def _read_with_source(file: Path, rel: str, skipped: list[SkippedFile]) -> list[Document]:
    """``_read_file``, with the url of the file's source sidecar (if any) on its document."""
    documents = _read_file(file, rel, skipped)
    if not documents or file.suffix.lower() in JSONL_SUFFIXES:
        return documents
    url = _sidecar_url(source_sidecar(file))
    if url is None:
        return documents
    return [document.model_copy(update={"url": url}) for document in documents]


def _sidecar_url(sidecar: Path) -> str | None:
    """The ``url`` a sidecar gives; None when there is none or it is unusable (it is only a
    citation's link: the article is read all the same)."""
    try:
        if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        record = json.loads(sidecar.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    url = record.get("url") if isinstance(record, dict) else None
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_CHARS:
        return None
    return url.strip() if _encodable(url) else None


def content_hash(document: Document) -> str:
    """SHA-256 (hex) of everything that shapes how a document is indexed and cited.

    Covers id, text, title, date, url, the indexable spans and the page starts: a document read
    again whose hash differs is indexed again. Files whose size and mtime are unchanged are not
    read, though, so a change to a reading rule (cleaning included) reaches an index only when
    ``READERS_VERSION`` is bumped with it. How the text is cut into sentences is not covered
    (the build compares that itself when the version changes). A document without pages
    hashes as it did before pages were recorded (nothing is re-embedded).
    """
    digest = hashlib.sha256()
    spans = ",".join(f"{s.start}-{s.end}" for s in document.indexable)
    parts = [document.id, document.text, document.title, document.date, document.url, spans]
    if document.pages:
        parts.append("pages:" + ",".join(map(str, document.pages)))
    for part in parts:
        encoded = (part or "").encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def _walk(
    folder: Path,
    root: Path,
    skipped: list[SkippedFile],
    visited: set[tuple[int, int]],
    sidecars: set[str] | None = None,
) -> Iterator[tuple[Path, str]]:
    """Files under ``folder`` in sorted order, with their ids; hidden entries ignored.

    Iterative (a corpus may nest folders deeper than Python's recursion limit), and only links
    are resolved (resolving every path costs the square of the depth). Links are followed only
    where they lead to a place inside ``root``.
    """
    real_root = root.resolve()
    stack: list[Iterator[Path]] = []
    entries = _entries(folder, root, skipped, visited)
    if entries is not None:
        stack.append(entries)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            if sidecars is not None and entry.name.endswith(SOURCE_SIDECAR_SUFFIX):
                sidecars.add(entry.relative_to(root).as_posix())
            continue
        rel = entry.relative_to(root).as_posix()
        is_dir = entry.is_dir()
        if entry.is_symlink() and not entry.resolve().is_relative_to(real_root):
            where = rel + "/" if is_dir else rel
            skipped.append(
                SkippedFile(where, "a link to a place outside the corpus folder (not followed)")
            )
        elif is_dir:
            inner = _entries(entry, root, skipped, visited)
            if inner is not None:
                stack.append(inner)
        elif entry.suffix.lower() in SUPPORTED_SUFFIXES or not entry.exists():
            yield entry, rel
        else:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            skipped.append(SkippedFile(rel, f"not a supported file type (reads {kinds})"))


def _entries(
    folder: Path, root: Path, skipped: list[SkippedFile], visited: set[tuple[int, int]]
) -> Iterator[Path] | None:
    """The entries of ``folder`` by name; None when it was seen already (a link loop)."""
    try:
        info = folder.stat()
        if (info.st_dev, info.st_ino) in visited:
            return None
        visited.add((info.st_dev, info.st_ino))
        return iter(sorted(folder.iterdir(), key=lambda p: p.name))
    except OSError as exc:
        rel_folder = folder.relative_to(root).as_posix()
        skipped.append(SkippedFile(rel_folder + "/", f"folder cannot be read ({_why(exc)})"))
        return None


def _read_file(file: Path, rel: str, skipped: list[SkippedFile]) -> list[Document]:
    suffix = file.suffix.lower()
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            raise _Skip(f"not a supported file type (reads {kinds})")
        if suffix in JSONL_SUFFIXES:
            return _read_jsonl(file, rel, skipped)
        if suffix in PDF_SUFFIXES:
            return [_pdf_document(rel, _read_bytes(file, MAX_PDF_BYTES))]
        text = _decode(_read_bytes(file, MAX_FILE_BYTES))
        if suffix in HTML_SUFFIXES:
            return [_html_document(rel, text)]
        return [_text_document(rel, text)]
    except _Skip as skip:
        skipped.append(SkippedFile(rel, str(skip)))
        return []


def _read_bytes(file: Path, limit: int) -> bytes:
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise _Skip("not a regular file")
        if size > limit:
            raise _Skip(f"too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB)")
        with file.open("rb") as handle:
            return handle.read()
    except OSError as exc:
        raise _Skip(f"cannot be read ({_why(exc)})") from exc


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "it does not exist: a broken link?"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or type(exc).__name__


def _decode(data: bytes) -> str:
    """UTF-8 text with ``\\n`` newlines; a clear reason when it is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Skip("is UTF-16, not UTF-8: save it as UTF-8")
    if b"\x00" in data:
        raise _Skip("looks binary (it contains NUL bytes), not a text file")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Skip(
            f"is not UTF-8: byte 0x{data[exc.start]:02X} at line {line}, column {column} "
            f"(byte {exc.start} of the file) cannot be decoded; save the file as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _Skip("is empty" if not text else "holds only whitespace")
    return text


def _document(
    doc_id: str,
    text: str,
    *,
    title: str | None = None,
    date: str | None = None,
    url: str | None = None,
) -> Document:
    """A Document with its cleaning applied; given metadata wins over what cleaning finds.

    A date that cannot be read is kept as written: it still tells a reader something.
    """
    fields = (("id", doc_id), ("text", text), ("title", title), ("date", date), ("url", url))
    for name, value in fields:
        if value and not _encodable(value):
            # JSON escapes such as "\ud800" decode to text that no UTF-8 store can hold.
            raise _Skip(f'"{name}" holds an unpaired surrogate escape, which is not valid Unicode')
    cleaned = clean(text)
    if not cleaned.indexable:
        raise _Skip("holds no article text once boilerplate is removed")
    date = date.strip() if date and len(date) <= MAX_DATE_CHARS else None
    return Document(
        id=doc_id,
        text=text,
        title=_shortened(title or cleaned.title, MAX_TITLE_CHARS),
        date=(parse_date(date) or date) if date else cleaned.date,
        url=url if url and len(url) <= MAX_URL_CHARS else None,
        indexable=cleaned.indexable,
    )


def _shortened(value: str | None, limit: int) -> str | None:
    """``value`` cut at a word so that, with an ellipsis, it is at most ``limit`` long."""
    if value is None or len(value) <= limit:
        return value
    cut = value.rfind(" ", 0, limit - 1)
    if cut < limit // 2:
        cut = limit - 1
    return value[:cut].rstrip() + "…"


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_document(rel: str, text: str) -> Document:
    return _document(rel, text)


def _html_reader() -> Any:
    """trafilatura, imported on first use (it is slow to import and only HTML needs it).

    An import that fails (a dependency missing from the install) skips each HTML file with a
    hint instead of stopping the build; the failure is remembered, not retried per file.
    """
    global _html_import_error
    if _html_import_error is None:
        try:
            import trafilatura

            return trafilatura
        except ImportError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _html_import_error = f"{type(exc).__name__}: {first_line}"
    raise _Skip(
        f"HTML cannot be read here: its reader failed to load ({_html_import_error}). "
        f"Install what it needs with: {_HTML_INSTALL_HINT}"
    )


_html_import_error: str | None = None


def _html_document(rel: str, html: str) -> Document:
    trafilatura = _html_reader()
    try:
        extracted = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # Only dates the page states; an extensive search guesses from "Copyright 2019".
            date_extraction_params=_HTML_DATE_SEARCH,
        )
    except Exception as exc:  # trafilatura raises many kinds on malformed markup
        raise _Skip(f"the HTML could not be parsed ({type(exc).__name__})") from None
    text = getattr(extracted, "text", None) if extracted is not None else None
    if not text or not text.strip():
        raise _Skip("no article text found in the HTML")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _document(
        rel,
        text,
        title=getattr(extracted, "title", None),
        date=getattr(extracted, "date", None),
        url=getattr(extracted, "url", None),
    )


def _pdf_document(rel: str, data: bytes) -> Document:
    """A PDF's text layer as a Document with its page starts."""
    try:
        pdf = read_pdf(data)
    except UnreadablePdf as exc:
        raise _Skip(str(exc)) from None
    document = _document(rel, pdf.text, title=pdf.title, date=pdf.date)
    return document.model_copy(update={"pages": pdf.pages})


def _read_jsonl(file: Path, rel: str, skipped: list[SkippedFile]) -> list[Document]:
    """One Document per good line; each bad line is skipped as ``file:line`` with the reason."""
    data = _read_bytes(file, MAX_JSONL_BYTES)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Skip("is UTF-16, not UTF-8: save it as UTF-8")
    documents: list[Document] = []
    ids: dict[str, int] = {}
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            document = _jsonl_document(raw)
            if document.id in ids:
                raise _Skip(f"duplicate id {document.id!r} (first on line {ids[document.id]})")
        except _Skip as skip:
            skipped.append(SkippedFile(f"{rel}:{number}", str(skip)))
            continue
        ids[document.id] = number
        documents.append(document)
    if not documents and not any(s.path.startswith(f"{rel}:") for s in skipped):
        raise _Skip("is empty")
    return documents


def _jsonl_document(raw: bytes) -> Document:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _Skip(
            f"is not UTF-8 (byte 0x{raw[exc.start]:02X} at column {exc.start + 1})"
        ) from None
    except json.JSONDecodeError as exc:
        raise _Skip(f"is not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _Skip("is nested too deeply to read (arrays or objects inside each other)") from None
    if not isinstance(record, dict):
        raise _Skip(f"is not a JSON object but {type(record).__name__}")
    doc_id, text = record.get("id"), record.get("text")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise _Skip('has no "id" (a non-empty string or an integer)')
    if len(doc_id) > MAX_ID_CHARS:
        raise _Skip(f'"id" is {len(doc_id):,} characters long; the limit is {MAX_ID_CHARS:,}')
    if not isinstance(text, str):
        raise _Skip('has no "text" string')
    values: dict[str, str | None] = {}
    for name in _OPTIONAL_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise _Skip(f'"{name}" must be a string, not {type(value).__name__}')
        values[name] = value.strip() if value and value.strip() else None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _Skip('"text" is empty')
    return _document(
        doc_id.strip(), text, title=values["title"], date=values["date"], url=values["url"]
    )


def _nothing_read(path: Path, skipped: list[SkippedFile]) -> str:
    kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
    if not skipped:
        return f"No articles found in {path}: it holds no {kinds} files."
    shown = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
    more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
    return f"No article in {path} could be read. Skipped {shown}{more}."
