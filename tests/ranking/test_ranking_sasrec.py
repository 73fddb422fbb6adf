"""SASRec: the shared contract, plus sequence order, cold start, new items and checkpoint safety."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic, item_id
from recassist.foundation.errors import ConfigError, StateMismatchError
from recassist.foundation.profile import AspectPreference, InterestProfile, Source
from recassist.ranking import sasrec_ckpt, sasrec_train
from recassist.ranking.base import UserQuery
from recassist.ranking.ease import EASERanker
from recassist.ranking.ease_blend import TRANSITION_WEIGHTS, WEIGHTS, EaseBlend, scaled
from recassist.ranking.metrics import evaluate
from recassist.ranking.sasrec import SASRecRanker
from recassist.ranking.sasrec_model import SASRecConfig, SASRecNet
from recassist.ranking.sasrec_train import train
from recassist.ranking.storage import CheckpointError
from recassist.ranking.transitions import TransitionModel

# One thread: tiny ops on a busy 2-core machine run several times faster without OpenMP hand-offs.
SMALL = SASRecConfig(max_len=12, hidden=32, blocks=1, heads=2, dropout=0.1, id_dropout=0.3, lr=1e-2,
                     weight_decay=0.0, batch_size=32, max_epochs=25, eval_every=5, patience=3, seed=0,
                     threads=1, members=1)


@pytest.fixture(scope="module")
def trained(synth: Synthetic) -> SASRecRanker:
    r = SASRecRanker(SMALL, text_encoder=lambda texts: np.stack([synth.aspect_vector(t) for t in texts]))
    r.fit(synth.split.train)
    return r


class TestSASRec(RankerContract):
    suffix = ".pt"

    @pytest.fixture(scope="class")
    def ranker(self, trained: SASRecRanker) -> SASRecRanker:
        return trained

    def test_learns_the_order(self, trained: SASRecRanker) -> None:
        """Users walk each cluster in cyclic order: the next item of the walk comes first."""
        hits = 0
        for start in range(10):
            hist = [item_id(3, (start + s) % 10) for s in range(5)]
            ids, _ = trained.recommend(UserQuery(history=hist), N=1)
            hits += ids[0] == item_id(3, (start + 5) % 10)
        assert hits >= 8


def _aspects(*names: str, disliked: tuple[str, ...] = ()) -> InterestProfile:
    src = Source(text="x")
    return InterestProfile(
        liked_aspects=[AspectPreference(aspect=n, kind="genre", source=src) for n in names],
        disliked_aspects=[AspectPreference(aspect=n, kind="genre", source=src) for n in disliked],
    )


def test_cold_start_from_aspects_only(trained: SASRecRanker, synth: Synthetic) -> None:
    ids, _ = trained.recommend(UserQuery(profile=_aspects("C3")), N=5)
    assert {synth.cluster_of(i) for i in ids} == {3}
    ids, _ = trained.recommend(UserQuery(profile=_aspects("C2", disliked=("C0",))), N=5)
    assert {synth.cluster_of(i) for i in ids} == {2}


def test_aspects_without_an_encoder_are_a_clear_error(trained: SASRecRanker, tmp_path) -> None:
    trained.save(tmp_path / "r.pt")
    bare = SASRecRanker.load(tmp_path / "r.pt")
    with pytest.raises(ConfigError, match="text encoder"):
        bare.recommend(UserQuery(profile=_aspects("C3")))


def test_new_items_score_through_their_text(trained: SASRecRanker, synth: Synthetic) -> None:
    """'new3' and 'new0' had no interactions: each ranks first for users of its own cluster."""
    for cluster, mine, other in ((3, "new3", "new0"), (0, "new0", "new3")):
        hist = [item_id(cluster, k) for k in range(4)]
        ids, scores = trained.recommend(UserQuery(history=hist), N=2, items=[mine, other])
        assert ids.tolist() == [mine, other] and np.all(np.isfinite(scores))


def test_checkpoint_resume_and_config_mismatch(synth: Synthetic, tmp_path) -> None:
    path = tmp_path / "ranker.pt"
    cfg = replace(SMALL, max_epochs=4, eval_every=2, patience=100)
    _, first = train(synth.split.train, cfg, checkpoint=path)
    assert first["epochs_run"] == 4
    _, resumed = train(synth.split.train, replace(cfg, max_epochs=6), checkpoint=path, resume=True)
    assert resumed["epochs_run"] == 6 and [h["epoch"] for h in resumed["history"]] == [2, 4, 6]
    _, straight = train(synth.split.train, replace(cfg, max_epochs=6))
    # Per-epoch reseeding makes a resumed run match an uninterrupted one.
    assert resumed["history"][-1]["loss"] == pytest.approx(straight["history"][-1]["loss"], rel=1e-3)
    with pytest.raises(StateMismatchError, match="hidden"):
        train(synth.split.train, replace(cfg, hidden=16, max_epochs=8), checkpoint=path, resume=True)
    with pytest.raises(StateMismatchError, match="catalog"):
        SASRecRanker.load(path, catalog_version="elsewhere")


def test_interrupted_save_keeps_the_previous_checkpoint(trained: SASRecRanker, tmp_path, monkeypatch) -> None:
    path = tmp_path / "ranker.pt"
    trained.save(path)
    before = path.read_bytes()

    def dying_save(obj, f):
        f.write(b"partial checkpoint bytes")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(sasrec_ckpt.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        trained.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ranker.pt"]  # no temp file left behind
    SASRecRanker.load(path)


def test_not_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "ranker.pt"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="corrupt"):
        SASRecRanker.load(path)


def test_sampled_negatives_also_learn(synth: Synthetic) -> None:
    """The many-negatives option (gSASRec-style) reaches the same kind of answer on the synthetic data."""
    report = SASRecRanker(replace(SMALL, negatives=16)).fit(synth.split.train)
    assert report["best_valid_ndcg@10"] > 0.5


def test_weight_average_schedule_and_text_mlp_learn_and_resume(synth: Synthetic, tmp_path) -> None:
    """The recipe's options (weight EMA, warm-up + cosine lr, 2-layer text map) learn the synthetic
    order, and a resumed run continues the average exactly as an uninterrupted one."""
    cfg = replace(SMALL, ema_decay=0.9, warmup_epochs=1, decay_epochs=25, text_layers=2, patience=100)
    report = SASRecRanker(cfg).fit(synth.split.train)
    assert report["best_valid_ndcg@10"] > 0.5
    path = tmp_path / "ranker.pt"
    short = replace(cfg, max_epochs=4, eval_every=2)
    train(synth.split.train, short, checkpoint=path)
    _, resumed = train(synth.split.train, replace(short, max_epochs=6), checkpoint=path, resume=True)
    _, straight = train(synth.split.train, replace(short, max_epochs=6))
    assert resumed["history"][-1]["valid_ndcg@10"] == pytest.approx(straight["history"][-1]["valid_ndcg@10"],
                                                                    abs=1e-4)


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    from recassist.ranking.sasrec_train import lr_at

    cfg = replace(SMALL, lr=1e-2, warmup_epochs=2, decay_epochs=10)
    assert lr_at(cfg, 0.0) < 1e-4 and lr_at(cfg, 1.0) == pytest.approx(5e-3, rel=1e-2)
    assert lr_at(cfg, 2.0) == pytest.approx(1e-2) and lr_at(cfg, 6.0) == pytest.approx(5e-3)
    assert lr_at(cfg, 10.0) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(replace(SMALL, lr=3e-3), 7.5) == 3e-3  # no schedule: constant


def test_ensemble_averages_its_members_and_resumes_member_by_member(synth: Synthetic, tmp_path) -> None:
    """Two members: scores are the mean of the members' scores, the checkpoint keeps both, and a run
    interrupted during the second member resumes to the same weights as an uninterrupted one."""
    cfg = replace(SMALL, members=2, max_epochs=6, eval_every=2, patience=100)
    path = tmp_path / "ranker.pt"
    nets, report = train(synth.split.train, cfg, checkpoint=path)
    assert len(nets) == 2 and len(report["best_epoch"]) == 2 and len(report["members"]) == 2
    assert report["best_valid_ndcg@10"] > 0.3 and report["seconds_to_best"] <= report["seconds_total"]
    # The members differ (own seeds), and the ensemble's score is their mean.
    ensemble = SASRecRanker.load(path)
    singles = []
    for net in ensemble.nets:
        one = tmp_path / f"single{len(singles)}.pt"
        sasrec_ckpt.write_checkpoint(one, sasrec_train.payload(
            [net], ensemble.item_ids, ensemble.catalog_version, "", ensemble._counts, [net.state_dict()], None))
        singles.append(SASRecRanker.load(one))
    hist = [item_id(1, k) for k in range(4)]
    s0, s1 = (r.recommend(UserQuery(history=hist), N=5, items=ensemble.item_ids)[1] for r in singles)
    assert not np.allclose(s0, s1)
    user = ensemble.encode(UserQuery(history=hist))
    both = ensemble.score([user])[0]
    expect = (singles[0].score([user])[0] + singles[1].score([user])[0]) / 2
    np.testing.assert_allclose(both, expect, rtol=1e-4, atol=1e-5)
    idx = np.arange(0, len(ensemble.item_ids), 3)
    np.testing.assert_allclose(ensemble.score_subset(user, idx), expect[idx], rtol=1e-4, atol=1e-5)

    # Interrupt: a checkpoint written while the second member had run 4 epochs, then resume.
    part = tmp_path / "part.pt"
    rows: list[dict] = []

    def stop_in_second_member(row: dict) -> None:
        rows.append(row)
        if row["member"] == 1 and row["epoch"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(synth.split.train, cfg, checkpoint=part, on_eval=stop_in_second_member)
    assert len(SASRecRanker.load(part).nets) == 2  # the finished member and the second's best so far
    resumed_nets, resumed = train(synth.split.train, cfg, checkpoint=part, resume=True)
    assert [h["member"] for h in resumed["history"]] == [0, 0, 0, 1, 1, 1]
    for a, b in zip(resumed_nets, nets, strict=True):
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            torch.testing.assert_close(va, vb, rtol=1e-4, atol=1e-5, msg=k)


def test_single_network_checkpoints_of_format_1_still_load(trained: SASRecRanker, tmp_path) -> None:
    """Checkpoints written before ensembles (format 1: weights under `model`) load and score the same."""
    path = tmp_path / "old.pt"
    trained.save(path)
    old = torch.load(path, weights_only=True)
    old["format"], old["model"] = 1, old.pop("models")[0]
    cfg = json.loads(old["config"])
    del cfg["members"]
    old["config"] = json.dumps(cfg)
    torch.save(old, path)
    loaded = SASRecRanker.load(path)
    assert loaded.config.members == 1
    user = trained.encode(UserQuery(history=[item_id(2, k) for k in range(3)]))
    np.testing.assert_allclose(loaded.score([user]), trained.score([user]), rtol=1e-5)


def test_ease_blend_scores_the_same_everywhere_and_survives_a_checkpoint(trained: SASRecRanker, synth: Synthetic,
                                                                          tmp_path) -> None:
    """With an EASE + transitions blend, a candidate subset scores exactly as in the full ranking, the blend
    changes the scores, and save / load keeps weights, lambda, decay and scores."""
    ease = EASERanker(lam=10.0, decay=0.9)
    ease.fit(synth.split.train)
    blended = SASRecRanker(SMALL, text_encoder=trained.text_encoder)
    blended._adopt(trained.nets, trained.item_ids, trained.catalog_version, "", trained._counts)
    blended._blend = EaseBlend(ease, 0.05, transitions=TransitionModel.fit(synth.split.train, decays=(0.7,)),
                               transition_weight=0.05)
    user = blended.encode(UserQuery(history=[item_id(1, k) for k in range(4)]))
    full = blended.score([user])[0]
    assert not np.allclose(scaled(trained.score([user]))[0], full)
    idx = np.arange(1, len(blended.item_ids), 2)
    np.testing.assert_allclose(blended.score_subset(user, idx), full[idx], rtol=1e-5, atol=1e-6)
    path = tmp_path / "blend.pt"
    blended.save(path)
    loaded = SASRecRanker.load(path)
    assert loaded._blend is not None and (loaded._blend.weight, loaded._blend.ease.lam) == (0.05, 10.0)
    assert loaded._blend.ease.decay == ease.decay and loaded._blend.transition_weight == 0.05
    np.testing.assert_allclose(loaded.score([user])[0], full, rtol=1e-5, atol=1e-6)


def test_a_returning_history_reuses_its_state_with_the_same_scores(trained: SASRecRanker, synth: Synthetic,
                                                                   monkeypatch) -> None:
    """Candidate scoring remembers the ensemble state per history: a repeat gives identical scores without a
    forward pass, another history gets its own state, and adopting networks forgets the old states."""
    ranker = SASRecRanker(SMALL, text_encoder=trained.text_encoder)
    ranker._adopt(trained.nets, trained.item_ids, trained.catalog_version, "", trained._counts)
    user = ranker.encode(UserQuery(history=[item_id(1, k) for k in range(4)]))
    other = ranker.encode(UserQuery(history=[item_id(2, k) for k in range(3)]))
    idx = np.arange(0, len(ranker.item_ids), 3)
    first = ranker.score_subset(user, idx)
    assert len(ranker._states) == 1
    calls = []
    forward = SASRecNet.hidden_states
    monkeypatch.setattr(SASRecNet, "hidden_states", lambda *a, **k: calls.append(1) or forward(*a, **k))
    np.testing.assert_array_equal(ranker.score_subset(user, idx), first)
    assert calls == []
    np.testing.assert_allclose(ranker.score_subset(other, idx), ranker.score([other])[0][idx], rtol=1e-5, atol=1e-6)
    assert len(calls) > 0 and len(ranker._states) == 2
    ranker._adopt(trained.nets, trained.item_ids, trained.catalog_version, "", trained._counts)
    assert len(ranker._states) == 0


def test_the_blend_weight_is_picked_on_validation(trained: SASRecRanker, synth: Synthetic) -> None:
    """`EaseBlend.fit` keeps the weight that scores best on validation: never below the networks alone."""
    data = synth.split.train
    nets_only = SASRecRanker(SMALL)
    nets_only._adopt(trained.nets, trained.item_ids, trained.catalog_version, "", trained._counts)
    picked = EaseBlend.fit(data, nets_only._sequence_scores)
    alone = evaluate(nets_only._sequence_scores, data.sequences, data.valid_targets, data.n_items).ndcg
    if picked is not None:
        assert picked.weight in WEIGHTS and picked.transition_weight in TRANSITION_WEIGHTS
        assert picked.weight + picked.transition_weight > 0 and picked.valid_ndcg >= alone
        assert (picked.transitions is None) == (picked.transition_weight == 0)
    assert EaseBlend.fit(replace(data, valid_targets=None), nets_only._sequence_scores) is None


@pytest.mark.parametrize("decay", [1.0, 0.8])  # binary histories, and recency-weighted ones
@pytest.mark.parametrize("n_users", [40, 400])  # fewer users than items (Woodbury form), and more
def test_ease_candidate_scores_and_spread_match_the_full_catalog(n_users: int, decay: float) -> None:
    """The blend's per-candidate EASE path gives the full-catalog scores and their std, history items included
    (a repeated item too)."""
    from recassist.ranking.data import InteractionData
    from recassist.ranking.ease_blend import _EaseSubset

    rng = np.random.default_rng(0)
    n_items = 120
    seqs = [rng.choice(n_items, size=rng.integers(3, 25), replace=False) for _ in range(n_users)]
    ease = EASERanker(lam=20.0, decay=decay)
    ease.fit(InteractionData([str(i) for i in range(n_items)], [str(u) for u in range(n_users)], seqs))
    subset = _EaseSubset(ease)
    assert subset.woodbury == (n_users < n_items)
    history = np.array([3, 17, 42, 99, 17])
    full = ease._score_histories([history])[0]
    idx = np.array([0, 3, 5, 42, 77, 119])
    scores, std = subset.scores(history, idx)
    np.testing.assert_allclose(scores, full[idx], rtol=1e-4, atol=1e-5)
    assert std == pytest.approx(float(full.std()), rel=1e-4)
