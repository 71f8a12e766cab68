"""``verbatim eval`` through the real command line: reports, tables, corpora, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.eval_cmd import EVAL_CACHE_DIR, cache_dir, limit_questions, parse_retrievers
from embeddings import DEFAULT_MODEL, Encoder
from retrieval.config import EngineSettings
from retrieval.engine import Engine
from retrieval.evaluation.questions import Question
from retrieval.evaluation.table import CONFIGURED_MARK
from retrieval.index.manifest import MANIFEST_FILE

REPO = Path(__file__).resolve().parents[2]
SEEDS_QUESTIONS = REPO / "tests" / "data" / "seeds_questions.jsonl"
TINY_SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Grey_Owls",
            "paragraphs": [
                {
                    "context": "Grey owls nest in old pine trees. They hunt voles at dusk.",
                    "qas": [
                        {
                            "id": "o1",
                            "question": "Where do grey owls nest?",
                            "answers": [{"text": "old pine trees", "answer_start": 18}],
                            "is_impossible": False,
                        },
                        {
                            "id": "o2",
                            "question": "Who founded the owl bank?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command in an empty folder: caches and default reports land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERBATIM_CONFIG", raising=False)


@pytest.fixture
def tiny_squad(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(TINY_SQUAD), encoding="utf-8")
    return path


def test_eval_runs_retrievers_side_by_side_and_compares(
    seeds_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "first.json"
    args = ["eval", str(SEEDS_QUESTIONS), "--index", str(seeds_index), "--limit", "8"]
    assert main([*args, "--out", str(out), "--retriever", "hybrid,lexical"]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"answerable", "unanswerable", "latency_ms", "threshold_tradeoff"} <= set(report)
    assert list(report["runs"]) == ["hybrid", "lexical"]
    assert report["counts"]["questions"] == 8
    assert report["settings"]["limit"] == 8 and report["settings"]["top_k"] == 3
    lines = (tmp_path / "first.questions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["retriever"] for line in lines] == ["hybrid"] * 8 + ["lexical"] * 8
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["hybrid", "lexical"]
    assert CONFIGURED_MARK in printed
    assert f"Report: {out}" in printed

    second = tmp_path / "second.json"
    assert main([*args, "--out", str(second), "--compare", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Change against {out}" in printed
    # same engine, same questions: the quality metrics do not move
    hit_row = next(line for line in printed.splitlines() if "answerable.hit_at_1" in line)
    assert hit_row.split()[0] == "hybrid" and hit_row.split()[-1] == "+0.000"


def test_eval_of_a_squad_file_indexes_its_articles_once(
    tiny_squad: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(tiny_squad), "-k", "2", "--min-relevance", "0.1"]) == 0
    index_dir = cache_dir(tiny_squad, DEFAULT_MODEL)
    assert index_dir.parent == EVAL_CACHE_DIR
    assert (tmp_path / index_dir / MANIFEST_FILE).is_file()
    report = json.loads((tmp_path / "reports" / "eval-tiny-squad.json").read_text("utf-8"))
    assert report["counts"] == {
        "questions": 2,
        "answerable": 1,
        "unanswerable": 1,
        "with_sources": 1,
        "answered": report["counts"]["answered"],
        "not_found": report["counts"]["not_found"],
        "invalid_question": 0,
    }
    assert report["settings"]["min_relevance"] == {"hybrid": 0.1}
    assert report["settings"]["top_k"] == 2
    assert "embedding" in capsys.readouterr().err

    assert main(["eval", str(tiny_squad)]) == 0
    assert "embedding" not in capsys.readouterr().err  # unchanged corpus: nothing re-embedded


def _snapshot(index_dir: Path, settings: EngineSettings, encoder: Encoder) -> tuple[object, ...]:
    """What must not change: the manifest's bytes, the files, and the documents served."""
    engine = Engine.open(index_dir, settings, encoder=encoder)
    try:
        documents = [(item.source.id, item.sentences, item.chars) for item in engine.sources()]
    finally:
        engine.close()
    files = sorted(
        str(path.relative_to(index_dir))
        for path in index_dir.rglob("*")
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    )
    return (index_dir / MANIFEST_FILE).read_bytes(), files, documents


def test_eval_of_a_squad_file_never_replaces_another_index(
    seeds_index: Path,
    tiny_squad: Path,
    tmp_path: Path,
    engine_settings: EngineSettings,
    encoder: Encoder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9, defect 1: `eval SQUAD.json --index DIR` rebuilt DIR from the SQuAD articles."""
    index_dir = tmp_path / "seeds-index"
    shutil.copytree(seeds_index, index_dir)
    before = _snapshot(index_dir, engine_settings, encoder)
    assert len(before[2]) == 5

    assert main(["eval", str(tiny_squad), "--index", str(index_dir)]) == 2
    err = capsys.readouterr().err
    assert str(index_dir) in err and "--index" in err and "Traceback" not in err
    assert _snapshot(index_dir, engine_settings, encoder) == before


def test_eval_of_a_squad_file_builds_into_an_empty_index_folder_and_reuses_it(
    tiny_squad: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "owls-index"
    assert main(["eval", str(tiny_squad), "--index", str(index_dir)]) == 0
    assert "embedding" in capsys.readouterr().err
    assert (index_dir / MANIFEST_FILE).is_file()
    assert not EVAL_CACHE_DIR.exists()  # the named folder, not the cache
    assert main(["eval", str(tiny_squad), "--index", str(index_dir)]) == 0
    assert "embedding" not in capsys.readouterr().err  # its own articles: reused as it is


def test_eval_uses_the_configured_encoder(
    tiny_squad: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The index is built and asked with VERBATIM_ENCODER's encoder, as users' answers are (the
    command once built it with the default one and then refused its own index)."""
    monkeypatch.setenv("VERBATIM_ENCODER", "onnx")
    assert main(["eval", str(tiny_squad)]) == 0, capsys.readouterr().err
    manifest = json.loads((cache_dir(tiny_squad, DEFAULT_MODEL) / MANIFEST_FILE).read_text())
    assert manifest["model"]["variant"] == Encoder(backend="onnx").variant


def test_eval_with_a_corpus_builds_its_index_in_the_cache(tmp_path: Path) -> None:
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "owls.txt").write_text(
        "Grey owls nest in old pine trees.\n\nThey hunt voles at dusk.\n", encoding="utf-8"
    )
    questions = tmp_path / "owls.jsonl"
    record = {"id": "1", "question": "Where do owls nest?", "answers": ["pine"], "sources": []}
    questions.write_text(json.dumps(record) + "\n", encoding="utf-8")
    out = tmp_path / "owls-report.json"
    assert main(["eval", str(questions), "--corpus", str(corpus), "--out", str(out)]) == 0
    assert (tmp_path / cache_dir(corpus, DEFAULT_MODEL) / MANIFEST_FILE).is_file()
    line = json.loads((tmp_path / "owls-report.questions.jsonl").read_text("utf-8"))
    assert all(quote["source"] == "owls.txt" for quote in line["quotes"])


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--retriever", "hybrid,bm25"], "unknown retriever 'bm25'"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["-k", "0"], "-k:"),
        (["-k", "21"], "-k:"),
        (["--min-relevance", "nan"], "--min-relevance must be a number"),
        (["--index", "no-such-index"], "no-such-index"),
        (["--compare", "SEEDS"], "is not a readable JSON report"),
        (["--compare", "SQUAD"], "is not a report of `verbatim eval`"),
        (["--compare", "missing.json"], "No report at missing.json"),
    ],
)
def test_bad_flags_exit_2_with_a_message(
    extra: list[str], expected: str, tiny_squad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"SEEDS": str(SEEDS_QUESTIONS), "SQUAD": str(tiny_squad)}
    extra = [files.get(item, item) for item in extra]
    assert main(["eval", str(SEEDS_QUESTIONS), *extra]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.jsonl", None, "No question set at"),
        ("broken.jsonl", '{"question": ', "line 1 is not valid JSON"),
        ("noq.csv", "id,answers\n1,x\n", "no 'question' column"),
        ("notsquad.json", '{"articles": []}', "is not a SQuAD file"),
    ],
)
def test_bad_question_sets_exit_2_with_a_message(
    tmp_path: Path,
    name: str,
    content: str | None,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["eval", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_a_squad_file_refuses_another_corpus(
    tiny_squad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(tiny_squad), "--corpus", "seeds"]) == 2
    assert "carries its own corpus" in capsys.readouterr().err


def test_index_and_corpus_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["eval", str(SEEDS_QUESTIONS), "--index", "a", "--corpus", "b"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, ("hybrid",)),
        (["dense"], ("dense",)),
        (["dense,lexical", "hybrid"], ("dense", "lexical", "hybrid")),
        (["lexical, rrf,", "lexical"], ("lexical", "rrf")),
    ],
)
def test_parse_retrievers(values: list[str] | None, expected: tuple[str, ...]) -> None:
    assert parse_retrievers(values, "hybrid") == expected


def test_limit_spreads_questions_over_the_set() -> None:
    questions = tuple(Question(str(i), f"q{i}?") for i in range(10))
    assert [q.id for q in limit_questions(questions, 4)] == ["0", "2", "5", "7"]
    assert limit_questions(questions, 10) == questions
    assert limit_questions(questions, None) == questions


def test_cache_dir_depends_on_the_corpus_and_the_model(tmp_path: Path) -> None:
    a, b = tmp_path / "a b.json", tmp_path / "other" / "a b.json"
    assert cache_dir(a, "m") == cache_dir(a, "m")
    assert cache_dir(a, "m").name.startswith("a-b-")
    assert len({cache_dir(a, "m"), cache_dir(b, "m"), cache_dir(a, "n")}) == 3
