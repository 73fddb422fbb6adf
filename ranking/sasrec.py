"""`SASRecRanker`: the trained self-attention ranker behind the `Ranker` seam: training, checkpoints, and
scoring with the torch networks (how users are scored: `ranking.sasrec_scoring`; serving without torch:
`ranking.sasrec_numpy`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from recassist.ranking.base import register
from recassist.ranking.data import InteractionData
from recassist.ranking.ease_blend import EaseBlend
from recassist.ranking.sasrec_ckpt import add_to_checkpoint, read_checkpoint, write_checkpoint
from recassist.ranking.sasrec_model import SASRecConfig, SASRecNet
from recassist.ranking.sasrec_scoring import SASRecScoring, TextEncoder
from recassist.ranking.sasrec_train import ensemble_items, ensemble_states, payload, train
from recassist.ranking.storage import CheckpointError


@register
class SASRecRanker(SASRecScoring):
    """Self-attention sequential ranker with text-fused item vectors.

    `text_encoder(texts) -> float32 [n, t]` (L2-normalised, the model that embedded the items)
    is needed only to score profile aspects; without one such a query raises `ConfigError`.
    """

    name = "sasrec"

    def __init__(self, config: SASRecConfig | None = None, text_encoder: TextEncoder | None = None) -> None:
        super().__init__(text_encoder)
        self.config = config or SASRecConfig()
        self.nets: list[SASRecNet] = []  # ensemble members (one by default)
        self.catalog_version = ""
        self.text_model = ""
        self.report: dict[str, Any] = {}
        self._tables: list[torch.Tensor] = []  # per member: its item vectors after a zero padding row

    # --- training and storage -------------------------------------------
    def fit(self, data: InteractionData, *, progress: bool = False, checkpoint: Path | str | None = None,
            resume: bool = False, on_eval: Callable[[dict], None] | None = None) -> dict[str, Any]:
        """Train (see `ranking.sasrec_train.train`); `checkpoint` is written during training, `on_eval`
        called with each validation row (epoch, ndcg, loss; member with an ensemble)."""
        nets, self.report = train(data, self.config, checkpoint, resume, progress, on_eval)
        self._adopt(nets, data.item_ids, data.catalog_version, data.text_model, data.item_counts())
        if self.config.ease_blend:
            started = time.perf_counter()
            self._blend = EaseBlend.fit(data, self._sequence_scores)
            # The model is not ready before its blend is: count that time as training time too.
            blend_s = round(time.perf_counter() - started, 1)
            self.report["blend_seconds"] = blend_s
            for key in ("seconds_to_best", "seconds_total"):
                self.report[key] = round(self.report[key] + blend_s, 1)
            self.report["ease_weight"] = self._blend.weight if self._blend else 0.0
            if self._blend is not None:
                self.report["ease_decay"] = self._blend.ease.decay
                self.report["ease_lambda"] = self._blend.ease.lam
                self.report["transition_weight"] = self._blend.transition_weight
            if self._blend is not None:  # the served model is the blend: report its validation score
                self.report["networks_valid_ndcg@10"] = self.report["best_valid_ndcg@10"]
                self.report["best_valid_ndcg@10"] = self._blend.valid_ndcg
            if checkpoint is not None and self._blend is not None:
                add_to_checkpoint(checkpoint, "ease", self._blend.state())
        return {k: v for k, v in self.report.items() if k != "history"}

    def _adopt(self, nets: list[SASRecNet], item_ids: Sequence[str], catalog_version: str, text_model: str,
               counts: np.ndarray) -> None:
        self._set_vocabulary(item_ids)
        for net in nets:
            net.eval()
        self.nets, self.config = nets, nets[0].cfg
        self.catalog_version, self.text_model = catalog_version, text_model
        with torch.inference_mode():
            items = ensemble_items(nets).numpy()
            # Built once: copying a table per request costs ms.
            self._tables = [net.padded(net.item_matrix()) for net in nets]
        self._adopt_arrays(items, nets[0].text.numpy(), counts)

    def _ensemble_states(self, histories: list[np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return ensemble_states(self.nets, self._tables, histories).numpy()

    def save(self, path: Path | str) -> None:
        self._require_fitted()
        write_checkpoint(path, payload(self.nets, self.item_ids, self.catalog_version, self.text_model,
                                       self._counts, [net.state_dict() for net in self.nets], None,
                                       self._blend.state() if self._blend else None))

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None,
             text_encoder: TextEncoder | None = None, config: SASRecConfig | None = None) -> SASRecRanker:
        """Load the best weights of a checkpoint (of an ensemble still training: the members so far).

        `catalog_version` / `config`: when given, a checkpoint made for another catalog or
        config raises `StateMismatchError`; a damaged file raises `CheckpointError`.
        """
        ck = read_checkpoint(path, catalog_version, config)
        cfg: SASRecConfig = ck["config"]
        nets = []
        for state in ck["models"]:
            net = SASRecNet(len(ck["item_ids"]), ck["item_text"], ck["has_id"], cfg)
            try:
                net.load_state_dict(state)
            except RuntimeError as e:
                raise CheckpointError(f"{path}: weights do not fit the saved config ({str(e)[:200]})") from None
            nets.append(net)
        r = cls(cfg, text_encoder)
        counts = ck["item_counts"].numpy()
        r._adopt(nets, ck["item_ids"], ck["catalog_version"], ck.get("text_model", ""), counts)
        if ck.get("ease"):
            r._blend = EaseBlend.from_state(ck["ease"], r.item_ids)
        return r
