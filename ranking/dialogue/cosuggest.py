"""Co-suggestion: which items recommenders suggest after the items mentioned so far in a conversation.

Counts, over a corpus of conversations (`ranking.dialogue.corpus`), how often item t was newly suggested by the
recommender after item c had been mentioned, and how often each item was suggested at all (the chat prior).
Scores for a context are the sum over its items of P(t | c) (smoothed), weighted by the seeker's polarity,
plus a little of the chat prior.

One conversation's influence is capped: each (c, t) pair counts once per conversation, and a conversation with
more than `pair_cap` pairs has its pairs scaled down to `pair_cap` in total, so a long or injected dialogue
cannot make an item win everywhere (tests/ranking/test_dialogue.py shows it). Many conversations together are
weighed by `ranking.dialogue.trust` when its weights are passed to `fit` (tests/ranking/test_dialogue_trust.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from recassist.ranking.dialogue.corpus import Conversation, recommendation_turns
from recassist.ranking.dialogue.files import config_from, load_current
from recassist.ranking.dialogue.trust import CorpusTrust
from recassist.ranking.storage import save_npz

NAME = "co-suggestion"
FORMAT = 1


@dataclass(frozen=True)
class CoSuggestConfig:
    pair_cap: float = 40.0  # most pair weight one conversation may add
    smoothing: float = 20.0  # added to a context item's count: rare items' rows are less trusted
    disliked_weight: float = 0.2  # context items the seeker disliked still say something about taste
    prior_weight: float = 0.02  # chat prior (share of conversations suggesting t), relative to P(t | c)
    recency: float = 0.85  # the most recent context item weighs 1, the one before this much, ...


class CoSuggestion:
    """Fitted counts over a fixed list of item ids (the catalog's order)."""

    def __init__(self, item_ids: Sequence[str], config: CoSuggestConfig | None = None) -> None:
        self.config = config or CoSuggestConfig()
        self.item_ids = list(item_ids)
        self.index = {x: i for i, x in enumerate(self.item_ids)}
        n = len(self.item_ids)
        self.pairs = sp.csr_matrix((n, n), dtype=np.float32)  # [context item, suggested item] weights
        self.context_count = np.zeros(n, np.float32)  # conversations each item was context in
        self.prior = np.zeros(n, np.float32)  # share of conversations suggesting each item
        self.conversations = 0
        self.catalog_version = ""

    def fit(self, conversations: Iterable[Conversation], trust: CorpusTrust | None = None) -> CoSuggestion:
        """Counts over `conversations`; `trust` (optional) weighs each (conversation, suggested item) and skips
        the conversations it dropped."""
        rows, cols, vals = [], [], []
        ctx_count = np.zeros(len(self.item_ids), np.float64)
        prior = np.zeros(len(self.item_ids), np.float64)
        n_conv = 0
        for conv in conversations:
            # A conversation the weights silence (dropped, or every suggestion capped to 0) counts nowhere, not
            # even in the prior's denominator: 200 silenced dialogues must leave the model as they found it.
            if trust is not None and trust.conversation_weight(conv) <= 0:
                continue
            pairs: dict[tuple[int, int], None] = {}
            contexts: set[int] = set()
            suggested: set[int] = set()
            for turn in recommendation_turns(conv):
                tg = [self.index[t] for t in turn.targets if t in self.index]
                suggested.update(tg)
                for c in turn.context:
                    if c in self.index:
                        contexts.add(self.index[c])
                        for t in tg:
                            pairs.setdefault((self.index[c], t))
            n_conv += 1
            if not pairs and not suggested:
                continue
            w = min(1.0, self.config.pair_cap / max(1, len(pairs)))
            tw = self._trust_of(conv, trust)
            for c, t in pairs:
                if tw[t] > 0:
                    rows.append(c)
                    cols.append(t)
                    vals.append(w * tw[t])
            conv_w = max(tw.values(), default=1.0)  # a down-weighted conversation's contexts count as little
            for c in contexts:
                ctx_count[c] += min(1.0, self.config.pair_cap / max(1, len(contexts))) * conv_w
            for t in suggested:
                prior[t] += min(1.0, self.config.pair_cap / max(1, len(suggested))) * tw[t]
        n = len(self.item_ids)
        self.pairs = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n, n), dtype=np.float32)
        self.pairs.sum_duplicates()
        self.context_count = ctx_count.astype(np.float32)
        self.prior = (prior / max(1, n_conv)).astype(np.float32)
        self.conversations = n_conv
        return self

    def _trust_of(self, conv: Conversation, trust: CorpusTrust | None) -> dict[int, float]:
        """Catalog row -> weight of each item `conv` suggests (1 without `trust`)."""
        items = [x for x, o in conv.outcomes.items() if "suggested" in o and x in self.index]
        return {self.index[x]: trust.weight(conv.conversation_id, x) if trust else 1.0 for x in items}

    def score(self, context: Sequence[str], polarity: dict[str, int] | None = None) -> np.ndarray:
        """float32 [n_items]: co-suggestion score of every item after `context` (item ids, oldest first).

        Items not in the fitted list are ignored. Higher is better; zero for items never suggested.
        """
        cfg = self.config
        polarity = polarity or {}
        out = cfg.prior_weight * self.prior
        known = [c for c in dict.fromkeys(context) if c in self.index]
        if not known:
            return out.copy()
        rows = np.array([self.index[c] for c in known])
        weights = np.array([cfg.disliked_weight if polarity.get(c, 0) < 0 else 1.0 for c in known], np.float32)
        weights *= cfg.recency ** np.arange(len(known) - 1, -1, -1, dtype=np.float32)
        weights /= self.context_count[rows] + cfg.smoothing
        return out + np.asarray(self.pairs[rows].T @ weights).ravel().astype(np.float32)

    def top_pairs(self, context_item: str, k: int = 3) -> list[tuple[str, float]]:
        """The items most often suggested after `context_item` with their weights (for evidence)."""
        if context_item not in self.index:
            return []
        row = self.pairs[self.index[context_item]]
        order = np.argsort(-row.data)[:k]
        return [(self.item_ids[row.indices[j]], float(row.data[j])) for j in order]

    def pair_weight(self, context_item: str, item: str) -> float:
        if context_item not in self.index or item not in self.index:
            return 0.0
        # A binary search in the row: scipy's element indexing cost ~50 us, and evidence asks ~100 times a turn.
        p, c = self.pairs, self.index[item]
        lo, hi = p.indptr[self.index[context_item]], p.indptr[self.index[context_item] + 1]
        j = lo + int(np.searchsorted(p.indices[lo:hi], c))
        return float(p.data[j]) if j < hi and p.indices[j] == c else 0.0

    # --- files --------------------------------------------------------------
    def save(self, path: Path | str) -> None:
        meta = {"ranker": NAME, "format": FORMAT, "config": asdict(self.config),
                "catalog_version": self.catalog_version, "conversations": self.conversations}
        p = self.pairs.tocsr()
        save_npz(path, meta, {"item_ids": np.array(self.item_ids), "data": p.data, "indices": p.indices,
                              "indptr": p.indptr, "context_count": self.context_count, "prior": self.prior})

    @classmethod
    def load(cls, path: Path | str, catalog_version: str | None = None) -> CoSuggestion:
        """Raises `CheckpointError` (missing / corrupt) or `StateMismatchError` (another catalog version)."""
        meta, a = load_current(path, NAME, "co-suggestion", catalog_version)
        self = cls([str(x) for x in a["item_ids"]], config_from(CoSuggestConfig, meta["config"], path))
        n = len(self.item_ids)
        self.pairs = sp.csr_matrix((a["data"], a["indices"], a["indptr"]), shape=(n, n))
        self.pairs.sort_indices()  # `pair_weight` searches rows
        self.context_count, self.prior = a["context_count"], a["prior"]
        self.conversations, self.catalog_version = int(meta["conversations"]), meta["catalog_version"]
        return self
