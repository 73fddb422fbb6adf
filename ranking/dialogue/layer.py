"""The learned ranking layer: LightGBM LambdaRank models over per-candidate features of one request, their scores
averaged (one model per fold of the training requests, `LearnedLayer.fit_folds`).

Saved as one JSON file (atomic replace) holding the models' text, its feature names, its config, the catalog
version and what it was trained on; a file from another catalog version or with other features is refused
with a message naming the command that rebuilds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from recassist.foundation.errors import StateMismatchError
from recassist.ranking.dialogue.files import config_from
from recassist.ranking.dialogue.trees import TreeEnsemble
from recassist.ranking.storage import CheckpointError, atomic_write

NAME = "conversation-layer"
FORMAT = 2  # 2: several models whose scores are averaged ("members"); 1: one model ("model")


@dataclass(frozen=True)
class LayerConfig:
    num_leaves: int = 31
    learning_rate: float = 0.1  # with five models averaged, half the trees of 0.05 for the same recall
    max_trees: int = 600
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    early_stopping: int = 50  # trees without NDCG@10 gain on the selection split before stopping
    threads: int = 2
    seed: int = 0
    #: Of each fitted request's candidates that were not suggested, the share kept (all suggested ones are): a
    #: request has ~500 candidates for one or two positives, and a tenth of the negatives fits 3x faster and
    #: ranked as well on held-out training dialogues.
    negative_share: float = 0.1
    #: One model per fold, each fitted on the other folds with its trees chosen on its own fold, their scores
    #: averaged; False: one model, its trees chosen on the first selection fold.
    cross_fit: bool = True
    #: Models per selection fold, each with its own sample of negatives and LightGBM seed, all averaged
    models_per_fold: int = 1


class _Member:
    """One LightGBM model: its booster while fitting, its trees in numpy once loaded (`ranking.dialogue.trees`);
    the booster is built from the model text only if asked for (`importance`)."""

    def __init__(self, info: dict, booster=None, trees: TreeEnsemble | None = None, model_text: str = "") -> None:
        self.info = info
        self._booster, self._trees, self._model_text = booster, trees, model_text

    @property
    def booster(self):
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self._model_text)
        return self._booster

    def model_text(self) -> str:
        """The model's text, cut to the trees in use: as loaded (`save` wrote it cut), or from the booster."""
        return self._model_text or self.booster.model_to_string(num_iteration=self.info.get("trees") or None)

    def score(self, X: np.ndarray) -> np.ndarray:
        if self._trees is not None:  # the saved trees are exactly the ones in use (`save` cuts the rest)
            return self._trees.predict(X)
        return self.booster.predict(X, num_iteration=self.info.get("trees") or None, num_threads=1)


class LearnedLayer:
    """Scores candidates from their feature rows; `score(X)` -> float64 [len(X)], higher is better: the mean of
    its members' scores (one LightGBM model each)."""

    def __init__(self, members: Sequence[_Member], features: Sequence[str], config: LayerConfig,
                 catalog_version: str, info: dict | None = None) -> None:
        self.members = list(members)
        self.features = tuple(features)
        self.config = config
        self.catalog_version = catalog_version
        self.info = info if info is not None else _summary(self.members)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, groups: np.ndarray, X_sel: np.ndarray, y_sel: np.ndarray,
            groups_sel: np.ndarray, features: Sequence[str], config: LayerConfig | None = None,
            catalog_version: str = "", progress=None) -> LearnedLayer:
        """One model: LambdaRank on (X, y) grouped by request (`groups`: rows per request); the number of trees
        is chosen by NDCG@10 on the selection split (X_sel, ...), which is never fitted on."""
        cfg = config or LayerConfig()
        member = _fit_one(X, y, groups, X_sel, y_sel, groups_sel, features, cfg, progress)
        return cls([member], features, cfg, catalog_version)

    @classmethod
    def fit_folds(cls, X: Sequence[np.ndarray], y: Sequence[np.ndarray], folds: Sequence[int],
                  selection_folds: Sequence[int], features: Sequence[str], config: LayerConfig | None = None,
                  catalog_version: str = "", progress=None, fit_only: Sequence[bool] | None = None) -> LearnedLayer:
        """One model per selection fold g that has requests: fitted on the requests of the other folds (each
        keeping `negative_share` of its non-suggested candidates), its trees chosen on fold g's requests. `X`,
        `y`, `folds`: per request, its candidates' features, labels (1 = suggested) and fold. `fit_only`: per
        request, True for one that is fitted on but never chooses trees (not the kind of request measured)."""
        cfg = config or LayerConfig()
        folds = np.asarray(folds)
        chooses = ~np.asarray(fit_only, bool) if fit_only is not None else np.ones(len(folds), bool)
        members = []
        for g in selection_folds:
            fit_at, sel_at = np.flatnonzero(folds != g), np.flatnonzero((folds == g) & chooses)
            if not len(fit_at) or not len(sel_at):
                continue
            for k in range(cfg.models_per_fold):
                rng = np.random.default_rng([cfg.seed, g] + ([k] if k else []))
                kept = [_some_negatives(X[i], y[i], cfg.negative_share, rng) for i in fit_at]
                member = _fit_one(*_stacked(kept), *_stacked([(X[i], y[i]) for i in sel_at]), features,
                                  replace(cfg, seed=cfg.seed * 101 + g + 7919 * k), progress)
                member.info["held_out_fold"] = int(g)
                members.append(member)
        if not members:
            raise ValueError("no selection fold has both requests to fit on and requests to choose trees on")
        return cls(members, features, cfg, catalog_version)

    def held_out(self, fold: int) -> LearnedLayer | None:
        """The layer of the members never fitted on `fold` (their trees were chosen on it), or None: what may be
        measured on that fold's conversations."""
        members = [m for m in self.members if m.info.get("held_out_fold") == fold]
        if not members:
            return None
        return LearnedLayer(members, self.features, self.config, self.catalog_version,
                            {**self.info, **_summary(members)})

    def score(self, X: np.ndarray) -> np.ndarray:
        if len(self.members) == 1:
            return self.members[0].score(X)
        return np.mean([m.score(X) for m in self.members], axis=0)

    def importance(self) -> dict[str, float]:
        gain = np.zeros(len(self.features))
        for m in self.members:
            gain += m.booster.feature_importance("gain", iteration=m.info.get("trees") or None)
        return dict(sorted(zip(self.features, map(float, gain), strict=True), key=lambda kv: -kv[1]))

    # --- files --------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        doc = {"ranker": NAME, "format": FORMAT, "config": asdict(self.config), "features": list(self.features),
               "catalog_version": self.catalog_version, "info": self.info,
               "members": [{"info": m.info, "model": m.model_text()} for m in self.members]}
        atomic_write(path, lambda f: f.write(json.dumps(doc).encode("utf-8")))

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None, features: Sequence[str]) -> LearnedLayer:
        """Raises `CheckpointError` (missing, corrupt) or `StateMismatchError` (other catalog or features).
        The trees score in numpy (`ranking.dialogue.trees`); LightGBM loads only for a model they do not cover."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"no conversation layer at {path}; run `recassist train conversations`")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("ranker") != NAME:
                raise ValueError(f"not a {NAME} file")
            saved = doc["members"] if doc.get("format", 1) >= 2 else [{"info": doc["info"], "model": doc["model"]}]
            members = [_loaded(m["model"], m["info"]) for m in saved]
            if not members:
                raise ValueError("no model in the file")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"conversation layer {path} is corrupt ({e}); run "
                                  "`recassist train conversations`") from None
        if catalog_version is not None and doc["catalog_version"] != catalog_version:
            raise StateMismatchError(f"the conversation layer {path} was trained on another catalog version; "
                                     "run `recassist train conversations`")
        if tuple(doc["features"]) != tuple(features):
            raise StateMismatchError(f"the conversation layer {path} uses other features than this version; "
                                     "run `recassist train conversations`")
        config = config_from(LayerConfig, doc["config"], path)
        return cls(members, doc["features"], config, doc["catalog_version"], doc["info"])


def _fit_one(X, y, groups, X_sel, y_sel, groups_sel, features: Sequence[str], cfg: LayerConfig,
             progress=None) -> _Member:
    import lightgbm as lgb

    params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "num_leaves": cfg.num_leaves,
              "learning_rate": cfg.learning_rate, "min_data_in_leaf": cfg.min_data_in_leaf,
              "feature_fraction": cfg.feature_fraction, "num_threads": cfg.threads, "seed": cfg.seed,
              "deterministic": True, "verbose": -1}
    train = lgb.Dataset(X, y, group=groups, feature_name=list(features), free_raw_data=True)
    valid = lgb.Dataset(X_sel, y_sel, group=groups_sel, reference=train)
    callbacks = [lgb.early_stopping(cfg.early_stopping, verbose=False)]
    if progress is not None:
        callbacks.append(lambda env: progress(env.iteration + 1))
    booster = lgb.train(params, train, num_boost_round=cfg.max_trees, valid_sets=[valid], callbacks=callbacks)
    return _Member({"trees": booster.best_iteration, "selection_ndcg@10": booster.best_score["valid_0"]["ndcg@10"],
                    "train_requests": int(len(groups)), "train_rows": int(len(y)),
                    "selection_requests": int(len(groups_sel))}, booster)


def _some_negatives(X: np.ndarray, y: np.ndarray, share: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """The request's rows with every positive and about `share` of the negatives (at least one)."""
    if share >= 1:
        return X, y
    keep = (y > 0) | (rng.random(len(y)) < share)
    if not (keep & (y == 0)).any() and (y == 0).any():
        keep[np.flatnonzero(y == 0)[0]] = True
    return X[keep], y[keep]


def _stacked(requests: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.concatenate([x for x, _ in requests]), np.concatenate([y for _, y in requests]),
            np.array([len(y) for _, y in requests]))


def _summary(members: Sequence[_Member]) -> dict:
    """The figures of a layer's members, as one: trees in all, the mean selection NDCG@10, and each member's."""
    return {"trees": sum(m.info["trees"] for m in members),
            "selection_ndcg@10": float(np.mean([m.info["selection_ndcg@10"] for m in members])),
            "train_requests": max(m.info["train_requests"] for m in members),
            "selection_requests": sum(m.info["selection_requests"] for m in members),
            "members": [dict(m.info) for m in members]}


def _loaded(model_text: str, info: dict) -> _Member:
    try:
        return _Member(info, trees=TreeEnsemble.parse(model_text), model_text=model_text)
    except (ValueError, KeyError, IndexError):
        return _Member(info, booster=_booster(model_text), model_text=model_text)


def _booster(model_text: str):
    """A LightGBM booster from model text; `ValueError` when LightGBM cannot read it."""
    import lightgbm as lgb

    try:
        return lgb.Booster(model_str=model_text)
    except lgb.basic.LightGBMError as e:
        raise ValueError(str(e)) from None
