"""Popularity, item-kNN and EASE pass the shared contract; their hyperparameter searches use validation."""

from __future__ import annotations

import numpy as np
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic, item_id
from recassist.ranking.base import UserQuery
from recassist.ranking.ease import EASERanker
from recassist.ranking.itemknn import ItemKNNRanker
from recassist.ranking.popularity import PopularityRanker


class TestPopularity(RankerContract):
    personalised = False

    def make_ranker(self):
        return PopularityRanker()

    def test_scores_are_training_counts(self, ranker, synth: Synthetic) -> None:
        counts = synth.split.train.item_counts()
        ids, scores = ranker.recommend(UserQuery(), N=3)
        top = np.argsort(-counts, kind="stable")[:3]
        assert scores.tolist() == sorted(counts[top].astype(float).tolist(), reverse=True)


class TestItemKNN(RankerContract):
    def make_ranker(self):
        return ItemKNNRanker(ks=(10, 20))

    def test_k_chosen_on_validation(self, synth: Synthetic) -> None:
        r = ItemKNNRanker(ks=(10, 20))
        report = r.fit(synth.split.train)
        assert report["k"] in (10, 20) and report["valid_ndcg@10"] > 0.2


class TestEASE(RankerContract):
    def make_ranker(self):
        return EASERanker(lambdas=(1.0, 10.0, 100.0))

    def test_lambda_chosen_on_validation(self, synth: Synthetic) -> None:
        report = EASERanker(lambdas=(1.0, 10.0, 100.0)).fit(synth.split.train)
        assert report["lam"] in (1.0, 10.0, 100.0) and report["valid_ndcg@10"] > 0.2

    def test_recency_weighting_counts_the_newest_items_most(self, synth: Synthetic) -> None:
        """With `decay` < 1 a history's newest item steers the scores more than its oldest, and
        the decay is picked on validation and kept by save / load."""
        from recassist.ranking.data import interaction_matrix

        x = interaction_matrix([np.array([4, 2, 4, 7])], 10, decay=0.5).toarray()[0]
        assert (x[7], x[4], x[2]) == (1.0, 0.5, 0.25)  # item 4's newest occurrence counts, once
        data = synth.split.train
        plain, recent = EASERanker(lam=10.0), EASERanker(lam=10.0, decay=0.3)
        plain.fit(data)
        recent.fit(data)
        old, new = data.sequences[0][0], data.sequences[1][-1]
        hist = [np.array([old, new])]
        b = plain._score_histories([np.array([old])])[0], plain._score_histories([np.array([new])])[0]
        got = recent._score_histories(hist)[0]
        np.testing.assert_allclose(got, 0.3 * b[0] + b[1], rtol=1e-4, atol=1e-5)  # linear in the weights
        report = EASERanker(lambdas=(10.0,), decays=(1.0, 0.5)).fit(data)
        assert report["decay"] in (1.0, 0.5) and report["valid_ndcg@10"] > 0.2

    def test_recency_decay_survives_save_and_load(self, synth: Synthetic, tmp_path) -> None:
        r = EASERanker(lam=10.0, decay=0.7)
        r.fit(synth.split.train)
        r.save(tmp_path / "ease.npz")
        loaded = EASERanker.load(tmp_path / "ease.npz")
        hist = [synth.split.train.sequences[0]]
        assert loaded.decay == 0.7
        np.testing.assert_allclose(loaded._score_histories(hist), r._score_histories(hist), rtol=1e-5)

    def test_woodbury_matches_the_direct_inverse(self, synth: Synthetic) -> None:
        """Fewer users than items uses Woodbury; check it against the textbook closed form."""
        from recassist.ranking.data import interaction_matrix

        data = synth.split.train
        few = type(data)(data.item_ids, data.user_ids[:30], data.sequences[:30], None)
        r = EASERanker(lam=5.0)
        r.fit(few)
        x = interaction_matrix(few.sequences, few.n_items).toarray().astype(np.float64)
        p = np.linalg.inv(x.T @ x + 5.0 * np.eye(few.n_items))
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        hist = [np.array([0, 1, 2]), np.array([35])]
        got = r._score_histories(hist)
        want = np.stack([b[h].sum(0) for h in hist])
        assert np.allclose(got, want, atol=1e-4)
        assert r.recommend(UserQuery(history=[item_id(0, 0)]), N=1)[0].size == 1
