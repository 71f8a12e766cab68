"""``verbatim eval-followups`` through the real command line: the table, the report, bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.eval_cmd import EvalInputError, cache_dir
from bot.followups_cmd import corpus_flags
from embeddings import DEFAULT_MODEL, Encoder
from retrieval.index.manifest import MANIFEST_FILE

TINY_SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Grey_Owls",
            "paragraphs": [
                {
                    "context": (
                        "Grey owls nest in old pine trees near the Kettle River. They were "
                        "first described by the naturalist Ada Brook in 1821."
                    ),
                    "qas": [
                        {
                            "id": "o1",
                            "question": "Where do grey owls nest?",
                            "answers": [{"text": "old pine trees", "answer_start": 18}],
                            "is_impossible": False,
                        }
                    ],
                }
            ],
        }
    ],
}
PAIRS = [
    {
        "id": "s1",
        "corpus": "seeds",
        "first": "Which forces recaptured six districts of eastern Mosul?",
        "followup": "When did they do that?",
        "answers": ["Friday"],
    },
    {
        "id": "q1",
        "corpus": "owls",
        "first": "Where do grey owls nest?",
        "followup": "Who first described them?",
        "answers": ["Ada Brook"],
    },
]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command in an empty folder: the eval cache lands there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERBATIM_CONFIG", raising=False)


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in PAIRS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def owls(tmp_path: Path) -> Path:
    path = tmp_path / "owls.json"
    path.write_text(json.dumps(TINY_SQUAD), encoding="utf-8")
    return path


def test_it_prints_a_row_per_corpus_and_writes_the_report(
    seeds_index: Path, pairs_file: Path, owls: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "followups.json"
    code = main(
        [
            "eval-followups",
            str(pairs_file),
            "--index",
            f"seeds={seeds_index}",
            "--corpus",
            f"owls={owls}",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[1:4]] == ["owls", "seeds", "all"]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["all"]["pairs"] == 2
    assert report["summary"]["seeds"]["hit_at_1_context"] == 1.0
    assert set(report["settings"]["indexes"]) == {"owls", "seeds"}
    by_id = {row["id"]: row for row in report["pairs"]}
    assert by_id["s1"]["context_question"] == PAIRS[0]["first"]
    assert by_id["q1"]["context_question"] == PAIRS[1]["first"]
    assert by_id["q1"]["rank_context"] == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "no index was named for it: add --index owls=DIR or --corpus owls=PATH"),
        (["--index", "owls"], "write it as --index NAME=PATH"),
        (["--index", "owls=/x", "--corpus", "owls=/y"], "has both --index and --corpus"),
        (["--index", "owls=/x", "--index", "birds=/y"], "no pair is about corpus 'birds'"),
        (["--corpus", "owls=/no/such/corpus"], "No corpus at /no/such/corpus"),
    ],
)
def test_bad_flags_are_refused_with_a_message(
    seeds_index: Path,
    pairs_file: Path,
    flags: list[str],
    message: str,
    capsys: pytest.CaptureFixture,
) -> None:
    args = ["eval-followups", str(pairs_file), "--index", f"seeds={seeds_index}", *flags]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_corpus_named_twice_is_refused() -> None:
    with pytest.raises(EvalInputError, match="names corpus 'a' twice"):
        corpus_flags(["a=/x", "a=/y"], "--index")


def test_it_uses_the_configured_encoder(
    tmp_path: Path, owls: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The index is built and asked with VERBATIM_ENCODER's encoder, as users' answers are (the
    command once built it with the default one and then refused its own index)."""
    monkeypatch.setenv("VERBATIM_ENCODER", "onnx")
    pairs = tmp_path / "owl-pairs.jsonl"
    pairs.write_text(json.dumps(PAIRS[1]) + "\n", encoding="utf-8")
    assert main(["eval-followups", str(pairs), "--corpus", f"owls={owls}"]) == 0, (
        capsys.readouterr().err
    )
    manifest = json.loads((cache_dir(owls, DEFAULT_MODEL) / MANIFEST_FILE).read_text())
    assert manifest["model"]["variant"] == Encoder(backend="onnx").variant
