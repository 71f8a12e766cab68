"""A local web server on 127.0.0.1 serving articles, and pages that misbehave, to be fetched.

Each test sets its pages: a body with its Content-Type, a redirect, an error status, a body
without end, a Content-Length larger than the limit, a slow answer. Every request is recorded
(``requests``: the paths asked for), so a test can tell that nothing was fetched.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

HOST = "127.0.0.1"
CHUNK = 64 * 1024
#: A body without end stops here anyway, so a client that never gives up cannot hang a test.
ENDLESS_BYTES = 256 * 1024 * 1024
#: How often the server looks whether it is told to stop (stopping waits this long at most).
POLL_SECONDS = 0.02

ARTICLE_TITLE = "Ferry across the Tigris returns to Mosul"
ARTICLE_FACT = "Boats leave the old city pier every morning at seven o'clock"
ARTICLE_HTML = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{ARTICLE_TITLE} | River News</title>
<link rel="canonical" href="https://example.org/canonical-elsewhere">
<meta property="og:url" content="https://example.org/canonical-elsewhere">
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a></nav>
<article>
<h1>{ARTICLE_TITLE}</h1>
<p>The ferry across the Tigris in Mosul resumed service on Monday after three years without
boats, the city's river authority said in a statement.</p>
<p>{ARTICLE_FACT} and reach the eastern bank in about twelve minutes, according to the
authority.</p>
<p>Fishermen who repaired the wooden boats over the winter said the crossing had been the
fastest way between the two halves of the city before the bridges were destroyed.</p>
<p>Tickets cost five hundred dinars, and children under ten ride free, the authority added.</p>
<p>Residents lined the river bank to watch the first crossing, and several families said they
would use the ferry to visit relatives on the other side for the first time in years.</p>
</article>
<footer>Copyright River News. All rights reserved.</footer>
</body></html>
"""
TEXT_TITLE = "Date palms of Basra recover after the drought"
TEXT_FACT = "the palm groves along the Shatt al-Arab produced forty thousand tonnes of dates"
ARTICLE_TEXT = f"""{TEXT_TITLE}

Farmers in Basra said on Sunday that {TEXT_FACT} this season, twice the harvest of last year.

The agriculture ministry credited the wet winter and new irrigation channels dug by the
farmers' cooperatives.

Exporters expect the first shipments to leave the port of Umm Qasr before the end of the month.
"""


@dataclass(frozen=True)
class Page:
    """What the server answers for one path."""

    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None  # a redirect's target
    endless: bool = False  # sends the body again and again, with no Content-Length
    declared_length: int | None = None  # a Content-Length other than the body's
    delay_seconds: float = 0.0  # before anything is sent


def html_page(html: str = ARTICLE_HTML) -> Page:
    return Page(html.encode("utf-8"), "text/html; charset=utf-8")


def text_page(text: str = ARTICLE_TEXT) -> Page:
    return Page(text.encode("utf-8"), "text/plain; charset=utf-8")


def redirect(location: str, status: int = 302) -> Page:
    return Page(status=status, location=location, content_type=None)


class ArticleServer:
    """``with ArticleServer() as server:`` a web server on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
        )

    def __enter__(self) -> ArticleServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, *, host: str = HOST) -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(server: ArticleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            page = server.pages.get(self.path, Page(b"no such page", "text/plain", status=404))
            time.sleep(page.delay_seconds)
            self.send_response(page.status)
            if page.content_type:
                self.send_header("Content-Type", page.content_type)
            if page.location:
                self.send_header("Location", page.location)
            if not page.endless:
                length = page.declared_length
                self.send_header(
                    "Content-Length", str(len(page.body) if length is None else length)
                )
            self.end_headers()
            # the client may stop reading, as it should past its limit
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._body(page)

        def _body(self, page: Page) -> None:
            if not page.endless:
                self.wfile.write(page.body)
                return
            sent, chunk = 0, (page.body or b"x") * (CHUNK // max(1, len(page.body or b"x")))
            while sent < ENDLESS_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet

    return Handler
