"""The learned ranking layer: a LightGBM LambdaRank model over per-candidate features of one request.

Saved as one JSON file (atomic replace) holding the model text, its feature names, its config, the catalog
version and what it was trained on; a file from another catalog version or with other features is refused
with a message naming the command that rebuilds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from recassist.foundation.errors import StateMismatchError
from recassist.ranking.dialogue.files import config_from
from recassist.ranking.dialogue.trees import TreeEnsemble
from recassist.ranking.storage import CheckpointError, atomic_write

NAME = "conversation-layer"
FORMAT = 1


@dataclass(frozen=True)
class LayerConfig:
    num_leaves: int = 31
    learning_rate: float = 0.05
    max_trees: int = 600
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    early_stopping: int = 50  # trees without NDCG@10 gain on the selection split before stopping
    threads: int = 2
    seed: int = 0


class LearnedLayer:
    """Scores candidates from their feature rows; `score(X)` -> float64 [len(X)], higher is better."""

    def __init__(self, booster, features: Sequence[str], config: LayerConfig, catalog_version: str,
                 info: dict | None = None, *, trees: TreeEnsemble | None = None, model_text: str = "") -> None:
        """`booster`: a LightGBM booster, or None when `trees` (the same model in numpy, from `model_text`)
        scores; the booster is then built from `model_text` only if asked for (`importance`)."""
        self._booster = booster
        self._trees, self._model_text = trees, model_text
        self.features = tuple(features)
        self.config = config
        self.catalog_version = catalog_version
        self.info = info or {}

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, groups: np.ndarray, X_sel: np.ndarray, y_sel: np.ndarray,
            groups_sel: np.ndarray, features: Sequence[str], config: LayerConfig | None = None,
            catalog_version: str = "", progress=None) -> LearnedLayer:
        """LambdaRank on (X, y) grouped by request (`groups`: rows per request); the number of trees is chosen
        by NDCG@10 on the selection split (X_sel, ...), which is never fitted on."""
        import lightgbm as lgb

        cfg = config or LayerConfig()
        params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "num_leaves": cfg.num_leaves,
                  "learning_rate": cfg.learning_rate, "min_data_in_leaf": cfg.min_data_in_leaf,
                  "feature_fraction": cfg.feature_fraction, "num_threads": cfg.threads, "seed": cfg.seed,
                  "deterministic": True, "verbose": -1}
        train = lgb.Dataset(X, y, group=groups, feature_name=list(features), free_raw_data=True)
        valid = lgb.Dataset(X_sel, y_sel, group=groups_sel, reference=train)
        callbacks = [lgb.early_stopping(cfg.early_stopping, verbose=False)]
        if progress is not None:
            callbacks.append(lambda env: progress(env.iteration + 1))
        booster = lgb.train(params, train, num_boost_round=cfg.max_trees, valid_sets=[valid],
                            callbacks=callbacks)
        info = {"trees": booster.best_iteration, "selection_ndcg@10": booster.best_score["valid_0"]["ndcg@10"],
                "train_requests": int(len(groups)), "selection_requests": int(len(groups_sel))}
        return cls(booster, features, cfg, catalog_version, info)

    @property
    def booster(self):
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self._model_text)
        return self._booster

    def score(self, X: np.ndarray) -> np.ndarray:
        if self._trees is not None:  # the saved trees are exactly the ones in use (`save` cuts the rest)
            return self._trees.predict(X)
        return self.booster.predict(X, num_iteration=self.info.get("trees") or None, num_threads=1)

    def importance(self) -> dict[str, float]:
        gain = self.booster.feature_importance("gain", iteration=self.info.get("trees") or None)
        return dict(sorted(zip(self.features, map(float, gain), strict=True), key=lambda kv: -kv[1]))

    # --- files --------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        doc = {"ranker": NAME, "format": FORMAT, "config": asdict(self.config), "features": list(self.features),
               "catalog_version": self.catalog_version, "info": self.info,
               "model": self.booster.model_to_string(num_iteration=self.info.get("trees") or None)}
        atomic_write(path, lambda f: f.write(json.dumps(doc).encode("utf-8")))

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None, features: Sequence[str]) -> LearnedLayer:
        """Raises `CheckpointError` (missing, corrupt) or `StateMismatchError` (other catalog or features).
        The trees score in numpy (`ranking.dialogue.trees`); LightGBM loads only for a model they do not cover."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"no conversation layer at {path}; run `recassist train conversations`")
        booster, trees = None, None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("ranker") != NAME:
                raise ValueError(f"not a {NAME} file")
            try:
                trees = TreeEnsemble.parse(doc["model"])
            except (ValueError, KeyError, IndexError):
                booster = _booster(doc["model"])
        except (OSError, ValueError, KeyError) as e:
            raise CheckpointError(f"conversation layer {path} is corrupt ({e}); run "
                                  "`recassist train conversations`") from None
        if catalog_version is not None and doc["catalog_version"] != catalog_version:
            raise StateMismatchError(f"the conversation layer {path} was trained on another catalog version; "
                                     "run `recassist train conversations`")
        if tuple(doc["features"]) != tuple(features):
            raise StateMismatchError(f"the conversation layer {path} uses other features than this version; "
                                     "run `recassist train conversations`")
        config = config_from(LayerConfig, doc["config"], path)
        return cls(booster, doc["features"], config, doc["catalog_version"], doc["info"], trees=trees,
                   model_text=doc["model"])


def _booster(model_text: str):
    """A LightGBM booster from model text; `ValueError` when LightGBM cannot read it."""
    import lightgbm as lgb

    try:
        return lgb.Booster(model_str=model_text)
    except lgb.basic.LightGBMError as e:
        raise ValueError(str(e)) from None
