"""How a trained SASRec ensemble scores users, in numpy: shared by the torch ranker that trains
(`ranking.sasrec.SASRecRanker`) and the torch-free one that serves (`ranking.sasrec_numpy`).

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

from abc import abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
from recassist.foundation.errors import ConfigError
from recassist.foundation.lru import LRU
from recassist.ranking.base import EncodedUser, Ranker
from recassist.ranking.ease_blend import EaseBlend, Moments, std_from_sums

TextEncoder = Callable[[list[str]], np.ndarray]

ASPECT_WEIGHT = 0.5  # aspect bonus, in standard deviations of the sequence scores
PRIOR_WEIGHT = 0.5  # popularity prior for aspect-only users, relative to the aspect score
STATE_CACHE_SIZE = 4096  # remembered user states; each is members x d floats (~1 KB)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


class SASRecScoring(Ranker):
    """Scoring over `_items` (float32 [n_items, members * d], the members' item vectors side by side);
    subclasses compute user states (`_ensemble_states`) and set the arrays in `_adopt_arrays`."""

    def __init__(self, text_encoder: TextEncoder | None = None) -> None:
        super().__init__()
        self.text_encoder = text_encoder
        self._items = np.zeros((0, 0), np.float32)
        self._text = np.zeros((0, 0), np.float32)
        self._prior = np.zeros(0, np.float32)  # log(1 + training interactions) [n_items]
        self._counts = np.zeros(0, np.int64)
        self._blend: EaseBlend | None = None
        self._states = LRU(STATE_CACHE_SIZE)  # history tokens -> (user state, its score moments)

    @abstractmethod
    def _ensemble_states(self, histories: list[np.ndarray]) -> np.ndarray:
        """float32 [len(histories), members * d]: each history's state, divided by the number of members
        (so its dot product with `_items` is the mean of the members' scores)."""

    def _adopt_arrays(self, items: np.ndarray, text: np.ndarray, counts: np.ndarray) -> None:
        self._items = np.ascontiguousarray(items, dtype=np.float32)
        self._moments = Moments(self._items)  # spread of a user's scores without scoring all items
        self._states = LRU(STATE_CACHE_SIZE)  # states of the previous networks are not these
        self._text = np.asarray(text, dtype=np.float32)
        self._counts = np.asarray(counts, dtype=np.int64)
        self._prior = np.log1p(self._counts).astype(np.float32)

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
            seq_scores = self._items[np.asarray(idx)] @ h
            if self._blend is not None:  # each part scaled by its spread over all items
                seq_scores = self._blend.blend_subset(seq_scores, seq_std, user.items, idx)
        return self._finish(user, seq_scores, idx)

    def _user_state(self, items: np.ndarray) -> tuple[np.ndarray, float]:
        """The ensemble's state after `items` and the spread of its scores over all items, remembered
        per history: the networks' forward passes are most of a request's ranking time, and a
        returning user (paging, refining with a filter) asks with the same history again."""
        key = np.asarray(items, dtype=np.int64).tobytes()
        found = self._states.get(key)
        if found is not None:
            return found
        h = self._ensemble_states([np.asarray(items)])[0]
        s1, s2 = self._moments.sums(h)
        state = (h, std_from_sums(self._moments.n, s1, s2))
        self._states.put(key, state)
        return state

    def _sequence_scores(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores over all items [len(histories), n_items] of users with items, the EASE blend included."""
        scores = self._ensemble_states(list(histories)) @ self._items.T
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
