"""`SASRecRanker`: the trained self-attention ranker behind the `Ranker` seam.

How a user is scored:
- with items (history, then profile liked items): the transformer's state at the newest
  item, dotted with every candidate's vector (id embedding + projected text); with an ensemble
  (`SASRecConfig.members`), the mean of the members' such scores; with `ease_blend`, plus a
  small, validation-picked share of EASE's item-item scores (`ranking.ease_blend`);
- with profile aspects (genres / tags): their text embeddings' mean cosine with each
  candidate's text (liked minus disliked), added as a standardised bonus;
- with aspects only: that aspect score plus a small popularity prior;
- with nothing: popularity (log of training interactions).
Items never seen in training are scored through their text vector alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from recassist.foundation.errors import ConfigError
from recassist.foundation.lru import LRU
from recassist.ranking.base import EncodedUser, Ranker, register
from recassist.ranking.data import InteractionData
from recassist.ranking.ease_blend import EaseBlend, Moments, std_from_sums
from recassist.ranking.sasrec_ckpt import add_to_checkpoint, read_checkpoint, write_checkpoint
from recassist.ranking.sasrec_model import SASRecConfig, SASRecNet
from recassist.ranking.sasrec_train import ensemble_items, ensemble_states, payload, train
from recassist.ranking.storage import CheckpointError

TextEncoder = Callable[[list[str]], np.ndarray]

ASPECT_WEIGHT = 0.5  # aspect bonus, in standard deviations of the sequence scores
PRIOR_WEIGHT = 0.5  # popularity prior for aspect-only users, relative to the aspect score


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


STATE_CACHE_SIZE = 4096  # remembered user states; each is members x d floats (~1 KB)


@register
class SASRecRanker(Ranker):
    """Self-attention sequential ranker with text-fused item vectors.

    `text_encoder(texts) -> float32 [n, t]` (L2-normalised, the model that embedded the items)
    is needed only to score profile aspects; without one such a query raises `ConfigError`.
    """

    name = "sasrec"

    def __init__(self, config: SASRecConfig | None = None, text_encoder: TextEncoder | None = None) -> None:
        super().__init__()
        self.config = config or SASRecConfig()
        self.text_encoder = text_encoder
        self.nets: list[SASRecNet] = []  # ensemble members (one by default)
        self.catalog_version = ""
        self.text_model = ""
        self.report: dict[str, Any] = {}
        self._items = torch.zeros(0, 0)  # members' item vectors side by side [n_items, members * d]
        self._tables: list[torch.Tensor] = []  # per member: its item vectors after a zero padding row
        self._text = np.zeros((0, 0), np.float32)
        self._prior = np.zeros(0, np.float32)  # log(1 + training interactions) [n_items]
        self._blend: EaseBlend | None = None
        self._states = LRU(STATE_CACHE_SIZE)  # history tokens -> (user state, its score moments)

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
            self._items = ensemble_items(nets)
            # Built once: copying a table per request costs ms.
            self._tables = [net.padded(net.item_matrix()) for net in nets]
        self._moments = Moments(self._items.numpy())  # spread of a user's scores without scoring all items
        self._states = LRU(STATE_CACHE_SIZE)  # states of the previous networks are not these
        self._text = nets[0].text.numpy()
        self._counts = np.asarray(counts, dtype=np.int64)
        self._prior = np.log1p(self._counts).astype(np.float32)

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

    # --- scoring ---------------------------------------------------------
    def score(self, users: Sequence[EncodedUser]) -> np.ndarray:
        self._require_fitted()
        out = np.empty((len(users), len(self.item_ids)), dtype=np.float32)
        with_items = [r for r, u in enumerate(users) if len(u.items)]
        if with_items:
            out[with_items] = self._sequence_scores([users[r].items for r in with_items])
        everything = np.arange(len(self.item_ids))
        for r, u in enumerate(users):
            if u.liked_aspects or u.disliked_aspects or not len(u.items):
                out[r] = self._finish(u, out[r] if len(u.items) else None, everything)
        return out

    def score_subset(self, user: EncodedUser, idx: np.ndarray) -> np.ndarray:
        """One user, candidates `idx` only: one unpadded forward pass per member (~ms on one thread)."""
        self._require_fitted()
        seq_scores = None
        if len(user.items):
            h, seq_std = self._user_state(user.items[-self.config.max_len:])
            with torch.inference_mode():
                seq_scores = (self._items[torch.as_tensor(idx)] @ h).numpy()
            if self._blend is not None:  # each part scaled by its spread over all items
                seq_scores = self._blend.blend_subset(seq_scores, seq_std, user.items, idx)
        return self._finish(user, seq_scores, idx)

    def _user_state(self, items: np.ndarray) -> tuple[torch.Tensor, float]:
        """The ensemble's state after `items` and the spread of its scores over all items, remembered
        per history: the networks' forward passes are most of a request's ranking time, and a
        returning user (paging, refining with a filter) asks with the same history again."""
        key = np.asarray(items, dtype=np.int64).tobytes()
        found = self._states.get(key)
        if found is not None:
            return found
        tokens = torch.as_tensor(items + 1).unsqueeze(0)
        with torch.inference_mode():
            h = torch.cat([net.hidden_states(tokens, table, last_only=True)[0, -1]
                           for net, table in zip(self.nets, self._tables, strict=True)]) / len(self.nets)
        s1, s2 = self._moments.sums(h.numpy())
        state = (h, std_from_sums(self._moments.n, s1, s2))
        self._states.put(key, state)
        return state

    def _sequence_scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores over all items [len(histories), n_items] of users with items, the EASE blend included."""
        with torch.inference_mode():
            h = ensemble_states(self.nets, self._tables, list(histories))
            scores = (h @ self._items.T).numpy()
        return scores if self._blend is None else self._blend.blend(scores, histories)

    def _finish(self, user: EncodedUser, seq_scores: np.ndarray | None, idx: np.ndarray) -> np.ndarray:
        """Blend sequence scores (or their absence) with aspect and popularity evidence for `idx`."""
        aspect = self._aspect_scores(user, idx)
        if seq_scores is not None:
            if aspect is None:
                return seq_scores
            return (seq_scores + ASPECT_WEIGHT * float(seq_scores.std()) * _z(aspect)).astype(np.float32)
        prior = self._prior[idx]
        if aspect is None:
            return prior.copy()
        return (_z(aspect) + PRIOR_WEIGHT * _z(prior)).astype(np.float32)

    def _aspect_scores(self, user: EncodedUser, idx: np.ndarray) -> np.ndarray | None:
        """Mean text cosine with liked aspects minus that with disliked ones, float32 [len(idx)]."""
        if not (user.liked_aspects or user.disliked_aspects):
            return None
        if self.text_encoder is None or self._text.shape[1] == 0:
            raise ConfigError(
                "this ranker was loaded without a text encoder (or trained without text), so it cannot "
                "score profile aspects; load it with ranking.load_default_ranker(settings, catalog)"
            )
        text = self._text[idx]
        s = np.zeros(len(idx), np.float32)
        for aspects, sign in ((user.liked_aspects, 1.0), (user.disliked_aspects, -1.0)):
            if aspects:
                vecs = np.asarray(self.text_encoder(list(aspects)), dtype=np.float32)
                s += sign * (text @ vecs.T).mean(1)
        return s
