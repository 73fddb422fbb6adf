"""The count-blend ranker served on a first start: the shared contract, and its blend picked on validation."""

from __future__ import annotations

import numpy as np
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic
from recassist.ranking.base import UserQuery
from recassist.ranking.count_blend import TRANSITION_WEIGHTS, CountBlendRanker


class TestCountBlend(RankerContract):
    suffix = ".pt"

    def make_ranker(self):
        return CountBlendRanker()

    def test_weights_picked_on_validation(self, synth: Synthetic) -> None:
        report = CountBlendRanker().fit(synth.split.train)
        assert report["transition_weight"] in TRANSITION_WEIGHTS
        assert report["valid_ndcg@10"] > 0.2

    def test_subset_scores_equal_full_scores(self, ranker: CountBlendRanker) -> None:
        """Candidates are scored without all items' scores; the result is the full path's, up to rounding."""
        query = UserQuery(history=ranker.item_ids[3:9])
        idx = np.arange(0, len(ranker.item_ids), 3)
        full = ranker.score([ranker.encode(query)])[0][idx]
        np.testing.assert_allclose(ranker.score_subset(ranker.encode(query), idx), full, rtol=1e-4, atol=1e-4)
