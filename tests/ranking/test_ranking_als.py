"""implicit's ALS behind the `Ranker` seam: the shared contract and the validation grid."""

from __future__ import annotations

import pytest
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic

pytest.importorskip("implicit")

from recassist.ranking.als import ALSRanker  # noqa: E402

GRID = ((4, 0.1, 10.0), (8, 1.0, 20.0))  # 4 clusters: more factors only memorise


class TestALS(RankerContract):
    def make_ranker(self):
        return ALSRanker(grid=GRID, threads=1)

    def test_grid_chosen_on_validation(self, synth: Synthetic) -> None:
        report = ALSRanker(grid=GRID, threads=1).fit(synth.split.train)
        assert (report["factors"], report["regularization"], report["alpha"]) in GRID
        assert report["valid_ndcg@10"] > 0.2
