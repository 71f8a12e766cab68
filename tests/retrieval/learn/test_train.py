"""Training the ranker end to end on a small SQuAD-format set written here, and its parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.evaluation.folds import load_folds
from retrieval.evaluation.gold import Question, QuestionSetError
from retrieval.learn.figures import decline_threshold
from retrieval.learn.train import assign_folds, main
from retrieval.search.ranker import load_ranker

pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

FACTS = {
    "Grey_Owls": [
        ("Grey owls nest in old pines near the river.", "Where do grey owls nest?", "old pines"),
        ("They hunt voles at dusk in open fields.", "What do grey owls hunt?", "voles"),
        ("A grey owl can live for twelve years.", "How long can a grey owl live?", "twelve years"),
    ],
    "Salt_Flats": [
        ("The salt flats shine white in July.", "When do the salt flats shine?", "July"),
        ("Tourists drive across them in old trucks.", "How do tourists cross?", "old trucks"),
        ("The flats were a lake 10,000 years ago.", "What were the flats before?", "a lake"),
    ],
    "Tide_Mills": [
        ("The tide mill at Woodbridge grinds wheat.", "What does the tide mill grind?", "wheat"),
        ("It was first recorded in 1170.", "When was the mill first recorded?", "1170"),
        ("Volunteers restored the wheel in 1982.", "Who restored the wheel?", "Volunteers"),
    ],
    "Glass_Frogs": [
        ("Glass frogs have see-through skin.", "What skin do glass frogs have?", "see-through"),
        ("They live in the cloud forests of Ecuador.", "Where do glass frogs live?", "Ecuador"),
        ("Males guard the eggs for weeks.", "Who guards the eggs?", "Males"),
    ],
}
IMPOSSIBLE = [
    "Where do grey owls spend the winter?",
    "How much salt is mined each year?",
    "Who built the tide mill at Woodbridge?",
    "What do glass frogs eat?",
]


def _squad(path: Path) -> Path:
    articles = []
    for n, (title, facts) in enumerate(FACTS.items()):
        qas = [
            {
                "id": f"{title}-{i}",
                "question": q,
                "answers": [{"text": a, "answer_start": 0}],
                "is_impossible": False,
            }
            for i, (_s, q, a) in enumerate(facts)
        ]
        qas.append(
            {"id": f"{title}-x", "question": IMPOSSIBLE[n], "answers": [], "is_impossible": True}
        )
        context = " ".join(s for s, _q, _a in facts)
        articles.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"version": "v2.0", "data": articles}))
    return path


def test_folds_are_seeded_and_cover_every_article() -> None:
    groups = [f"a{i % 7}" for i in range(50)]
    folds = assign_folds(groups, 3, seed=5)
    assert set(folds) == set(groups) and set(folds.values()) == {0, 1, 2}
    assert assign_folds(list(reversed(groups)), 3, seed=5) == folds
    assert assign_folds(groups, 3, seed=6) != folds or len(set(groups)) < 3


@pytest.mark.parametrize("share", [0.0, 0.02, 0.1, 0.5])
def test_the_threshold_declines_at_most_the_share_asked(share: float) -> None:
    values = np.random.default_rng(1).random(1000)
    threshold = decline_threshold(values, share)
    assert (values < threshold).mean() <= share
    assert (values <= threshold).mean() > share  # the highest such threshold


def test_training_writes_a_usable_reproducible_model_and_its_folds(tmp_path: Path) -> None:
    squad = _squad(tmp_path / "tiny.json")
    args = ["--squad", str(squad), "--index", str(tmp_path / "index"), "--folds", "2"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert (
        main(
            [
                *args,
                "--out",
                str(first),
                "--folds-dir",
                str(tmp_path / "folds"),
                "--plot",
                str(tmp_path / "plot.png"),
            ]
        )
        == 0
    )
    assert main([*args, "--out", str(second)]) == 0
    assert first.read_text() == second.read_text()
    ranker = load_ranker(first)
    assert ranker.answerable is not None
    assert ranker.info["held_out"]["questions"] == 16
    assert (tmp_path / "plot.png").stat().st_size > 1000
    ranker_for = load_folds(tmp_path / "folds")
    question = Question(
        id="q", question="Where do grey owls nest?", answers=("old pines",), sources=("Grey_Owls",)
    )
    assert ranker_for(question).info["fold"] in (0, 1)
    stranger = Question(id="z", question="?", sources=("Elsewhere",))
    with pytest.raises(QuestionSetError, match="none of the folds"):
        ranker_for(stranger)


def test_missing_folds_are_told_clearly(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match=r"retrieval\.learn\.train --folds-dir"):
        load_folds(tmp_path)


def test_cached_features_are_reused_only_for_the_same_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Features gathered with the documents' model must not train a model for lean questions."""
    squad = _squad(tmp_path / "tiny.json")
    cache = tmp_path / "features.npz"
    args = ["--squad", str(squad), "--index", str(tmp_path / "index"), "--folds", "2"]
    args += ["--cache", str(cache)]
    assert main([*args, "--out", str(tmp_path / "a.json")]) == 0
    assert cache.is_file() and "gathering again" not in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "b.json")]) == 0
    assert "gathering again" not in capsys.readouterr().err
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    assert load_ranker(tmp_path / "a.json").encoder["questions"] == "same"
    assert main([*args, "--questions", "lean", "--out", str(tmp_path / "c.json")]) == 0
    err = capsys.readouterr().err
    assert err.count("another encoder") == 2  # the features and the off-topic ones
    assert load_ranker(tmp_path / "c.json").encoder["questions"] == "lean"


def test_another_seed_between_two_runs_changes_nothing(tmp_path: Path) -> None:
    """Off-topic halves of other folds get their own fresh index, never one updated from the
    last split (int8 vectors depend on their batch-mates, so an update is not a rebuild)."""
    squad = _squad(tmp_path / "tiny.json")
    args = ["--squad", str(squad), "--index", str(tmp_path / "index"), "--folds", "2"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main([*args, "--out", str(first)]) == 0
    splits = {p.name for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("index-")}
    assert len(splits) == 2
    assert main([*args, "--seed", "3", "--out", str(tmp_path / "other.json")]) == 0
    assert main([*args, "--out", str(second)]) == 0
    assert first.read_text() == second.read_text()
    assert len({p.name for p in tmp_path.iterdir() if p.name.startswith("index-")}) == 4
