"""The stand-in itself: Telegram's HTML rules, wrong tokens, and the loopback-only guard."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import ALICE
from tests.support.telegram.telegram_html import HtmlError, telegram_html
from tests.test_imports import import_cycles, import_graph


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("<b>a</b> &lt;b&gt; &amp; &quot;", 'a <b> & "'),
        ('<blockquote>q</blockquote>\n<a href="https://x.org/?a=1&amp;b=2">t</a>', "q\nt"),
        ("&#128512; &#x1F600;", "😀 😀"),
    ],
)
def test_valid_html(text: str, visible: str) -> None:
    assert telegram_html(text).visible == visible


@pytest.mark.parametrize(
    "text",
    ["a < b", "a & b", "<script>x</script>", "<b>open", "<b><i>x</b></i>", "&nbsp;", "x > y"],
)
def test_html_telegram_refuses(text: str) -> None:
    with pytest.raises(HtmlError):
        telegram_html(text)


async def test_wrong_token_and_unknown_method() -> None:
    async with BotApiStandIn() as api, httpx.AsyncClient() as client:
        wrong = await client.post(f"{api.base_url}0:wrong/getMe")
        unknown = await client.post(f"{api.base_url}{api.token}/noSuchMethod")
        me = await client.post(f"{api.base_url}{api.token}/getMe")
    assert wrong.status_code == 401 and unknown.status_code == 404
    assert me.json()["result"]["username"] == api.username


async def test_files_sent_are_served_as_telegram_serves_them() -> None:
    """getFile tells the path; the bytes come from /file/bot<token>/<path>, to that token only."""
    async with BotApiStandIn() as api, httpx.AsyncClient() as client:
        sent = api.send_document(ALICE, b"an article", "a.txt", "text/plain")
        file_id = sent["document"]["file_id"]
        found = await client.post(f"{api.base_url}{api.token}/getFile", data={"file_id": file_id})
        unknown = await client.post(f"{api.base_url}{api.token}/getFile", data={"file_id": "x"})
        path = found.json()["result"]["file_path"]
        files = api.base_url.replace("/bot", "/file/bot")
        data = await client.get(f"{files}{api.token}/{path}")
        wrong = await client.get(f"{files}0:wrong/{path}")
    assert sent["document"] == {
        "file_id": file_id,
        "file_unique_id": sent["document"]["file_unique_id"],
        "file_size": 10,
        "file_name": "a.txt",
        "mime_type": "text/plain",
    }
    assert path.endswith(".txt") and unknown.status_code == 400
    assert data.content == b"an article" and wrong.status_code == 404
    assert [r.status for r in api.downloads()] == [200, 404]


def test_only_loopback_connections_are_allowed() -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="blocked"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed anyway


def test_the_standin_modules_import_no_cycle() -> None:
    """The stand-in's modules import one another in one direction only (they had a cycle)."""
    root = Path(__file__).resolve().parents[3]
    folder = root / "tests" / "support" / "telegram"
    files = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted(folder.glob("*.py"))
    }
    graph = import_graph(files)
    assert graph["tests.support.telegram.botapi_standin"]  # the walk sees the imports
    assert import_cycles(graph) == []
