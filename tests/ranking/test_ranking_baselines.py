"""Popularity, item-kNN and EASE pass the shared contract; their hyperparameter searches use validation."""

from __future__ import annotations

import numpy as np
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic, item_id

from ranking.base import UserQuery
from ranking.ease import EASERanker
from ranking.itemknn import ItemKNNRanker
from ranking.popularity import PopularityRanker


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

    def test_woodbury_matches_the_direct_inverse(self, synth: Synthetic) -> None:
        """Fewer users than items uses Woodbury; check it against the textbook closed form."""
        from ranking.data import interaction_matrix

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
