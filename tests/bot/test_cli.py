"""The ``verbatim`` command line through ``bot.cli.main``: real engine, real index."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from bot import cli
from bot.chat import ASK_FIRST, STARTED_AFRESH, chat
from bot.render_text import CONTEXT_NOTE, UNSURE_NOTE, render_answer, terminal_safe
from bot.settings import Settings
from embeddings import DEFAULT_MODEL, Encoder
from retrieval.config import EngineSettings, new_encoder
from retrieval.engine import Engine
from retrieval.index.build import build_index
from retrieval.types import Answer, Quote, Source
from tests.support.articles import ARTICLE_TITLE, ArticleServer, Page, html_page, text_page
from tests.support.german import GERMAN_ARTICLES
from tests.support.milvus import MilvusServer

REPO = Path(__file__).resolve().parents[2]
#: Modules that must never load for ``verbatim ask`` (the answering path runs on ONNX).
HEAVY_MODULES = ("torch", "transformers", "sentence_transformers")
#: An article whose text and metadata carry terminal control sequences.
HOSTILE_ARTICLE = {
    "id": "owls",
    "title": "Grey owls \x1b]0;pwned\x07 at night \x9b2J",
    "date": "2020\x1b[2J",
    "text": (
        "Grey owls nest in \x1b[31mold pine trees\x1b[0m by the river\x9b1m. They hunt at dusk."
    ),
}


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


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_a_question_that_is_no_question_exits_2_with_the_reason(
    seeds_index: Path, question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ask", question, "--index", str(seeds_index)]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("verbatim: ")
    assert cli.main(["ask", question, "--index", str(seeds_index), "--json"]) == cli.EXIT_USAGE
    assert json.loads(capsys.readouterr().out)["status"] == "invalid_question"


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


def test_chat_answers_a_follow_up_in_context_until_new(seeds_engine: Engine) -> None:
    first = "Which forces recaptured six districts of eastern Mosul?"
    followup = "When did they do that?"
    stdin = io.StringIO(f"{first}\n{followup}\n/more\n/new\n/more\n{followup}\n")
    stdout = io.StringIO()
    assert chat(seeds_engine, stdin, stdout) == 0
    out = stdout.getvalue()
    note = CONTEXT_NOTE.format(question=first)
    in_context, afresh = out.split(STARTED_AFRESH)
    assert in_context.count(note) == 2  # the follow-up and its /more
    answer = in_context.split(note)[1]
    assert "Peshmerga" in answer and "Friday" in answer
    assert note not in afresh
    assert afresh.count(ASK_FIRST) == 1  # /new forgot the last question too
    assert afresh.strip().endswith(render_answer(seeds_engine.answer(followup)).strip())


def _control_characters(text: str) -> list[str]:
    """The control characters in ``text`` other than line breaks."""
    return [ch for ch in text if unicodedata.category(ch) == "Cc" and ch != "\n"]


@pytest.fixture(scope="module")
def hostile_index(
    tmp_path_factory: pytest.TempPathFactory, engine_settings: EngineSettings, encoder: Encoder
) -> Path:
    """An index of one article carrying ANSI escapes in its text, title and date."""
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "owls.jsonl").write_text(json.dumps(HOSTILE_ARTICLE) + "\n", encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("hostile-index")
    build_index(corpus, index_dir, engine_settings, encoder=encoder)
    return index_dir


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "Where do grey owls nest?"],
        ["ask", "How do I bake sourdough bread?"],  # a decline names the titles
        ["sources"],
    ],
)
def test_terminal_output_shows_control_characters_as_escapes(
    hostile_index: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9: ANSI escapes from article text reached the terminal."""
    assert cli.main([*argv, "--index", str(hostile_index)]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == []
    assert "\\x1b]0;pwned\\x07" in out  # the title, visibly escaped


def test_terminal_quote_escapes_but_json_stays_verbatim(
    hostile_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = ["ask", "Where do grey owls nest?", "--index", str(hostile_index)]
    assert cli.main(question) == 0
    assert "\\x1b[31mold pine trees\\x1b[0m" in capsys.readouterr().out
    assert cli.main([*question, "--json"]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == []  # JSON escapes them all, C1 (\x9b) included
    quote = json.loads(out)["quotes"][0]
    assert "\x1b[31mold pine trees\x1b[0m by the river\x9b1m" in quote["text"]  # verbatim
    assert quote["source"]["title"] == HOSTILE_ARTICLE["title"]
    assert cli.main(["sources", "--json", "--index", str(hostile_index)]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == []
    assert json.loads(out)[0]["source"]["title"] == HOSTILE_ARTICLE["title"]


def test_chat_shows_control_characters_as_escapes(
    hostile_index: Path, engine_settings: EngineSettings, encoder: Encoder
) -> None:
    engine = Engine.open(hostile_index, engine_settings, encoder=encoder)
    stdout = io.StringIO()
    try:
        chat(engine, io.StringIO("Where do grey owls nest?\n/sources\n"), stdout)
    finally:
        engine.close()
    assert _control_characters(stdout.getvalue()) == []
    assert "\\x1b[31m" in stdout.getvalue()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("bell\x07 and csi \x9b2J", "bell\\x07 and csi \\x9b2J"),
        ("tab\tand\nnewline\rreturn\x7f", "tab\\x09and\\x0anewline\\x0dreturn\\x7f"),
        ("Ünïcödé, emoji 🦉 and right-to-left שלום", "Ünïcödé, emoji 🦉 and right-to-left שלום"),
    ],
)
def test_terminal_safe_escapes_control_characters_only(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


def test_a_quote_keeps_its_line_breaks_in_the_terminal() -> None:
    source = Source(id="a.txt")
    quote = Quote(
        text="First line.\nSecond\x1b[2J line.",
        start=0,
        end=29,
        source=source,
        first_sentence=0,
        last_sentence=1,
        score=0.9,
    )
    shown = render_answer(Answer(question="q", status="answered", quotes=(quote,), relevance=0.9))
    assert "First line.\n    Second\\x1b[2J line." in shown


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["ask", "Who?", "-k", "0"], {}, "-k: Input should be greater than or equal to 1 (got 0)"),
        (["ask", "Who?", "-k", "99"], {}, "-k: Input should be less than or equal to 20"),
        (["ask", "Who?"], {"VERBATIM_TOP_K": "many"}, "VERBATIM_TOP_K"),
        (["sources"], {"VERBATIM_MIN_RELEVANCE": "high"}, "VERBATIM_MIN_RELEVANCE"),
        (["sources"], {"VERBATIM_ALLOWED_USER_IDS": "1,me"}, "VERBATIM_ALLOWED_USER_IDS"),
        (["ask", "Who?"], {"VERBATIM_ENCODER_SPIN": "sometimes"}, "VERBATIM_ENCODER_SPIN"),
        (["ask", "Who?"], {"VERBATIM_ENCODER_QUESTIONS": "fast"}, "VERBATIM_ENCODER_QUESTIONS"),
    ],
)
def test_bad_settings_are_one_clear_line(
    seeds_index: Path,
    argv: list[str],
    env: dict[str, str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9: `-k 0` printed pydantic's raw multi-line dump."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main([*argv, "--index", str(seeds_index)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("verbatim: ") and err.count("\n") == 1
    assert expected in err
    assert "pydantic" not in err and "validation error" not in err


@pytest.mark.parametrize(("value", "spin"), [(None, True), ("0", False), ("off", False)])
def test_the_spin_setting_reaches_the_encoder(
    monkeypatch: pytest.MonkeyPatch, value: str | None, spin: bool
) -> None:
    if value is None:
        monkeypatch.delenv("VERBATIM_ENCODER_SPIN", raising=False)
    else:
        monkeypatch.setenv("VERBATIM_ENCODER_SPIN", value)
    assert new_encoder(Settings().engine()).spin is spin


@pytest.mark.parametrize(("value", "lean"), [(None, True), ("lean", True), ("same", False)])
def test_the_question_model_setting_reaches_the_encoder(
    monkeypatch: pytest.MonkeyPatch, value: str | None, lean: bool
) -> None:
    if value is None:
        monkeypatch.delenv("VERBATIM_ENCODER_QUESTIONS", raising=False)
    else:
        monkeypatch.setenv("VERBATIM_ENCODER_QUESTIONS", value)
    assert new_encoder(Settings().engine()).lean_questions is lean


def _run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Python on ``args`` in the repository, offline, with ``env`` added to the environment."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_broken_subcommand_module_fails_loudly() -> None:
    """Issue 9: an ImportError in a subcommand's module silently dropped the command."""
    code = (
        "import sys\n"
        "sys.modules['bot.feedback_cmd'] = None  # importing it now raises ImportError\n"
        "from bot import cli\n"
        "cli.build_parser()\n"
    )
    done = _run_python("-c", code)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(("ImportError", "ModuleNotFoundError")) and "bot.feedback_cmd" in last


def test_every_subcommand_is_there() -> None:
    commands = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {
        "index",
        "ask",
        "chat",
        "sources",
        "run",
        "eval",
        "eval-followups",
        "serve",
        "feedback",
    }


def test_ask_never_imports_torch(seeds_index: Path, encoder: Encoder) -> None:
    encoder.load()  # the ONNX file is cached from here on
    done = _run_python(
        "-X",
        "importtime",
        "-m",
        "bot.cli",
        "ask",
        "Who is Lynn Maalouf?",
        "--index",
        str(seeds_index),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Lynn Maalouf" in done.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "onnxruntime" in imported  # the check sees the answering path's imports
    assert imported.isdisjoint(HEAVY_MODULES)


def test_a_reader_that_goes_away_is_no_traceback(seeds_index: Path) -> None:
    """`verbatim sources | head -1`: the pipe closes before the output is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sources", "--index", str(seeds_index)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # before the command writes anything: it starts in a second or so
    _, err = process.communicate(timeout=120)
    assert process.returncode == cli.EXIT_BROKEN_PIPE
    assert err == ""


def test_index_and_ask_about_a_pdf_cite_its_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.pdf_article import HEADING, PARAGRAPHS
    from tests.support.pdfs import article_pdf

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    article_pdf(corpus / "vellmar.pdf", PARAGRAPHS, heading=HEADING)
    assert cli.main(["index", str(corpus), "--index", str(index)]) == 0
    question = "How many salmon were counted in 2018?"
    assert cli.main(["ask", question, "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert f"— {HEADING} — 2000-01-01 (vellmar.pdf), p. 2, sentence" in out
    assert cli.main(["ask", question, "--index", str(index), "--json", "-k", "1"]) == 0
    (quote,) = json.loads(capsys.readouterr().out)["quotes"]
    assert quote["pages"] == [2, 2] and "1,460 adult salmon" in quote["text"]


@pytest.fixture
def one_seed_corpus(
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Path]:
    """A corpus folder of one seed, indexed, named by VERBATIM_CORPUS; (corpus, index)."""
    corpus, index_dir = tmp_path / "articles", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(sorted((REPO / "seeds").glob("*.txt"))[0], corpus)
    build_index(corpus, index_dir, engine_settings, encoder=encoder)
    monkeypatch.setenv("VERBATIM_CORPUS", str(corpus))
    return corpus, index_dir


def test_index_url_adds_the_article_to_the_corpus(
    one_seed_corpus: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, index_dir = one_seed_corpus
    with ArticleServer() as server:
        server.pages["/ferry.html"] = html_page()
        url = server.url("/ferry.html")
        argv = ["index", url, "--index", str(index_dir), "-q"]
        assert cli.main([*argv, "--allow-private"]) == 0
        out, err = capsys.readouterr()
        assert out.startswith(f"Added “{ARTICLE_TITLE}” ({url}): ") and "sentences" in out
        assert err == ""  # an English article in an English index: no warning
        (saved,) = (corpus / "received").glob("*.html")
        assert saved.read_text(encoding="utf-8") == server.pages["/ferry.html"].body.decode()

        assert cli.main([*argv, "--allow-private"]) == cli.EXIT_USAGE  # the same link again
        err = capsys.readouterr().err
        assert err.startswith("verbatim: ") and err.count("\n") == 1 and "indexed already" in err
    assert cli.main(["sources", "--index", str(index_dir), "--json"]) == 0
    listed = {
        item["source"]["id"]: item["source"]["url"] for item in json.loads(capsys.readouterr().out)
    }
    assert listed[f"received/{saved.name}"] == url


def test_index_url_warns_in_one_line_when_the_article_does_not_fit_the_language(
    one_seed_corpus: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A German page added to the English index of the default model: added, and one line on
    stderr says it does not look English (as ``verbatim index`` says of a corpus)."""
    _, index_dir = one_seed_corpus
    with ArticleServer() as server:
        server.pages["/glocken.txt"] = text_page(GERMAN_ARTICLES["muehlheim.txt"])
        argv = ["index", server.url("/glocken.txt"), "--index", str(index_dir), "-q"]
        assert cli.main([*argv, "--allow-private"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Added “Die neuen Glocken von St. Marien”")
    (line,) = err.splitlines()
    assert line.startswith("Warning: this article does not look English") and DEFAULT_MODEL in line


@pytest.mark.parametrize(
    ("path", "allow", "expected"),
    [
        ("/ferry.html", False, "loopback address"),
        ("/missing", True, "404 Not Found"),
        ("/picture", True, "image/png"),
    ],
    ids=["loopback", "404", "unsupported"],
)
def test_index_url_refusals_are_one_line(
    one_seed_corpus: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    path: str,
    allow: bool,
    expected: str,
) -> None:
    corpus, index_dir = one_seed_corpus
    with ArticleServer() as server:
        server.pages["/ferry.html"] = html_page()
        server.pages["/picture"] = Page(b"\x89PNG", "image/png")
        argv = ["index", server.url(path), "--index", str(index_dir)]
        assert cli.main(argv + (["--allow-private"] if allow else [])) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("verbatim: ") and err.count("\n") == 1 and expected in err
    assert list((corpus / "received").glob("*")) == []  # nothing saved


def test_the_operator_may_allow_private_addresses_in_the_environment(
    one_seed_corpus: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, index_dir = one_seed_corpus
    monkeypatch.setenv("VERBATIM_FETCH_ALLOW_PRIVATE", "1")
    with ArticleServer() as server:
        server.pages["/palms.txt"] = text_page()
        assert cli.main(["index", server.url("/palms.txt"), "--index", str(index_dir), "-q"]) == 0
    assert capsys.readouterr().out.startswith("Added “Date palms of Basra")


@pytest.mark.slow
def test_ask_with_the_store_server_down_says_so_in_one_line(
    seeds_index: Path, mirrored_seeds: EngineSettings, milvus_server: MilvusServer
) -> None:
    """The Milvus server killed: ``verbatim ask`` prints one line naming it and fails."""
    milvus_server.kill()
    env = {
        "VERBATIM_CONFIG": str(seeds_index / "absent.toml"),
        "VERBATIM_STORE": "milvus",
        "VERBATIM_MILVUS_URI": milvus_server.uri,
        "VERBATIM_MILVUS_PREFIX": mirrored_seeds.milvus_prefix,
    }
    done = _run_python(
        "-m", "bot.cli", "ask", "Who is Lynn Maalouf?", "--index", str(seeds_index), env=env
    )
    assert done.returncode == cli.EXIT_USAGE
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr  # no log lines, no traceback
    assert done.stderr.startswith(
        f"verbatim: Cannot reach the Milvus server at {milvus_server.uri}"
    )


def test_an_unsure_answer_says_so_above_its_quotes() -> None:
    quote = Quote(
        text="Mosul lies on the Tigris.",
        start=0,
        end=25,
        source=Source(id="a.txt"),
        first_sentence=0,
        last_sentence=0,
        score=0.1,
    )
    sure = Answer(question="q", status="answered", quotes=(quote,), relevance=0.9)
    unsure = sure.model_copy(update={"uncertain": True, "relevance": 0.1})
    assert UNSURE_NOTE not in render_answer(sure)
    shown = render_answer(unsure)
    assert shown.startswith(UNSURE_NOTE) and "Mosul lies on the Tigris." in shown
    assert shown.index(UNSURE_NOTE) < shown.index("[1]")
