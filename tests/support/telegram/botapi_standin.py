"""A local stand-in for the Telegram Bot API on 127.0.0.1, recording every request it gets.

It serves ``/bot<token>/<method>`` the way Telegram does for the methods the bot uses
(getMe, getUpdates with long polling, sendMessage, editMessageText, answerCallbackQuery,
answerInlineQuery, setWebhook, getFile, ...), and the files users sent at
``/file/bot<token>/<file_path>``; it answers a wrong token with 401, and keeps the chat's
messages so tests can press the buttons under the bot's replies. With a webhook set it
POSTs updates to the bot with the secret token header, as Telegram does.

Faults are scripted per method: 429 with ``retry_after``, 5xx, 400 "can't parse entities",
a response slower than the client's timeout, or a plain delay. Every request is recorded
(``requests``) with its time, so tests assert on what the bot really sent, and a readable
transcript of the conversation is kept (``transcript``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import ClientSession, ClientTimeout, web

from tests.support.telegram import updates
from tests.support.telegram.botapi_methods import PARSE_ERROR, ApiError, BotApiMethods, StoredFile
from tests.support.telegram.transcript import Transcript
from tests.support.telegram.updates import JSONDict, User

DEFAULT_TOKEN = "7000001:standin-TOKEN-s3cr3t-value"
BOT_USERNAME = "verbatim_test_bot"
HOST = "127.0.0.1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHUTDOWN_SECONDS = 1.0
WEBHOOK_POST_SECONDS = 10.0
MAX_LONG_POLL_SECONDS = 30.0
MAX_UPDATES_PER_CALL = 100
#: How a file download shows in ``requests`` (it is no Bot API method).
DOWNLOAD = "(file download)"

#: Parameters sent as raw strings; every other form value is JSON.
STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "action",
        "callback_query_id",
        "inline_query_id",
        "url",
        "secret_token",
        "next_offset",
        "caption",
        "description",
        "language_code",
        "name",
    }
)

FaultKind = Literal["retry_after", "server_error", "parse_error", "forbidden", "timeout", "delay"]


@dataclass
class Fault:
    """A scripted failure for the next ``times`` calls of ``method`` matching ``when``."""

    method: str
    kind: FaultKind
    times: int = 1
    retry_after: int = 1
    seconds: float = 0.0
    when: Callable[[JSONDict], bool] | None = None


@dataclass
class Request:
    """One request the stand-in received, and what it answered."""

    method: str
    params: JSONDict
    at: float
    status: int = 0
    result: Any = None
    fault: FaultKind | None = None
    done: bool = False

    @property
    def delivered(self) -> bool:
        """Answered with success (what the bot sent took effect)."""
        return self.done and self.status == 200


@dataclass
class BotApiStandIn(BotApiMethods):
    """The fake Bot API server; ``async with BotApiStandIn() as api:`` starts and stops it."""

    token: str = DEFAULT_TOKEN
    username: str = BOT_USERNAME
    requests: list[Request] = field(default_factory=list)
    transcript: Transcript = field(default_factory=Transcript)
    webhook: JSONDict | None = None

    def __post_init__(self) -> None:
        self.bot_id = int(self.token.split(":", 1)[0])
        self.bot_user = User(self.bot_id, "Verbatim", self.username, is_bot=True)
        self._faults: list[Fault] = []
        self._pending: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._chats: dict[int, JSONDict] = {}
        self.messages: dict[tuple[int, int], JSONDict] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.queued_at: dict[int, float] = {}  # update_id -> perf_counter when queued
        self._answered_queries: set[str] = set()
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self.port = 0

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> BotApiStandIn:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._client = ClientSession(timeout=ClientTimeout(total=WEBHOOK_POST_SECONDS))
        return self

    async def close(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        for task in list(self._deliveries):
            task.cancel()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> BotApiStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """The ``base_url`` for python-telegram-bot (``TELEGRAM_API_BASE_URL``)."""
        return f"http://{HOST}:{self.port}/bot"

    # ---- scripting ----------------------------------------------------------------------

    def fail(self, method: str, kind: FaultKind, *, times: int = 1, **options: Any) -> Fault:
        """Script a fault for the next ``times`` calls of ``method``."""
        fault = Fault(method, kind, times, **options)
        self._faults.append(fault)
        return fault

    def send(
        self, sender: User, text: str | None = None, *, chat: JSONDict | None = None, **fields: Any
    ) -> JSONDict:
        """``sender`` writes in ``chat`` (their private chat by default); returns the message."""
        message = self.chat_message(sender, chat or updates.private_chat(sender), text, **fields)
        self.queue({"message": message})
        return message

    def send_document(
        self,
        sender: User,
        data: bytes,
        file_name: str | None,
        mime_type: str | None,
        *,
        file_size: int | None = None,
        chat: JSONDict | None = None,
    ) -> JSONDict:
        """``sender`` sends a file; ``file_size`` states another size than ``data``'s (Telegram
        states it before anyone downloads the file). Returns the message."""
        document = self.store_file(data, file_name, mime_type, file_size=file_size)
        return self.send(sender, chat=chat, document=document)

    def edit(self, message: JSONDict, text: str) -> None:
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.queue({"edited_message": edited})

    def post_in_channel(self, chat: JSONDict, text: str) -> None:
        self.queue({"channel_post": self.chat_message(None, chat, text)})

    def press(self, sender: User, message: JSONDict, data: str) -> str:
        """``sender`` presses a button with callback ``data`` under ``message``; returns the id."""
        query_id = f"cq{next(self._update_ids)}"
        query = {
            "id": query_id,
            "from": sender.to_dict(),
            "chat_instance": f"ci{message['chat']['id']}",
            "message": message,
            "data": data,
        }
        self.queue({"callback_query": query})
        return query_id

    def inline(self, sender: User, query: str) -> str:
        """``sender`` types ``@bot query`` in some chat; returns the inline query id."""
        query_id = f"iq{next(self._update_ids)}"
        payload = {"id": query_id, "from": sender.to_dict(), "query": query, "offset": ""}
        self.queue({"inline_query": payload})
        return query_id

    def queue(self, update: JSONDict) -> int:
        """Hand an update to the bot (getUpdates, or a webhook POST when one is set)."""
        update = {"update_id": next(self._update_ids), **update}
        self.queued_at[update["update_id"]] = time.perf_counter()
        self.transcript.user_update(update, self.username)
        if self.webhook is not None:
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        else:
            self._pending.append(update)
            asyncio.get_running_loop().create_task(self._notify())
        return int(update["update_id"])

    async def post_update(self, update: JSONDict, *, secret: str | None) -> int:
        """POST ``update`` to the webhook with ``secret`` in the header; returns the status."""
        assert self.webhook is not None and self._client is not None, "no webhook set"
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self._client.post(self.webhook["url"], json=update, headers=headers) as resp:
            status = resp.status
        if secret != self.webhook.get("secret_token"):
            how = "a wrong secret" if secret else "no secret"
            self.transcript.note(f"update {update['update_id']} POSTed with {how}: HTTP {status}")
        return status

    async def _deliver(self, update: JSONDict) -> None:
        assert self.webhook is not None
        status = await self.post_update(update, secret=self.webhook.get("secret_token"))
        if status != 200:
            self.transcript.note(f"webhook refused update {update['update_id']}: HTTP {status}")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- reading what the bot did --------------------------------------------------------

    def calls(self, method: str, *, delivered: bool = True) -> list[Request]:
        return [r for r in self.requests if r.method == method and (r.delivered or not delivered)]

    def replies_to(self, message: JSONDict) -> list[Request]:
        """The messages the bot sent quoting ``message``."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        return [
            r
            for r in self.calls("sendMessage")
            if r.params.get("chat_id") == chat_id
            and (r.params.get("reply_parameters") or {}).get("message_id") == message_id
        ]

    def fetched(self, update_id: int) -> bool:
        """Whether the bot has received update ``update_id`` (by getUpdates or webhook)."""
        if self.webhook is not None:
            return update_id in self.queued_at
        return any(
            update["update_id"] == update_id
            for r in self.calls("getUpdates")
            for update in r.result or []
        )

    def sent_to(self, chat_id: int) -> list[Request]:
        return [r for r in self.calls("sendMessage") if r.params.get("chat_id") == chat_id]

    async def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 20.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every request); returns it."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def reply_to(self, message: JSONDict, *, timeout: float = 20.0) -> Request:
        """The first message the bot sends quoting ``message`` (waits for it)."""
        found = await self.wait_for(lambda: self.replies_to(message), timeout=timeout)
        return found[0]

    async def settle(self, seconds: float = 0.3) -> None:
        """Wait until no request has arrived for ``seconds``."""
        while True:
            count = len(self.requests)
            await asyncio.sleep(seconds)
            if len(self.requests) == count:
                return

    def message_of(self, reply: Request) -> JSONDict:
        """The stored message a sendMessage created (to press its buttons)."""
        assert isinstance(reply.result, dict)
        return reply.result

    @staticmethod
    def buttons(message_or_request: JSONDict | Request) -> dict[str, str]:
        """Inline button labels mapped to their callback data."""
        if isinstance(message_or_request, Request):
            return updates.inline_buttons(message_or_request.params)
        return updates.inline_buttons(message_or_request)

    def downloads(self) -> list[Request]:
        """The files the bot downloaded (or tried to)."""
        return [r for r in self.requests if r.method == DOWNLOAD]

    # ---- the HTTP side -----------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        file_path = request.match_info["file_path"]
        record = Request(DOWNLOAD, {"file_path": file_path}, time.perf_counter())
        self.requests.append(record)
        await self._notify()
        stored = self.files_by_path.get(file_path)
        if request.match_info["token"] != self.token or stored is None:
            record.status, record.done = 404, True
            await self._notify()
            return web.Response(status=404, text="Not Found")
        record.status, record.done, record.result = 200, True, len(stored.data)
        self.transcript.download(stored.name, len(stored.data))
        await self._notify()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        record = Request(method, await _params(request), time.perf_counter())
        self.requests.append(record)  # its arrival is visible at once; the answer comes later
        await self._notify()
        if request.match_info["token"] != self.token:
            return await self._finish(record, 401, "Unauthorized")
        fault = self._take_fault(method, record.params)
        if fault is not None and fault.kind != "delay":
            return await self._faulty(record, fault)
        if fault is not None:
            await asyncio.sleep(fault.seconds)
        if method == "getUpdates":
            return await self._get_updates(record)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return await self._finish(record, 404, "Not Found: method not found")
        try:
            result = handler(record.params)
        except ApiError as exc:
            return await self._finish(record, exc.status, exc.description)
        return await self._finish(record, 200, result=result)

    async def _finish(
        self,
        record: Request,
        status: int,
        description: str = "",
        *,
        result: Any = None,
        **extra: Any,
    ) -> web.Response:
        record.status, record.result, record.done = status, result, True
        if record.delivered:
            chat_id = str(record.params.get("chat_id", ""))
            chat = self._chats.get(int(chat_id)) if chat_id.lstrip("-").isdigit() else None
            self.transcript.bot_request(record.method, record.params, result, chat)
        await self._notify()
        if status == 200:
            return web.json_response({"ok": True, "result": result})
        return _error(status, description, **extra)

    def _take_fault(self, method: str, params: JSONDict) -> Fault | None:
        for fault in self._faults:
            if (
                fault.method == method
                and fault.times > 0
                and (fault.when is None or fault.when(params))
            ):
                fault.times -= 1
                return fault
        return None

    async def _faulty(self, record: Request, fault: Fault) -> web.Response:
        record.fault = fault.kind
        self.transcript.note(f"stand-in answers {record.method} with a fault: {fault.kind}")
        if fault.kind == "retry_after":
            return await self._finish(
                record,
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                parameters={"retry_after": fault.retry_after},
            )
        if fault.kind == "parse_error":
            return await self._finish(record, 400, PARSE_ERROR.format(reason="scripted fault"))
        if fault.kind == "forbidden":
            return await self._finish(record, 403, "Forbidden: bot was blocked by the user")
        if fault.kind == "timeout":
            await asyncio.sleep(fault.seconds)  # the client gives up before this
            return await self._finish(record, 504, "Gateway Timeout")
        return await self._finish(record, 500, "Internal Server Error")

    async def _get_updates(self, record: Request) -> web.Response:
        if self.webhook is not None:
            conflict = "Conflict: can't use getUpdates method while webhook is active"
            return await self._finish(record, 409, conflict)
        offset = int(record.params.get("offset") or 0)
        self._pending = [u for u in self._pending if u["update_id"] >= offset]
        wait = min(float(record.params.get("timeout") or 0), MAX_LONG_POLL_SECONDS)
        if not self._pending and wait > 0 and not self._closing:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._pending) or self._closing), wait
                    )
        limit = int(record.params.get("limit") or MAX_UPDATES_PER_CALL)
        return await self._finish(
            record, 200, result=self._pending[: min(limit, MAX_UPDATES_PER_CALL)]
        )


def _error(status: int, description: str, **extra: Any) -> web.Response:
    body = {"ok": False, "error_code": status, "description": description, **extra}
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> JSONDict:
    """The call's parameters: form values (JSON-encoded unless a string field) or JSON."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    form = await request.post()
    params: JSONDict = {}
    for key, value in {**request.query, **form}.items():
        if not isinstance(value, str):
            continue
        if key in STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params
