"""The contract every `Ranker` backend passes: API shape, filtering, persistence, and a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_synthetic import Synthetic, item_id
from recassist.foundation.errors import InputError, StateMismatchError, UnknownItemError
from recassist.foundation.profile import InterestProfile, ItemPreference, Source
from recassist.ranking.base import Ranker, UserQuery
from recassist.ranking.storage import CheckpointError


def liked(*ids: str) -> InterestProfile:
    prefs = [ItemPreference(item_id=i, title=i, source=Source(text=i)) for i in ids]
    return InterestProfile(liked_items=prefs)


class RankerContract:
    """Subclass with `make_ranker()`; set `personalised = False` for rankers that ignore the user."""

    personalised = True
    suffix = ".npz"

    def make_ranker(self) -> Ranker:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def ranker(self, synth: Synthetic) -> Ranker:
        r = self.make_ranker()
        r.fit(synth.split.train)
        return r

    def cluster3_history(self) -> list[str]:
        return [item_id(3, k) for k in (2, 3, 4, 5)]

    def test_recommend_shapes_and_order(self, ranker: Ranker) -> None:
        ids, scores = ranker.recommend(UserQuery(history=self.cluster3_history()), N=7)
        assert ids.shape == (7,) and scores.shape == (7,)
        assert ids.dtype.kind == "U" and scores.dtype == np.float32
        assert np.all(np.diff(scores) <= 0), "scores must come best first"
        assert len(set(ids.tolist())) == 7

    def test_already_liked_items_filtered(self, ranker: Ranker) -> None:
        hist = self.cluster3_history()
        ids, _ = ranker.recommend(UserQuery(history=hist), N=len(ranker.item_ids))
        assert not set(hist) & set(ids.tolist())
        assert len(ids) == len(ranker.item_ids) - len(hist)
        ids_all, _ = ranker.recommend(UserQuery(history=hist), N=len(ranker.item_ids),
                                      filter_already_liked_items=False)
        assert len(ids_all) == len(ranker.item_ids)

    def test_profile_blocked_items_filtered(self, ranker: Ranker) -> None:
        profile = liked(item_id(3, 2))
        seen = profile.liked_items[0].model_copy(update={"item_id": item_id(0, 0)})
        profile.constraints.seen_items.append(seen)
        ids, _ = ranker.recommend(UserQuery(profile=profile), N=len(ranker.item_ids))
        assert item_id(3, 2) not in ids and item_id(0, 0) not in ids

    def test_candidates_restrict_the_ranking(self, ranker: Ranker) -> None:
        cands = [item_id(1, 0), item_id(2, 0), item_id(3, 9), item_id(3, 2), item_id(2, 0)]
        ids, scores = ranker.recommend(UserQuery(history=self.cluster3_history()), N=10, items=cands)
        assert set(ids.tolist()) == {item_id(1, 0), item_id(2, 0), item_id(3, 9)}  # history item dropped
        # The same candidates scored inside a full ranking get the same scores.
        full_ids, full_scores = ranker.recommend(UserQuery(history=self.cluster3_history()), N=100)
        lookup = dict(zip(full_ids.tolist(), full_scores.tolist(), strict=True))
        assert np.allclose(scores, [lookup[i] for i in ids], rtol=1e-4, atol=1e-5)

    def test_score_items_scores_in_the_given_order(self, ranker: Ranker) -> None:
        """`score_items` gives each id the score `recommend` gives it over the same candidates, in the
        order asked, history items included (nothing is dropped)."""
        cands = [item_id(3, 9), item_id(1, 0), item_id(3, 2), item_id(2, 0)]  # item (3, 2) is in the history
        query = UserQuery(history=self.cluster3_history())
        scores = ranker.score_items(query, cands)
        assert scores.dtype == np.float32 and scores.shape == (4,)
        ids, ranked = ranker.recommend(query, N=10, items=cands, filter_already_liked_items=False)
        lookup = dict(zip(ids.tolist(), ranked.tolist(), strict=True))
        assert np.allclose(scores, [lookup[i] for i in cands], rtol=1e-5, atol=1e-6)
        with pytest.raises(UnknownItemError):
            ranker.score_items(query, ["nope"])

    def test_unknown_ids_raise(self, ranker: Ranker) -> None:
        with pytest.raises(UnknownItemError):
            ranker.recommend(UserQuery(history=["nope"]))
        with pytest.raises(UnknownItemError):
            ranker.recommend(UserQuery(history=[]), items=["nope"])
        with pytest.raises(InputError):
            ranker.recommend(UserQuery(), N=-1)

    def test_empty_user_still_gets_items(self, ranker: Ranker) -> None:
        ids, scores = ranker.recommend(UserQuery(), N=5)
        assert len(ids) == 5 and np.all(np.isfinite(scores))

    def test_known_answer(self, ranker: Ranker, synth: Synthetic) -> None:
        """Cluster-3 history: a personalised ranker's top 3 are more cluster-3 items (the least
        popular cluster); a non-personalised one's are from the most popular cluster (0)."""
        ids, _ = ranker.recommend(UserQuery(history=self.cluster3_history()), N=3)
        clusters = {synth.cluster_of(i) for i in ids}
        assert clusters == ({3} if self.personalised else {0})

    def test_profile_liked_items_act_as_history(self, ranker: Ranker, synth: Synthetic) -> None:
        if not self.personalised:
            pytest.skip("ignores the user")
        ids, _ = ranker.recommend(UserQuery(profile=liked(*self.cluster3_history())), N=4)
        assert {synth.cluster_of(i) for i in ids} == {3}

    def test_save_load_round_trip(self, ranker: Ranker, tmp_path) -> None:
        path = tmp_path / f"r{self.suffix}"
        ranker.save(path)
        again = type(ranker).load(path)
        q = UserQuery(history=self.cluster3_history())
        a, sa = ranker.recommend(q, N=10)
        b, sb = again.recommend(q, N=10)
        assert a.tolist() == b.tolist() and np.allclose(sa, sb, rtol=1e-5, atol=1e-6)

    def test_corrupt_file_is_a_clear_error(self, ranker: Ranker, tmp_path) -> None:
        path = tmp_path / f"r{self.suffix}"
        ranker.save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        with pytest.raises(CheckpointError, match="corrupt"):
            type(ranker).load(path)
        with pytest.raises(CheckpointError, match="does not exist|no ranker checkpoint"):
            type(ranker).load(tmp_path / f"missing{self.suffix}")

    def test_other_catalog_is_refused(self, ranker: Ranker, tmp_path) -> None:
        path = tmp_path / f"r{self.suffix}"
        ranker.save(path)
        with pytest.raises(StateMismatchError, match="catalog"):
            type(ranker).load(path, catalog_version="another")
