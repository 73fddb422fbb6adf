"""`train` -> checkpoint -> `load_default_ranker` -> `recommend`, and `eval ranker`, on a catalog on disk."""

from __future__ import annotations

import csv

import pytest
from ranking_synthetic import make_synthetic
from recassist.foundation.catalog import load_catalog
from recassist.foundation.settings import Settings
from recassist.ranking import UserQuery, load_default_ranker
from recassist.ranking.cli import main
from recassist.ranking.storage import CheckpointError

FAST = ["--max-epochs", "4", "--eval-every", "2", "--hidden", "16", "--blocks", "1", "--max-len", "12",
        "--threads", "1", "--no-text", "--no-progress"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A recassist-format catalog folder (the synthetic data) and a data dir, both in tmp_path."""
    synth = make_synthetic()
    cat = tmp_path / "catalog"
    cat.mkdir()
    with (cat / "items.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "genres"])
        for it in synth.catalog.items.values():
            w.writerow([it.item_id, it.title, "|".join(it.genres)])
    with (cat / "interactions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "value", "timestamp"])
        for x in synth.catalog.interactions:
            w.writerow([x.user_id, x.item_id, x.value, x.timestamp])
    monkeypatch.setenv("RECASSIST_CATALOG_DIR", str(cat))
    monkeypatch.setenv("RECASSIST_DATA_DIR", str(tmp_path / "data"))
    return Settings()


def test_train_then_serve(env: Settings, capsys) -> None:
    catalog = load_catalog(env.catalog_dir)
    with pytest.raises(CheckpointError, match="recassist train"):
        load_default_ranker(env, catalog)
    assert main(["train", *FAST]) == 0
    assert "validation NDCG@10" in capsys.readouterr().out
    ranker = load_default_ranker(env, catalog)
    ids, scores = ranker.recommend(UserQuery(history=["c3i2", "c3i3"]), N=3)
    assert len(ids) == 3 and "c3i2" not in ids
    # Resuming with a different model size is refused with a message (exit code 2 at the edge).
    assert main(["train", *FAST, "--resume", "--hidden", "8"]) == 2
    assert "another config" in capsys.readouterr().err


def test_eval_ranker_prints_one_table(env: Settings, capsys) -> None:
    # One model keeps it quick: each model runs in its own fresh process.
    assert main(["eval", "ranker", "--models", "popularity", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NDCG@10" in out and "popularity" in out
    assert main(["eval", "ranker", "--models", "nope"]) == 2


def test_prepare_resumes_an_interrupted_training(env: Settings, capsys) -> None:
    """`recassist demo` stopped while the ranker trains (Ctrl+C): the next start continues that run,
    with the config it was started with, instead of serving half an ensemble."""
    from dataclasses import replace

    from recassist.assistant.conversation.prepare import prepare
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.ranking.data import all_for_training
    from recassist.ranking.sasrec_ckpt import read_checkpoint, training_finished
    from recassist.ranking.sasrec_model import SASRecConfig
    from recassist.ranking.sasrec_train import train
    from recassist.ranking.serving import default_checkpoint

    cfg = SASRecConfig(max_len=12, hidden=16, blocks=1, max_epochs=4, eval_every=2, use_text=False, threads=1,
                       members=2)
    env.ensure_dirs()
    path = default_checkpoint(env)

    def stop_in_second_member(row: dict) -> None:
        if row["member"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(all_for_training(load_catalog_cached(str(env.catalog_dir))), cfg, checkpoint=path,
              on_eval=stop_in_second_member)
    assert not training_finished(read_checkpoint(path))
    report = prepare(env, progress=False, train_config=replace(cfg, hidden=8))
    ck = read_checkpoint(path)
    assert "trained" in report.ranker and training_finished(ck)
    assert len(ck["models"]) == 2 and ck["config"].hidden == 16
    capsys.readouterr()
    assert "reused" in prepare(env, progress=False, train_config=cfg).ranker
    assert "another recipe" not in capsys.readouterr().err
    assert "reused" in prepare(env, progress=False).ranker  # today's default recipe differs: a hint, no retraining
    assert "`recassist train` retrains it" in capsys.readouterr().err


def test_a_checkpoint_with_the_older_blend_counts_as_another_recipe() -> None:
    """A ranker saved before the blend had recency-weighted EASE and transitions gets the retrain hint."""
    from recassist.assistant.conversation.prepare import outdated
    from recassist.ranking.sasrec_model import SASRecConfig

    cfg = SASRecConfig()
    current = {"config": cfg, "ease": {"lam": 200.0, "decay": 0.8, "weight": 0.05}}
    assert not outdated(current, cfg)
    assert not outdated(dict(current, ease=None), cfg)  # a blend that did not help is not outdated
    assert outdated(dict(current, ease={"lam": 50.0, "weight": 0.05}), cfg)
    assert outdated(current, SASRecConfig(hidden=32))
