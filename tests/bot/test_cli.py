"""The ``verbatim`` command line through ``bot.cli.main``: real engine, real index."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot import cli
from bot.chat import chat
from retrieval.engine import Engine

REPO = Path(__file__).resolve().parents[2]


def test_ask_json_prints_the_typed_result(
    seeds_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["ask", "Who is Lynn Maalouf?", "--index", str(seeds_index), "--json", "-k", "2"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["answered"] is True
    assert 1 <= len(result["quotes"]) <= 2
    quote = result["quotes"][0]
    assert set(quote) >= {"text", "start", "end", "score", "source"}
    assert set(quote["source"]) >= {"id", "title", "date", "url"}
    text = (REPO / "seeds" / quote["source"]["id"]).read_text(encoding="utf-8")
    assert text[quote["start"] : quote["end"]] == quote["text"]


def test_ask_json_decline_names_closest_topics(
    seeds_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["ask", "How do I bake sourdough bread?", "--index", str(seeds_index), "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["answered"] is False and result["quotes"] == []
    assert result["closest_topics"]


def test_ask_plain_text_shows_quote_and_citation(
    seeds_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ask", "Who is Lynn Maalouf?", "--index", str(seeds_index)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1]") and "Lynn Maalouf" in out and ".txt" in out


def test_sources_lists_every_article(seeds_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sources", "--index", str(seeds_index)]) == 0
    out = capsys.readouterr().out
    for path in (REPO / "seeds").glob("*.txt"):
        assert path.name in out


def test_missing_index_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ask", "Who?", "--index", str(tmp_path / "none")]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "verbatim index" in err and "Traceback" not in err


def test_index_of_missing_path_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), "-q"])
    assert code == cli.EXIT_USAGE
    assert "nope" in capsys.readouterr().err


def test_index_reports_skipped_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "seeds", corpus)
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (corpus / "empty.md").write_text("")
    code = cli.main(["index", str(corpus), "--index", str(tmp_path / "index")])
    assert code == 0
    captured = capsys.readouterr()
    assert "5 documents" in captured.out and "3 files skipped" in captured.out
    for name in ("binary.txt", "latin1.txt", "empty.md"):
        assert name in captured.err


def test_chat_reads_questions_line_by_line(seeds_engine: Engine) -> None:
    question = "What happened to civilians in Mosul?"
    first = seeds_engine.answer(question)
    assert first.has_more
    stdin = io.StringIO(f"{question}\n/more\n\nHow do I bake bread?\n/quit\nignored\n")
    stdout = io.StringIO()
    assert chat(seeds_engine, stdin, stdout) == 0
    out = stdout.getvalue()
    assert first.quotes[0].text[:40] in out
    assert f"[{len(first.quotes) + 1}]" in out  # /more continued the numbering
    assert "I couldn't find this in the articles." in out
