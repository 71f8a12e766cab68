"""Fetch one article over HTTP(S) so it can be added to the corpus: checked at every hop, bounded.

Only ``http`` and ``https`` links. Redirects are followed by hand, at most ``max_redirects``, and
every hop is checked like the first. The host is resolved here and the connection goes to the
address that was checked (the request names the host in its ``Host`` header and, over TLS, in
SNI and the certificate check), so a name that resolves elsewhere the second time (DNS
rebinding) cannot lead to a refused address. Refused: private and loopback addresses unless
the policy allows them; link-local (cloud metadata services), multicast, reserved and
unspecified addresses always. The body is read as a stream and given up at ``max_bytes``;
connecting and each read have a timeout, the whole fetch a deadline. The Content-Type decides
the format (the URL's suffix when it says nothing useful); a format the readers cannot read
is refused.

Every refusal is an ``ArticleRefused`` with its kind and a message of one line.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote

from retrieval.config import FetchPolicy
from retrieval.errors import ArticleRefused
from retrieval.read.readers import HTML_SUFFIXES, JSONL_SUFFIXES, SUPPORTED_SUFFIXES, TEXT_SUFFIXES

if TYPE_CHECKING:  # imported where used: the settings name this module, and httpx takes 0.1 s
    import httpx

SCHEMES = frozenset({"http", "https"})
#: What an article may be: every format the readers read, but one article a file (no JSONL).
ARTICLE_SUFFIXES = SUPPORTED_SUFFIXES - JSONL_SUFFIXES
#: The file suffix of each media type that holds an article.
SUFFIX_OF_TYPE = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "application/pdf": ".pdf",
}
#: The formats named in messages (``.htm`` and ``.markdown`` are read too, but go unsaid).
SHOWN_SUFFIXES = tuple(sorted(set(SUFFIX_OF_TYPE.values()) & ARTICLE_SUFFIXES))
#: Media types that say nothing of the format: the name's suffix decides.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
#: Formats read as text: a body in another declared charset is stored as UTF-8.
TEXT_FORMATS = TEXT_SUFFIXES | HTML_SUFFIXES
USER_AGENT = "Mozilla/5.0 (compatible; Verbatim article fetcher)"
ACCEPT = "text/html, application/xhtml+xml, text/plain, text/markdown, application/pdf;q=0.9"
CHUNK_BYTES = 64 * 1024
KIB, MIB = 1024, 1024 * 1024
#: Links longer than this are cut in messages.
SHOWN_URL_CHARS = 120
LOOPBACK, PRIVATE = "a loopback address", "a private address"
#: The refusals the operator may lift (``FetchPolicy.allow_private``).
OVERRIDABLE = frozenset({LOOPBACK, PRIVATE})
ALLOW_PRIVATE_HINT = "--allow-private or VERBATIM_FETCH_ALLOW_PRIVATE=1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """An article as it came: its bytes (UTF-8 for text formats), format and where it lives."""

    data: bytes
    suffix: str
    url: str  # after redirects, without a fragment: the citation's url
    requested: str
    name: str  # a hint for the file name: the last part of the URL's path, or its host


def article_suffix(content_type: str | None, name: str | None, *, name_first: bool) -> str | None:
    """The suffix an article of this media type and name is saved under; None: not readable.

    ``name_first``: a file's own suffix wins over its media type (Telegram guesses the type of
    a ``.md`` file); for a web page the Content-Type wins over how its URL ends.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    named = PurePosixPath(name or "").suffix.lower()
    if name_first and named in ARTICLE_SUFFIXES:
        return named
    if media in GENERIC_TYPES:
        return named if named in ARTICLE_SUFFIXES else None
    typed = SUFFIX_OF_TYPE.get(media)
    return typed if typed in ARTICLE_SUFFIXES else None


def unsupported(what: str) -> ArticleRefused:
    kinds = ", ".join(SHOWN_SUFFIXES)
    return ArticleRefused("unsupported", f"{what} is not a format I can read (I read {kinds}).")


def size_text(size: int) -> str:
    """``12.3 MB``, ``10 MB``, ``850 KB``: sizes in messages (binary units, as limits are set)."""
    if size >= MIB:
        value = round(size / MIB, 1)
        return f"{value:.0f} MB" if value.is_integer() else f"{value:.1f} MB"
    return f"{max(1, round(size / KIB))} KB"


def too_big(what: str, size: int | None, limit: int) -> ArticleRefused:
    has = f" ({size_text(size)})" if size is not None else ""
    return ArticleRefused("too_big", f"{what} is larger than the {size_text(limit)} limit{has}.")


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be fetched from (``"a loopback address"``), or None.

    Link-local, multicast, reserved and unspecified addresses are refused whatever the policy:
    no article lives there, and 169.254.169.254 is where clouds hand out credentials.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return None if allow_private else LOOPBACK
    if address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return None if allow_private else PRIVATE
    return None


def checked_url(url: str) -> httpx.URL:
    """``url`` parsed, if it is an http(s) link to a named host without credentials."""
    import httpx

    shown = _shown(url)
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ArticleRefused("not_allowed", f"{shown} is not a valid link.") from None
    if parsed.scheme not in SCHEMES:
        raise ArticleRefused("not_allowed", f"{shown} is not an http or https link.")
    if not parsed.host:
        raise ArticleRefused("not_allowed", f"{shown} names no host.")
    if parsed.userinfo:
        raise ArticleRefused("not_allowed", f"{shown} holds a user name or password.")
    return parsed.copy_with(fragment=None)


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """The article at ``url`` (blocking). Raises ``ArticleRefused`` saying why it was not."""
    import httpx

    requested = checked_url(url)
    current = requested
    started = time.monotonic()
    timeout = httpx.Timeout(policy.timeout_seconds)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    with httpx.Client(timeout=timeout, headers=headers, trust_env=False) as client:
        for _ in range(policy.max_redirects + 1):
            request = _pinned_request(client, current, policy)
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise _unreachable(current, exc) from None
            try:
                if response.is_redirect:
                    current = _next_hop(current, response.headers["location"])
                    continue
                return _article(response, current, requested, policy, started)
            except httpx.HTTPError as exc:
                raise _unreachable(current, exc) from None
            finally:
                response.close()
    raise ArticleRefused(
        "unreachable", f"{_shown(str(requested))} redirects more than {policy.max_redirects} times."
    )


def _pinned_request(client: httpx.Client, url: httpx.URL, policy: FetchPolicy) -> httpx.Request:
    """A GET of ``url`` sent to the address checked for its host (see the module's docstring)."""
    host = url.raw_host.decode("ascii")
    address = _resolve(host, url.port or (443 if url.scheme == "https" else 80), policy)
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={"Host": url.netloc.decode("ascii")},
        extensions=extensions,
    )


def _resolve(host: str, port: int, policy: FetchPolicy) -> str:
    """An address of ``host`` to connect to; refused when any address it has is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid name"
        raise ArticleRefused("unreachable", f"The host {host} cannot be found ({why}).") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    for address in addresses:
        problem = address_problem(address, allow_private=policy.allow_private)
        if problem is None:
            continue
        where = f"{host} is" if host == str(address) else f"The host {host} is at {address},"
        may = f" (an operator may allow them: {ALLOW_PRIVATE_HINT})"
        may = may if problem in OVERRIDABLE else ""
        raise ArticleRefused(
            "private_address", f"{where} {problem}: links there are not fetched{may}."
        )
    if not addresses:
        raise ArticleRefused("unreachable", f"The host {host} has no address.")
    return str(addresses[0])


def _next_hop(current: httpx.URL, location: str) -> httpx.URL:
    import httpx

    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError):
        raise ArticleRefused(
            "unreachable", f"{_shown(str(current))} redirects to an invalid link."
        ) from None
    if target.scheme not in SCHEMES:
        raise ArticleRefused(
            "not_allowed",
            f"{_shown(str(current))} redirects to {_shown(str(target))}, not an http(s) link.",
        )
    return checked_url(str(target))


def _article(
    response: httpx.Response,
    url: httpx.URL,
    requested: httpx.URL,
    policy: FetchPolicy,
    started: float,
) -> Fetched:
    shown = _shown(str(url))
    if not response.is_success:
        raise ArticleRefused(
            "unreachable",
            f"{shown} answered {response.status_code} {response.reason_phrase}".rstrip() + ".",
        )
    content_type = response.headers.get("content-type")
    name = _name(url)
    suffix = article_suffix(content_type, name, name_first=False)
    if suffix is None:
        media = (content_type or "").split(";", 1)[0].strip() or "a page without a Content-Type"
        raise unsupported(f"{shown} is {media}, which")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_big(shown, int(declared), policy.max_bytes)
    body = bytearray()
    for chunk in response.iter_bytes(CHUNK_BYTES):
        body += chunk
        if len(body) > policy.max_bytes:
            raise too_big(shown, None, policy.max_bytes)
        if time.monotonic() - started > policy.deadline_seconds:
            raise ArticleRefused(
                "unreachable", f"{shown} took longer than {policy.deadline_seconds:.0f} s to send."
            )
    data = bytes(body)
    if suffix in TEXT_FORMATS:
        data = _as_utf8(data, response.charset_encoding)
    return Fetched(data=data, suffix=suffix, url=str(url), requested=str(requested), name=name)


def _as_utf8(data: bytes, charset: str | None) -> bytes:
    """Text in the charset its server declared, as UTF-8 (what the readers read)."""
    if not charset:
        return data
    try:
        data.decode("utf-8")
        return data  # UTF-8 already, whatever the header says
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return data  # the reader says what is wrong with it


def _name(url: httpx.URL) -> str:
    parts = [p for p in unquote(url.path).split("/") if p]
    return parts[-1] if parts else url.host


def _unreachable(url: httpx.URL, exc: httpx.HTTPError) -> ArticleRefused:
    import httpx

    shown = _shown(str(url))
    if isinstance(exc, httpx.TimeoutException):
        why = "it did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        why = f"the connection failed ({_first_line(exc) or type(exc).__name__})"
    else:
        why = f"the transfer failed ({type(exc).__name__})"
    return ArticleRefused("unreachable", f"{shown} cannot be fetched: {why}.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:SHOWN_URL_CHARS] if text else ""


def _shown(url: str) -> str:
    url = " ".join(url.split())
    return url if len(url) <= SHOWN_URL_CHARS else url[: SHOWN_URL_CHARS - 1] + "…"
