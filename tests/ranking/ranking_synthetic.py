"""Seeded synthetic catalog with a known right answer, shared by every ranker's contract tests.

4 clusters of 10 items. Each user belongs to one cluster and consumes 9 of its items:
in random order for clusters 0-2, in cyclic order (item k then k+1 mod 10, from a random
start) for cluster 3, so a sequence model has an order to learn there. Cluster 0 has the
most users, cluster 3 the fewest, so popularity and personalisation disagree for
cluster-3 users. Two extra items have no interactions: 'new3' reads like cluster 3,
'new0' like cluster 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from recassist.foundation.catalog import Catalog, Interaction, Item
from recassist.ranking.data import Split, leave_one_out

CLUSTERS, PER_CLUSTER, WALK = 4, 10, 9
USERS_PER_CLUSTER = (60, 30, 20, 20)
TEXT_DIM = 16


def item_id(cluster: int, k: int) -> str:
    return f"c{cluster}i{k}"


@dataclass
class Synthetic:
    catalog: Catalog
    split: Split
    text: np.ndarray  # [n_items, TEXT_DIM] in catalog order

    def cluster_of(self, item: str) -> int:
        return int(item[1]) if item.startswith("c") else int(item[-1])

    def aspect_vector(self, aspect: str) -> np.ndarray:
        """What a fake encoder returns for genre 'C<k>': the cluster's text direction."""
        v = np.zeros(TEXT_DIM, np.float32)
        v[int(aspect[1])] = 1.0
        return v


def _text(cluster: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(0, 0.15, TEXT_DIM).astype(np.float32)
    v[cluster] += 1.0
    return v / np.linalg.norm(v)


def make_synthetic(seed: int = 0) -> Synthetic:
    rng = np.random.default_rng(seed)
    items = {}
    for c in range(CLUSTERS):
        for k in range(PER_CLUSTER):
            items[item_id(c, k)] = Item(item_id=item_id(c, k), title=f"Item {c}-{k}", genres=(f"C{c}",))
    for c in (3, 0):
        items[f"new{c}"] = Item(item_id=f"new{c}", title=f"New {c}", genres=(f"C{c}",))
    interactions, t, user = [], 0, 0
    for c, n_users in enumerate(USERS_PER_CLUSTER):
        for _ in range(n_users):
            start = int(rng.integers(PER_CLUSTER))
            order = [(start + step) % PER_CLUSTER for step in range(WALK)]
            if c != 3:
                order = rng.permutation(PER_CLUSTER)[:WALK].tolist()
            for k in order:
                t += 1
                interactions.append(Interaction(f"u{user}", item_id(c, k), 1.0, t))
            user += 1
    catalog = Catalog("synthetic", items, interactions)
    text = np.stack([_text(int(i[1]) if i.startswith("c") else int(i[-1]), rng) for i in catalog.item_ids])
    split = leave_one_out(catalog)
    split = Split(split.train.with_text(text, "fake"), split.test_histories, split.test_targets,
                  split.full_sequences)
    return Synthetic(catalog, split, text)
