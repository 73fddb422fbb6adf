"""SASRec: the shared contract, plus sequence order, cold start, new items and checkpoint safety."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from ranking_contract import RankerContract
from ranking_synthetic import Synthetic, item_id

from assistant.errors import ConfigError, StateMismatchError
from assistant.profile import AspectPreference, InterestProfile, Source
from ranking import sasrec_ckpt
from ranking.base import UserQuery
from ranking.sasrec import SASRecRanker
from ranking.sasrec_model import SASRecConfig
from ranking.sasrec_train import train
from ranking.storage import CheckpointError

# One thread: tiny ops on a busy 2-core machine run several times faster without OpenMP hand-offs.
SMALL = SASRecConfig(max_len=12, hidden=32, blocks=1, heads=2, dropout=0.1, id_dropout=0.3, lr=1e-2,
                     weight_decay=0.0, batch_size=32, max_epochs=25, eval_every=5, patience=3, seed=0,
                     threads=1)


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
    from ranking.sasrec_train import lr_at

    cfg = replace(SMALL, lr=1e-2, warmup_epochs=2, decay_epochs=10)
    assert lr_at(cfg, 0.0) < 1e-4 and lr_at(cfg, 1.0) == pytest.approx(5e-3, rel=1e-2)
    assert lr_at(cfg, 2.0) == pytest.approx(1e-2) and lr_at(cfg, 6.0) == pytest.approx(5e-3)
    assert lr_at(cfg, 10.0) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(replace(SMALL, lr=3e-3), 7.5) == 3e-3  # no schedule: constant
