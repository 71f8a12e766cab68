"""``verbatim serve`` through the real command line: fail-fast messages and clean shutdown.

The shutdown tests run ``verbatim serve`` as a process against the stand-in, hold an answer
in flight (the stand-in delays the "typing" call), send SIGTERM or SIGINT (Ctrl-C), and
check that the answer is still sent and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.serve_cmd import QUIET_LOGGERS
from tests.support.telegram.botapi_standin import BotApiStandIn
from tests.support.telegram.harness import ALICE, SEED_QUESTION, quotes_in, text_of

VERBATIM = Path(sys.executable).parent / "verbatim"
STARTUP_SECONDS = 120.0
SHUTDOWN_SECONDS = 60.0


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No token, base URL or .env from the developer's environment; cwd is a scratch folder."""
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "VERBATIM_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERBATIM_FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    return tmp_path


def test_missing_token_fails_fast(
    clean_env: Path, seeds_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No token: one clear line naming TELEGRAM_BOT_TOKEN, exit code 2."""
    assert main(["serve", "--index", str(seeds_index)]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN is not set" in err and "Traceback" not in err


async def test_rejected_token_fails_fast_without_showing_it(
    clean_env: Path,
    seeds_index: Path,
    standin: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token Telegram refuses (401): a clear message, and the token appears nowhere."""
    wrong = "7000001:this-token-is-WRONG-and-secret"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", standin.base_url)
    code = await asyncio.to_thread(main, ["serve", "--index", str(seeds_index), "-v"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Telegram rejected the bot token" in err
    assert [r.status for r in standin.requests] == [401]
    secret = wrong.split(":", 1)[1]
    assert secret not in err and secret not in caplog.text


async def test_missing_index_names_the_command(
    clean_env: Path,
    standin: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No index: the message says which command builds it; exit code 2."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", standin.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", standin.base_url)
    missing = clean_env / "no-index-here"
    code = await asyncio.to_thread(main, ["serve", "--index", str(missing)])
    err = capsys.readouterr().err
    assert code == 2
    assert "verbatim index" in err and str(missing) in err


async def test_unreachable_api_fails_fast(
    clean_env: Path,
    seeds_index: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing listening at the Bot API URL: exit code 1 and a message naming the URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/bot"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "7000001:unused-token-value")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", url)
    code = await asyncio.to_thread(main, ["serve", "--index", str(seeds_index)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"Could not reach the Telegram Bot API at {url}" in err


async def test_serve_leaves_logging_as_it_found_it(
    clean_env: Path,
    seeds_index: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """serve quiets httpx and httpcore while it runs, and gives them their levels back after."""
    for name in QUIET_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "7000001:unused-token-value")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{port}/bot")
    assert await asyncio.to_thread(main, ["serve", "--index", str(seeds_index)]) == 1
    assert [logging.getLogger(name).level for name in QUIET_LOGGERS] == [logging.DEBUG] * len(
        QUIET_LOGGERS
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
async def test_signal_finishes_the_answer_in_flight(
    standin: BotApiStandIn, seeds_index: Path, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """Stopping while an answer is being prepared: it is still sent, then a clean exit 0."""
    heartbeat = tmp_path / "heartbeat"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TELEGRAM_BOT_TOKEN": standin.token,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "VERBATIM_INDEX_DIR": str(seeds_index),
        "VERBATIM_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        "VERBATIM_HEARTBEAT_FILE": str(heartbeat),
        "VERBATIM_CONFIG": str(tmp_path / "absent.toml"),
    }
    process = await asyncio.create_subprocess_exec(
        str(VERBATIM), "serve", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await standin.wait_for(
            lambda: standin.calls("getUpdates", delivered=False), timeout=STARTUP_SECONDS
        )
        for _ in range(100):  # the heartbeat is written just after polling starts
            if heartbeat.exists():
                break
            await asyncio.sleep(0.1)
        assert heartbeat.exists()
        standin.fail("sendChatAction", "delay", seconds=2.0)  # keeps the answer in flight
        asked = standin.send(ALICE, SEED_QUESTION)
        await standin.wait_for(lambda: standin.calls("sendChatAction", delivered=False))
        process.send_signal(stop_signal)
        reply = await standin.reply_to(asked, timeout=SHUTDOWN_SECONDS)
        code = await asyncio.wait_for(process.wait(), SHUTDOWN_SECONDS)
    except (AssertionError, TimeoutError) as exc:
        process.kill()
        await process.wait()
        assert process.stderr is not None
        output = (await process.stderr.read()).decode()
        raise AssertionError(f"verbatim serve did not behave; its stderr:\n{output}") from exc
    finally:
        if process.returncode is None:  # never leave the server running
            process.kill()
            await process.wait()
    assert process.stderr is not None
    err = (await process.stderr.read()).decode()
    assert code == 0, err
    assert quotes_in(text_of(reply))
    assert "is running (polling)" in err and "verbatim serve: stopped" in err
    assert "Traceback" not in err
    assert not heartbeat.exists()


async def test_webhook_port_in_use_fails_fast(
    clean_env: Path,
    seeds_index: Path,
    standin: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Webhook mode with its port taken: a message naming the address, exit code 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for name, value in {
            "TELEGRAM_BOT_TOKEN": standin.token,
            "TELEGRAM_API_BASE_URL": standin.base_url,
            "VERBATIM_WEBHOOK_URL": f"https://bot.example.org:{port}/hook",
            "VERBATIM_WEBHOOK_LISTEN": "127.0.0.1",
            "VERBATIM_WEBHOOK_PORT": str(port),
        }.items():
            monkeypatch.setenv(name, value)
        code = await asyncio.to_thread(main, ["serve", "--index", str(seeds_index)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"Could not listen for webhook updates on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
