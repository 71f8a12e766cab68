"""Reading a corpus: every format, every kind of bad file, and hostile text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from retrieval.errors import CorpusError
from retrieval.read.readers import (
    MAX_FILE_BYTES,
    MAX_TITLE_CHARS,
    SkippedFile,
    content_hash,
    read_corpus,
)
from retrieval.types import Document, Span

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT / "seeds"

ARTICLE = (
    "Dam opens on the river\n\n"
    "The new dam on the Vell river opened on Thursday after six years of work.\n\n"
    "Engineers say it will power forty thousand homes.\n"
)

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Dam opens on the river | The Valley Times</title>
<meta property="og:title" content="Dam opens on the river">
<meta property="article:published_time" content="2019-03-14T09:30:00Z">
<link rel="canonical" href="https://valley.example/news/dam-opens">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav></header>
<main><article>
<h1>Dam opens on the river</h1>
<p>The new dam on the Vell river opened on Thursday after six years of building work.</p>
<p>Engineers say the dam will supply electricity to forty thousand homes in the valley.</p>
<p>The mayor, Ana Ruiz, said the town had waited a long time for this day.</p>
</article></main>
<footer><p>Copyright 2019 The Valley Times. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def skipped_reason(skipped: list[SkippedFile], path: str) -> str:
    reasons = [s.reason for s in skipped if s.path == path]
    assert reasons, f"{path} was not reported as skipped: {skipped}"
    return reasons[0]


def test_seeds_are_read_whole() -> None:
    result = read_corpus(SEEDS)
    names = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert [d.id for d in result.documents] == names
    assert result.skipped == []
    for document in result.documents:
        raw = (SEEDS / document.id).read_text(encoding="utf-8").replace("\r\n", "\n")
        assert document.text == raw
        assert document.indexable


def test_folder_ids_are_relative_posix_paths_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", ARTICLE)
    write(tmp_path / "a" / "z.md", "# Heading here\n\nSome text in a file.\n")
    write(tmp_path / "a" / "deeper" / "c.txt", ARTICLE)
    write(tmp_path / ".hidden.txt", ARTICLE)
    write(tmp_path / ".git" / "notes.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["a/deeper/c.txt", "a/z.md", "b.txt"]
    assert result.skipped == []


def test_single_file_id_is_its_name(tmp_path: Path) -> None:
    file = write(tmp_path / "sub" / "story.txt", ARTICLE)
    result = read_corpus(file)
    assert [d.id for d in result.documents] == ["story.txt"]
    assert result.documents[0].title == "Dam opens on the river"


def test_markdown_title_and_front_matter(tmp_path: Path) -> None:
    write(tmp_path / "plain.md", "Intro line\n\n# The Real Title\n\nBody text of the post here.\n")
    write(
        tmp_path / "front.markdown",
        '---\ntitle: "From Front Matter"\ndate: 2021-02-03\n---\n\n# Heading\n\nBody text.\n',
    )
    docs = {d.id: d for d in read_corpus(tmp_path).documents}
    assert docs["plain.md"].title == "The Real Title"
    assert docs["front.markdown"].title == "From Front Matter"
    assert docs["front.markdown"].date == "2021-02-03"
    front = docs["front.markdown"]
    assert all(span.start > front.text.index("---\n\n") for span in front.indexable)


def test_html_stores_extracted_main_text_and_metadata(tmp_path: Path) -> None:
    write(tmp_path / "page.html", PAGE)
    document = read_corpus(tmp_path).documents[0]
    assert "opened on Thursday after six years of building work." in document.text
    assert "Privacy policy" not in document.text
    assert "Sport" not in document.text
    assert "<p>" not in document.text
    assert document.title == "Dam opens on the river"
    assert document.date == "2019-03-14"
    assert document.url == "https://valley.example/news/dam-opens"
    indexed = " ".join(document.text[s.start : s.end] for s in document.indexable)
    assert "forty thousand homes" in indexed


def test_html_date_is_not_guessed_from_a_copyright_line(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Dam opens</title></head><body><article><h1>Dam opens</h1>"
        "<p>The new dam on the Vell river opened on Thursday after six years of work.</p>"
        "<p>Engineers say the dam will supply electricity to forty thousand homes.</p>"
        "</article><footer>Copyright 2019 Valley Times</footer></body></html>"
    )
    write(tmp_path / "page.htm", page)
    document = read_corpus(tmp_path).documents[0]
    assert document.title == "Dam opens"
    assert document.date is None


def test_html_without_text_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "empty.htm", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    write(tmp_path / "ok.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert "no article text" in skipped_reason(result.skipped, "empty.htm")


def test_jsonl_articles_and_broken_lines(tmp_path: Path) -> None:
    good = {"id": "a1", "text": "First article body.\r\nSecond line.", "title": "One"}
    lines = [
        json.dumps(good),
        "",
        json.dumps({"id": 7, "text": "Numeric id article.", "date": "July 12, 2017", "url": "u"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"text": "no id here"}),
        json.dumps({"id": "a2"}),
        json.dumps({"id": "a3", "text": "   "}),
        json.dumps({"id": "a4", "text": "Body.", "title": 5}),
        json.dumps({"id": "a1", "text": "Duplicate of the first id."}),
    ]
    data = "\n".join(lines).encode() + b'\n{"id": "x", "text": "caf\xe9"}\n'
    data += b'{"id": "s", "text": "lone \\ud800 surrogate"}\n'
    write(tmp_path / "articles.jsonl", data)
    result = read_corpus(tmp_path)
    docs = {d.id: d for d in result.documents}
    assert list(docs) == ["a1", "7"]
    assert docs["a1"].text == "First article body.\nSecond line."
    assert docs["a1"].title == "One"
    assert docs["7"].date == "2017-07-12"
    assert docs["7"].url == "u"
    reasons = {s.path: s.reason for s in result.skipped}
    assert set(reasons) == {f"articles.jsonl:{n}" for n in (4, 5, 6, 7, 8, 9, 10, 11, 12)}
    assert "not valid JSON" in reasons["articles.jsonl:4"]
    assert "not a JSON object" in reasons["articles.jsonl:5"]
    assert '"id"' in reasons["articles.jsonl:6"]
    assert '"text"' in reasons["articles.jsonl:7"]
    assert "empty" in reasons["articles.jsonl:8"]
    assert '"title" must be a string' in reasons["articles.jsonl:9"]
    assert "duplicate id 'a1'" in reasons["articles.jsonl:10"]
    assert "not UTF-8" in reasons["articles.jsonl:11"]
    assert "unpaired surrogate" in reasons["articles.jsonl:12"]


def test_duplicate_ids_across_jsonl_files(tmp_path: Path) -> None:
    write(tmp_path / "one.jsonl", json.dumps({"id": "same", "text": "From file one."}))
    write(tmp_path / "two.jsonl", json.dumps({"id": "same", "text": "From file two."}))
    result = read_corpus(tmp_path)
    assert [d.text for d in result.documents] == ["From file one."]
    assert "duplicate document id 'same'" in skipped_reason(result.skipped, "two.jsonl")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"  \n\t\r\n  ", "only whitespace"),
        ("binary.txt", b"PK\x03\x04\x00\x00binary\x00data", "binary"),
        (
            "latin1.txt",
            "Caf\u00e9 news\n".encode("latin-1"),
            "not UTF-8: byte 0xE9 at line 1, column 4",
        ),
        ("latin1-later.md", b"Fine line\nSecond caf\xe9\n", "line 2, column 11"),
        ("utf16.txt", "Hello there.".encode("utf-16"), "UTF-16"),
        ("only-boilerplate.txt", b"Leave a Reply\n\nShare this\n\nAdvertisement\n", "boilerplate"),
        ("empty.jsonl", b"\n\n", "is empty"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "not a supported file type"),
        ("README", b"Read me.", "not a supported file type"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write(tmp_path / name, content)
    write(tmp_path / "good.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["good.txt"]
    assert reason in skipped_reason(result.skipped, name)


def test_huge_file_is_skipped(tmp_path: Path) -> None:
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    write(tmp_path / "good.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert "too large" in skipped_reason(result.skipped, "huge.txt")


def test_broken_symlink_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    write(tmp_path / "good.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert "cannot be read" in skipped_reason(result.skipped, "gone.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.txt", ARTICLE)
    locked.chmod(0)
    write(tmp_path / "good.txt", ARTICLE)
    try:
        result = read_corpus(tmp_path)
    finally:
        locked.chmod(0o644)
    assert "permission denied" in skipped_reason(result.skipped, "locked.txt")


def test_named_pipe_is_skipped_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    write(tmp_path / "good.txt", ARTICLE)
    result = read_corpus(tmp_path)
    assert "not a regular file" in skipped_reason(result.skipped, "pipe.txt")


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    write(tmp_path / "a" / "story.txt", ARTICLE)
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    assert [d.id for d in read_corpus(tmp_path).documents] == ["a/story.txt"]


def test_directory_named_like_a_text_file_is_searched(tmp_path: Path) -> None:
    write(tmp_path / "odd.txt" / "inner.txt", ARTICLE)
    assert [d.id for d in read_corpus(tmp_path).documents] == ["odd.txt/inner.txt"]


def test_bom_dropped_and_newlines_normalised(tmp_path: Path) -> None:
    write(tmp_path / "bom.txt", b"\xef\xbb\xbfTitle line\r\n\r\nOne sentence.\rTwo sentence.\r\n")
    document = read_corpus(tmp_path).documents[0]
    assert document.text == "Title line\n\nOne sentence.\nTwo sentence.\n"
    assert document.title == "Title line"


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")


def test_empty_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="No articles found"):
        read_corpus(tmp_path)


def test_folder_of_bad_files_raises_with_the_reasons(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "bin.txt", b"\x00\x01")
    with pytest.raises(CorpusError) as caught:
        read_corpus(tmp_path)
    assert "bin.txt: looks binary" in caught.value.message
    assert "empty.txt: is empty" in caught.value.message


HOSTILE = [
    "\u202eevil RTL override text\u202c and more words here.",
    "שלום עולם. זה משפט בעברית.\nمرحبا بالعالم. هذه جملة.",
    "Emoji 😀👍🏽 family 👨‍👩‍👧 in a sentence. Next one 🎉!",
    "Control \x01\x02\x07\x1b[31m chars\x7f and \x0b\x0c form feeds.",
    "Zero\u200bwidth\u200d joiners\ufeff inside. And\u2028line\u2029separators.",
    "a" * 20000,
    "word " * 200_000 + "end",
    "<script>alert('x')</script> <b>markup</b> &amp; {{template}} ${var}",
    "\\x00 literal backslashes \\n and 'quotes\" mixed.",
    "\U0001f600" * 5000,
    "\ud7ff\ue000\uffff plane edges.",
    "NUL \x00 characters \x00 inside the text.",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".jsonl"])
def test_hostile_text_never_breaks_reading(tmp_path: Path, text: str, suffix: str) -> None:
    content = json.dumps({"id": "h", "text": text}) if suffix == ".jsonl" else text
    write(tmp_path / f"hostile{suffix}", content)
    write(tmp_path / "good.txt", ARTICLE)
    result = read_corpus(tmp_path)
    hostile = [d for d in result.documents if d.id in ("h", f"hostile{suffix}")]
    skipped = [s for s in result.skipped if s.path.startswith("hostile")]
    assert len(hostile) + len(skipped) == 1
    for document in hostile:
        if suffix != ".html":
            assert document.text == text.replace("\r\n", "\n")
        for span in document.indexable:
            assert 0 <= span.start < span.end <= len(document.text)


def test_content_hash_changes_with_every_field() -> None:
    base = Document(
        id="a",
        text="Some text.",
        title="T",
        date="2020-01-01",
        url="u",
        indexable=(Span(start=0, end=10),),
    )
    variants = [
        base.model_copy(update={"id": "b"}),
        base.model_copy(update={"text": "Some text!"}),
        base.model_copy(update={"title": None}),
        base.model_copy(update={"date": "2020-01-02"}),
        base.model_copy(update={"url": "v"}),
        base.model_copy(update={"indexable": (Span(start=0, end=9),)}),
        Document(id="a", text="Some text.T", title=None, date="2020-01-01", url="u"),
    ]
    hashes = {content_hash(base), *(content_hash(v) for v in variants)}
    assert len(hashes) == len(variants) + 1
    assert content_hash(base) == content_hash(base.model_copy())
    assert len(content_hash(base)) == 64


@pytest.mark.parametrize("field", ["id", "text", "title", "date", "url"])
def test_jsonl_lone_surrogate_in_any_field_skips_only_that_line(tmp_path: Path, field: str) -> None:
    record = {"id": "bad", "text": "A body for the bad line.", "title": "T", "date": "2019-01-01"}
    record["url"] = "https://example.org/a"
    record[field] = record[field] + "\ud800"  # json.dumps writes it as the escape "\ud800"
    lines = [
        json.dumps({"id": "one", "text": "The first article body."}),
        json.dumps(record),
        json.dumps({"id": "three", "text": "The third article body."}),
    ]
    write(tmp_path / "articles.jsonl", "\n".join(lines))
    result = read_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["one", "three"]
    reason = skipped_reason(result.skipped, "articles.jsonl:2")
    assert f'"{field}"' in reason and "surrogate" in reason


def test_jsonl_record_nested_too_deep_is_skipped(tmp_path: Path) -> None:
    deep = '{"id": "deep", "text": "Body.", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [json.dumps({"id": "one", "text": "The first article body."}), deep]
    write(tmp_path / "articles.jsonl", "\n".join(lines))
    result = read_corpus(tmp_path)
    assert [d.id for d in result.documents] == ["one"]
    assert "nested too deeply" in skipped_reason(result.skipped, "articles.jsonl:2")


def test_overlong_metadata_is_cut_or_dropped(tmp_path: Path) -> None:
    # A title is embedded with every passage: a 1 MB title made each passage 1 MB to encode.
    record = {
        "id": "long",
        "text": "The dam opened on Thursday after six years of work.",
        "title": "Dam " * 250_000,
        "date": "9" * 100_000,
        "url": "https://example.org/" + "a" * 100_000,
    }
    write(tmp_path / "articles.jsonl", json.dumps(record))
    document = read_corpus(tmp_path).documents[0]
    assert document.title is not None and len(document.title) <= MAX_TITLE_CHARS
    assert document.title.startswith("Dam Dam") and document.title.endswith("…")
    assert document.date is None and document.url is None


def test_links_out_of_the_corpus_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "The secret plans are kept in the vault under the hill.\n")
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", ARTICLE)
    write(corpus / "inner" / "kept.txt", "An article linked from inside the corpus folder.\n")
    (corpus / "hostname.txt").symlink_to(outside / "secret.txt")
    (corpus / "elsewhere").symlink_to(outside)
    (corpus / "alias.txt").symlink_to(corpus / "inner" / "kept.txt")
    result = read_corpus(corpus)
    assert [d.id for d in result.documents] == ["alias.txt", "good.txt", "inner/kept.txt"]
    for name in ("hostname.txt", "elsewhere/"):
        assert "outside the corpus folder" in skipped_reason(result.skipped, name)


_HTML_WITHOUT_CLEANER = """
import json, sys
from pathlib import Path
sys.modules["lxml_html_clean"] = None  # as on an install without it: importing it fails
from retrieval.read.readers import read_corpus
result = read_corpus(Path(sys.argv[1]))
print(json.dumps({"read": [d.id for d in result.documents],
                  "skipped": {s.path: s.reason for s in result.skipped}}))
"""


def test_html_reader_that_cannot_be_imported_skips_html_with_a_hint(tmp_path: Path) -> None:
    write(tmp_path / "page.html", PAGE)
    write(tmp_path / "good.txt", ARTICLE)
    done = subprocess.run(
        [sys.executable, "-c", _HTML_WITHOUT_CLEANER, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["read"] == ["good.txt"]
    reason = result["skipped"]["page.html"]
    assert "HTML" in reason and "pip install" in reason and "lxml_html_clean" in reason


def test_the_html_cleaner_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = {
        re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower().replace("-", "_")
        for dep in project["project"]["dependencies"]
    }
    assert "lxml_html_clean" in names


@pytest.mark.parametrize("name", ["dam.txt", "dam.html"])
def test_a_source_sidecar_gives_the_citation_url(tmp_path: Path, name: str) -> None:
    """A page saved from a link keeps its url in ``.NAME.source.json``, over what it says."""
    (tmp_path / name).write_text(PAGE if name.endswith(".html") else ARTICLE, encoding="utf-8")
    url = "https://fetched.example/dam?id=7"
    (tmp_path / f".{name}.source.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    result = read_corpus(tmp_path)
    assert [(d.id, d.url) for d in result.documents] == [(name, url)]
    assert result.skipped == []  # the hidden sidecar is no article, and not reported


@pytest.mark.parametrize(
    "sidecar",
    [b"not json", b'["https://x.example/"]', b'{"url": 7}', b'{"url": "  "}', b"\xff\xfe{}"],
    ids=["not-json", "not-an-object", "not-a-string", "blank", "not-utf8"],
)
def test_an_unusable_sidecar_leaves_the_article_as_it_is(tmp_path: Path, sidecar: bytes) -> None:
    (tmp_path / "dam.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / ".dam.html.source.json").write_bytes(sidecar)
    (document,) = read_corpus(tmp_path).documents
    assert document.url == "https://valley.example/news/dam-opens"  # what the page says


def test_a_sidecar_does_not_touch_jsonl_articles(tmp_path: Path) -> None:
    line = {"id": "a", "text": ARTICLE, "url": "https://line.example/a"}
    (tmp_path / "many.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    (tmp_path / ".many.jsonl.source.json").write_text('{"url": "https://x.example/"}')
    (document,) = read_corpus(tmp_path).documents
    assert document.url == "https://line.example/a"
