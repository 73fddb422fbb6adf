"""Serving in stages: the quick ranker first, the full one trained behind it, adopted only when complete."""

from __future__ import annotations

import pytest
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.settings import Settings
from recassist.ranking.sasrec_model import SASRecConfig
from recassist.ranking.serving import FullRankerWatcher, load_serving_ranker
from recassist.ranking.staged import (
    TrainerLock,
    full_model_info,
    read_status,
    staging_path,
    train_full_ranker,
)
from test_ranking_cli import env  # noqa: F401  (the catalog-on-disk fixture)

CFG = SASRecConfig(max_len=12, hidden=16, blocks=1, max_epochs=4, eval_every=2, use_text=False, threads=1,
                   members=2)


def test_quick_first_then_the_full_model_is_adopted(env: Settings) -> None:  # noqa: F811
    from recassist.ranking.staged import ensure_quick_ranker

    env.ensure_dirs()
    catalog = load_catalog_cached(str(env.catalog_dir))
    quick, note = ensure_quick_ranker(env, catalog)
    assert "fitted" in note and "reused" in ensure_quick_ranker(env, catalog)[1]
    ranker, served = load_serving_ranker(env, catalog)
    assert served["kind"] == "quick" and ranker.name == "count-blend" and served["valid_ndcg"] > 0

    adopted: list[tuple] = []
    watcher = FullRankerWatcher(env, catalog, None, lambda r, d: adopted.append((r, d)))
    assert not watcher.check()  # nothing trained yet

    # An interrupted run leaves only the staging file: never served, resumed by the next run.
    from recassist.ranking.data import all_for_training
    from recassist.ranking.sasrec_train import train

    def stop(row: dict) -> None:
        if row["member"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(all_for_training(catalog), CFG, checkpoint=staging_path(env), on_eval=stop)
    assert full_model_info(env, catalog.version) is None
    assert not watcher.check()
    assert load_serving_ranker(env, catalog)[1]["kind"] == "quick"

    note = train_full_ranker(env, catalog, config=CFG)
    assert "trained" in note and not staging_path(env).exists()
    info = full_model_info(env, catalog.version)
    assert info is not None and info["valid_ndcg@10"] is not None
    assert read_status(env)["state"] == "done"
    assert watcher.check()
    assert adopted and adopted[0][0].name == "sasrec" and adopted[0][1]["kind"] == "full"
    assert load_serving_ranker(env, catalog)[1]["kind"] == "full"
    assert "reused" in train_full_ranker(env, catalog, config=CFG)


def test_a_worse_full_model_is_not_adopted(env: Settings) -> None:  # noqa: F811
    env.ensure_dirs()
    catalog = load_catalog_cached(str(env.catalog_dir))
    train_full_ranker(env, catalog, config=CFG)
    adopted: list = []
    watcher = FullRankerWatcher(env, catalog, 2.0, lambda r, d: adopted.append(r))  # no NDCG reaches 2
    assert watcher.check() and adopted == []


def test_one_trainer_per_data_dir(env: Settings) -> None:  # noqa: F811
    first, second = TrainerLock(env), TrainerLock(env)
    assert first.acquire()
    try:
        assert not second.acquire() and second.held_elsewhere()
    finally:
        first.release()
    assert not second.held_elsewhere()
