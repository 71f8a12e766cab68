"""Test doubles for the bot's tests and benchmarks: a local stand-in for the Telegram Bot API.

Not used by the bot itself; needs the test extras (``pip install -e '.[test]'``, for aiohttp).
"""
