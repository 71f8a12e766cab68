"""Test doubles for the bot's tests and benchmarks: a local stand-in for the Telegram Bot API.

Lives under ``tests/`` so that neither the wheel nor the Docker image ships it; it needs the
test extras (``pip install -e '.[test]'``, for aiohttp). Import it as
``tests.support.telegram`` (tests run with the repository root on ``sys.path``; benchmarks run
as ``python -m benchmarks...`` from the root).

Modules, each importing only those before it: ``updates`` (Bot API JSON builders),
``telegram_html`` (Telegram's HTML rules), ``transcript`` (a readable record),
``botapi_methods`` (the methods and their checks), ``botapi_standin`` (the HTTP server),
``harness`` (people, chats and readers of replies shared by tests and benchmarks).
"""
