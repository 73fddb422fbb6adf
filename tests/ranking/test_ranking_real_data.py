"""A short real training run on part of ml-latest-small, judged with the harness's own protocol."""

from __future__ import annotations

import pytest
from recassist.foundation.catalog import Catalog, load_catalog_cached
from recassist.foundation.settings import DEMO_CATALOG_DIR
from recassist.ranking.base import EncodedUser
from recassist.ranking.data import leave_one_out
from recassist.ranking.metrics import evaluate
from recassist.ranking.popularity import PopularityRanker
from recassist.ranking.sasrec import SASRecRanker
from recassist.ranking.sasrec_model import SASRecConfig


def _subset() -> Catalog:
    """Items with at least 30 ratings, interactions of those items only (about 860 items, 52k events)."""
    full = load_catalog_cached(str(DEMO_CATALOG_DIR))
    keep = {i for i, n in full.popularity.items() if n >= 30}
    items = {i: it for i, it in full.items.items() if i in keep}
    return Catalog("ml-small-popular", items, [x for x in full.interactions if x.item_id in keep])


def test_sasrec_beats_popularity_on_validation() -> None:
    split = leave_one_out(_subset())
    data = split.train

    def valid_ndcg(ranker) -> float:
        def score(hist):
            return ranker.score([EncodedUser(h) for h in hist])

        return evaluate(score, data.sequences, data.valid_targets, data.n_items).ndcg

    pop = PopularityRanker()
    pop.fit(data)
    cfg = SASRecConfig(max_len=50, hidden=32, blocks=1, heads=1, dropout=0.2, id_dropout=0.0, use_text=False,
                       lr=5e-3, batch_size=32, all_windows=False, max_epochs=6, eval_every=3, patience=2,
                       seed=0, threads=1, members=1)
    model = SASRecRanker(cfg)
    report = model.fit(data)
    ours, floor = valid_ndcg(model), valid_ndcg(pop)
    # The ranker keeps its best epoch's weights: the harness gets the number training reported.
    assert report["best_valid_ndcg@10"] == pytest.approx(ours, rel=1e-4)
    assert ours > 1.2 * floor, (ours, floor)
