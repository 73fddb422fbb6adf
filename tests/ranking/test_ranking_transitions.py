"""Item transitions (`ranking.transitions`): counts, recency weighting, candidate path, checkpoint state."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_synthetic import Synthetic
from recassist.ranking.transitions import TransitionModel, transition_matrix


def test_counts_what_follows_within_the_window_and_damps_busy_rows() -> None:
    t = transition_matrix([np.array([0, 1, 2]), np.array([0, 2])], 4, window=2).toarray()
    # Item 0 -> 1 at distance 1 (1), -> 2 at distance 2 (1/2) and at distance 1 (1): total 2.5.
    row0 = np.array([0.0, 1.0, 1.5, 0.0]) / np.sqrt(2.5)
    np.testing.assert_allclose(t[0], row0, rtol=1e-6)
    np.testing.assert_allclose(t[1], [0, 0, 1, 0])  # a total below 1 is not scaled up
    assert not t[2].any() and not t[3].any()


def test_recent_history_counts_most() -> None:
    t = transition_matrix([np.array([0, 1]), np.array([2, 3])], 4, window=1)
    model = TransitionModel(t, decay=0.5)
    s = model.scores([np.array([0, 2])])[0]  # 2 is the newest: what follows it scores twice as high
    assert s[3] == pytest.approx(2 * s[1])


@pytest.mark.parametrize("decay", [1.0, 0.6])
def test_candidate_scores_and_spread_match_the_full_catalog(synth: Synthetic, decay: float) -> None:
    model = TransitionModel(transition_matrix(synth.split.train.sequences, synth.split.train.n_items), decay)
    history = synth.split.train.sequences[3]
    full = model.scores([history])[0]
    idx = np.arange(0, synth.split.train.n_items, 3)
    scores, std = model.subset(history, idx)
    np.testing.assert_allclose(scores, full[idx], rtol=1e-5, atol=1e-6)
    assert std == pytest.approx(float(full.std()), rel=1e-4)


def test_decay_picked_on_validation_and_state_round_trip(synth: Synthetic) -> None:
    model = TransitionModel.fit(synth.split.train, decays=(0.5, 0.9))
    assert model.decay in (0.5, 0.9) and model.valid_ndcg is not None and model.valid_ndcg > 0.1
    loaded = TransitionModel.from_state(model.state())
    history = synth.split.train.sequences[0]
    assert loaded.decay == model.decay
    np.testing.assert_allclose(loaded.scores([history]), model.scores([history]))
