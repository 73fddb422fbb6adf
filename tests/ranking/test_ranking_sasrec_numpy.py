"""The torch-free serving copy of a trained SASRec ensemble ranks exactly as the torch model does."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from ranking_synthetic import Synthetic, item_id
from recassist.foundation.profile import AspectPreference, InterestProfile, Source
from recassist.ranking.base import EncodedUser, UserQuery
from recassist.ranking.ease import EASERanker
from recassist.ranking.ease_blend import EaseBlend
from recassist.ranking.sasrec import SASRecRanker
from recassist.ranking.sasrec_model import SASRecConfig
from recassist.ranking.sasrec_numpy import export, exported_meta, load_exported, serving_path
from recassist.ranking.transitions import TransitionModel

# Two blocks (the last one computes only the newest position) and two members (states side by side).
CFG = SASRecConfig(max_len=12, hidden=32, blocks=2, heads=2, dropout=0.1, lr=1e-2, weight_decay=0.0, batch_size=32,
                   max_epochs=4, eval_every=2, patience=3, seed=0, threads=1, members=2)


@pytest.fixture(scope="module")
def saved(synth: Synthetic, tmp_path_factory) -> tuple[SASRecRanker, object]:
    """A trained ensemble with an EASE + transitions blend, saved, and its export loaded back."""
    encoder = lambda texts: np.stack([synth.aspect_vector(t) for t in texts])  # noqa: E731
    torch_ranker = SASRecRanker(CFG, text_encoder=encoder)
    torch_ranker.fit(replace(synth.split.train))
    ease = EASERanker(lam=10.0, decay=0.9)
    ease.fit(synth.split.train)
    torch_ranker._blend = EaseBlend(ease, 0.05, transitions=TransitionModel.fit(synth.split.train, decays=(0.7,)),
                                    transition_weight=0.05)
    path = tmp_path_factory.mktemp("sasrec-numpy") / "ranker.pt"
    torch_ranker.save(path)
    torch_ranker = SASRecRanker.load(path, text_encoder=encoder)
    export(torch_ranker, path, {"valid_ndcg@10": 0.1, "complete": True})
    numpy_ranker = load_exported(path, torch_ranker.catalog_version, encoder)
    assert numpy_ranker is not None
    return torch_ranker, numpy_ranker


def _aspects(*names: str, disliked: tuple[str, ...] = ()) -> InterestProfile:
    src = Source(text="x")
    return InterestProfile(
        liked_aspects=[AspectPreference(aspect=n, kind="genre", source=src) for n in names],
        disliked_aspects=[AspectPreference(aspect=n, kind="genre", source=src) for n in disliked],
    )


def test_the_export_ranks_every_item_as_torch_does(saved, synth: Synthetic) -> None:
    torch_ranker, numpy_ranker = saved
    rng = np.random.default_rng(0)
    n = len(torch_ranker.item_ids)
    # Lengths below, at and past max_len, padded together in one batch.
    histories = [rng.choice(n, size=k, replace=False) for k in (1, 4, 12, 30)]
    expected, got = torch_ranker._sequence_scores(histories), numpy_ranker._sequence_scores(histories)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.argsort(-got, axis=1)[:, :20], np.argsort(-expected, axis=1)[:, :20])
    users = [EncodedUser(items=h) for h in histories] + [EncodedUser(items=np.zeros(0, np.int64))]
    np.testing.assert_allclose(numpy_ranker.score(users), torch_ranker.score(users), rtol=1e-4, atol=1e-5)


def test_recommendations_are_the_same_items(saved) -> None:
    torch_ranker, numpy_ranker = saved
    for query in (UserQuery(history=[item_id(3, k) for k in range(5)]),
                  UserQuery(history=[item_id(1, 2)], profile=_aspects("C3")),
                  UserQuery(profile=_aspects("C2", disliked=("C0",)))):
        assert numpy_ranker.recommend(query, N=10)[0].tolist() == torch_ranker.recommend(query, N=10)[0].tolist()
    user = torch_ranker.encode(UserQuery(history=[item_id(2, k) for k in range(6)]))
    idx = np.arange(0, len(torch_ranker.item_ids), 2)
    expected, got = torch_ranker.score_subset(user, idx), numpy_ranker.score_subset(user, idx)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.argsort(-got), np.argsort(-expected))


def test_an_export_older_than_its_checkpoint_is_not_used(saved, tmp_path) -> None:
    torch_ranker, _ = saved
    path = tmp_path / "ranker.pt"
    torch_ranker.save(path)
    export(torch_ranker, path, {"complete": True})
    assert exported_meta(path, torch_ranker.catalog_version) is not None
    assert exported_meta(path, "another-catalog") is None
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # as a retrained ranker.pt would be
    assert load_exported(path, torch_ranker.catalog_version) is None
    serving_path(path).write_bytes(b"damaged")
    assert exported_meta(path, torch_ranker.catalog_version) is None
