"""Fetching an article from a link: real HTTP against a web server on 127.0.0.1.

The server is on loopback, so these fetches need the operator's ``allow_private``; with it off
the same links are refused before anything is sent.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator

import pytest

from retrieval.config import FetchPolicy
from retrieval.errors import ArticleRefused
from retrieval.read.fetch import ARTICLE_SUFFIXES, address_problem, article_suffix, fetch
from tests.support.articles import (
    ARTICLE_HTML,
    ARTICLE_TEXT,
    ArticleServer,
    Page,
    html_page,
    redirect,
    text_page,
)

#: Loopback allowed (the test server is there), quick to give up.
LOCAL = FetchPolicy(allow_private=True, timeout_seconds=2.0, max_bytes=1024 * 1024)


@pytest.fixture
def server() -> Iterator[ArticleServer]:
    with ArticleServer() as running:
        yield running


def refusal(url: str, policy: FetchPolicy = LOCAL) -> ArticleRefused:
    with pytest.raises(ArticleRefused) as caught:
        fetch(url, policy)
    message = caught.value.message
    assert message and "\n" not in message
    return caught.value


def test_html_article_is_fetched_as_sent(server: ArticleServer) -> None:
    server.pages["/news/ferry.html"] = html_page()
    fetched = fetch(server.url("/news/ferry.html#top"), LOCAL)
    assert fetched.data == ARTICLE_HTML.encode("utf-8")
    assert fetched.suffix == ".html"
    assert fetched.url == server.url("/news/ferry.html")  # no fragment
    assert fetched.name == "ferry.html"


def test_text_article_is_fetched(server: ArticleServer) -> None:
    server.pages["/palms"] = text_page()
    fetched = fetch(server.url("/palms"), LOCAL)
    assert (fetched.data, fetched.suffix) == (ARTICLE_TEXT.encode("utf-8"), ".txt")


def test_text_in_a_declared_charset_is_stored_as_utf8(server: ArticleServer) -> None:
    server.pages["/cafe"] = Page(
        "Le café de Mossoul rouvre".encode("latin-1"), "text/plain; charset=iso-8859-1"
    )
    assert fetch(server.url("/cafe"), LOCAL).data == "Le café de Mossoul rouvre".encode()


def test_redirects_are_followed_and_the_final_url_kept(server: ArticleServer) -> None:
    server.pages["/a"] = redirect("/b", 301)
    server.pages["/b"] = redirect(server.url("/c"), 307)
    server.pages["/c"] = redirect("article.html", 308)
    server.pages["/article.html"] = html_page()
    fetched = fetch(server.url("/a"), LOCAL)
    assert fetched.url == server.url("/article.html")
    assert fetched.requested == server.url("/a")
    assert server.requests == ["/a", "/b", "/c", "/article.html"]


def test_too_many_redirects_are_refused(server: ArticleServer) -> None:
    server.pages["/loop"] = redirect("/loop")
    refused = refusal(server.url("/loop"))
    assert refused.kind == "unreachable" and "redirects more than" in refused.message
    assert len(server.requests) == LOCAL.max_redirects + 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service: link-local
        "http://0.0.0.0/",
        "http://[ff02::1]/",
        "http://240.0.0.1/",
    ],
)
def test_a_redirect_to_a_forbidden_address_is_refused_before_connecting(
    server: ArticleServer, target: str
) -> None:
    """Even with private addresses allowed; the tests' network guard would refuse a connection
    with another kind of error, so the kind shows nothing was attempted."""
    server.pages["/go"] = redirect(target)
    refused = refusal(server.url("/go"))
    assert refused.kind == "private_address"
    assert "operator" not in refused.message  # no setting lifts this one


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_the_operator_allows_it(
    server: ArticleServer, host: str
) -> None:
    server.pages["/article.html"] = html_page()
    refused = refusal(
        server.url("/article.html", host=host), dataclasses.replace(LOCAL, allow_private=False)
    )
    assert refused.kind == "private_address"
    assert "loopback" in refused.message and "VERBATIM_FETCH_ALLOW_PRIVATE" in refused.message
    assert server.requests == []  # refused before sending anything
    assert fetch(server.url("/article.html", host=host), LOCAL).suffix == ".html"


def test_a_body_without_end_is_cut_at_the_limit(server: ArticleServer) -> None:
    server.pages["/huge"] = Page(b"<p>word</p>", "text/html", endless=True)
    refused = refusal(server.url("/huge"))
    assert refused.kind == "too_big" and "1 MB limit" in refused.message


def test_a_declared_length_over_the_limit_is_refused_unread(server: ArticleServer) -> None:
    server.pages["/declared"] = Page(b"<p>small</p>", "text/html", declared_length=50 * 1024 * 1024)
    refused = refusal(server.url("/declared"))
    assert refused.kind == "too_big" and "(50 MB)" in refused.message


@pytest.mark.parametrize(
    ("page", "kind", "words"),
    [
        (Page(b"gone", "text/plain", status=404), "unreachable", "404 Not Found"),
        (Page(b"oops", "text/plain", status=503), "unreachable", "503"),
        (Page(b"\x89PNG\r\n", "image/png"), "unsupported", "image/png"),
        (Page(b"{}", "application/json"), "unsupported", "application/json"),
    ],
    ids=["404", "503", "image", "json"],
)
def test_pages_that_are_no_article_are_refused(
    server: ArticleServer, page: Page, kind: str, words: str
) -> None:
    server.pages["/page"] = page
    refused = refusal(server.url("/page"))
    assert refused.kind == kind and words in refused.message


def test_a_server_slower_than_the_timeout_is_unreachable(server: ArticleServer) -> None:
    server.pages["/slow"] = Page(b"<p>late</p>", "text/html", delay_seconds=1.0)
    refused = refusal(server.url("/slow"), dataclasses.replace(LOCAL, timeout_seconds=0.2))
    assert refused.kind == "unreachable" and "did not answer in time" in refused.message


def test_a_connection_refused_is_unreachable() -> None:
    with ArticleServer() as other:
        port = other.port
    refused = refusal(f"http://127.0.0.1:{port}/gone")
    assert refused.kind == "unreachable" and "connection failed" in refused.message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/a.txt",
        "file:///etc/passwd",
        "http://user:secret@example.org/",
        "http:///x",
        "not a link",
    ],
)
def test_links_that_may_not_be_fetched(url: str) -> None:
    assert refusal(url).kind == "not_allowed"


def test_a_redirect_to_another_scheme_is_refused(server: ArticleServer) -> None:
    server.pages["/away"] = redirect("file:///etc/passwd")
    assert refusal(server.url("/away")).kind == "not_allowed"


@pytest.mark.parametrize(
    ("address", "closed", "opened"),
    [
        ("8.8.8.8", None, None),
        ("2606:4700:4700::1111", None, None),
        ("127.0.0.1", "a loopback address", None),
        ("::1", "a loopback address", None),
        ("::ffff:127.0.0.1", "a loopback address", None),
        ("10.1.2.3", "a private address", None),
        ("192.168.1.1", "a private address", None),
        ("100.64.0.1", "a private address", None),  # shared (carrier-grade NAT)
        ("fc00::1", "a private address", None),
        ("169.254.169.254", "a link-local address", "a link-local address"),
        ("fe80::1", "a link-local address", "a link-local address"),
        ("224.0.0.1", "a multicast address", "a multicast address"),
        ("240.0.0.1", "a reserved address", "a reserved address"),
        ("0.0.0.0", "an unspecified address", "an unspecified address"),
        ("::", "an unspecified address", "an unspecified address"),
    ],
)
def test_address_problems(address: str, closed: str | None, opened: str | None) -> None:
    ip = ipaddress.ip_address(address)
    assert address_problem(ip, allow_private=False) == closed
    assert address_problem(ip, allow_private=True) == opened


@pytest.mark.parametrize(
    ("content_type", "name", "name_first", "suffix"),
    [
        ("text/html; charset=utf-8", "page.php", False, ".html"),
        ("application/xhtml+xml", None, False, ".html"),
        ("text/plain", "notes.md", False, ".txt"),  # a page: its type decides
        ("text/plain", "notes.md", True, ".md"),  # a file: its name decides
        ("application/octet-stream", "story.MD", False, ".md"),
        (None, "story.htm", False, ".htm"),
        ("application/octet-stream", "photo.jpg", True, None),
        ("image/png", "photo.png", False, None),
        ("application/json", "data.jsonl", True, None),  # many articles: not sent in
    ],
)
def test_article_suffix(
    content_type: str | None, name: str | None, name_first: bool, suffix: str | None
) -> None:
    assert article_suffix(content_type, name, name_first=name_first) == suffix
    assert suffix is None or suffix in ARTICLE_SUFFIXES
