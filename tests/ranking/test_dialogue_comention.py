"""Co-mention vectors on small hand-built corpora: pairs never named together still score through shared
neighbours, the chat prior counts, one injected conversation cannot pull its item up everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from recassist.foundation.errors import StateMismatchError
from recassist.ranking.dialogue.comention import CoMention, CoMentionConfig
from recassist.ranking.dialogue.corpus import read_corpus
from recassist.ranking.dialogue.trust import CorpusTrust
from test_dialogue import ITEMS, conv, write

# Ten taste clusters of ten items each (1-10, 11-20, ...); every conversation names three items of one cluster
# and the recommender suggests a fourth from it.
CLUSTERS = [[str(c * 10 + i) for i in range(1, 11)] for c in range(10)]


def clustered_rows(rng, n=600):
    rows = []
    for k in range(n):
        a, b, c, d = rng.choice(CLUSTERS[k % len(CLUSTERS)], size=4, replace=False)
        rows.append(conv(f"h{k}", [(a, d), (b, d), (c, d)]))
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write(tmp_path_factory.mktemp("cm"), clustered_rows(np.random.default_rng(0)))


def test_items_never_named_together_score_through_their_cluster(tmp_path):
    # Within each cluster, items 1-5 are only ever named with each other and 5-10 likewise: item 1 and item 9
    # share item 5 as a neighbour but are never in one conversation.
    rng = np.random.default_rng(1)
    rows = []
    for k in range(400):
        cl = CLUSTERS[k % len(CLUSTERS)]
        side = cl[:5] if (k // len(CLUSTERS)) % 2 else cl[4:]
        a, b, s = rng.choice(side, size=3, replace=False)
        rows.append(conv(f"c{k}", [(a, s), (b, s)]))
    m = CoMention(ITEMS, CoMentionConfig(dim=16, prior_weight=0.0)).fit(read_corpus(write(tmp_path, rows),
                                                                                     set(ITEMS)))
    together = {(x, y) for r in rows for x in _named(r) for y in _named(r)}
    assert ("1", "9") not in together
    s = m.score(["1"])
    other_clusters = [m.index[x] for cl in CLUSTERS[1:] for x in cl]
    assert s[m.index["9"]] > np.max(s[other_clusters])
    assert m.score([])[m.index["9"]] == pytest.approx(0.0)  # no context, no prior weight: nothing to go on


def test_context_ranks_its_cluster_first_and_disliked_items_count_less(corpus):
    m = CoMention(ITEMS, CoMentionConfig(dim=16)).fit(read_corpus(corpus, set(ITEMS)))
    s = m.score(["1", "2"])
    top = {m.item_ids[j] for j in np.argsort(-s)[:10]}
    assert len(top & set(CLUSTERS[0])) >= 8
    mixed = m.score(["1", "51"], {"1": -1})
    assert mixed[m.index["55"]] > mixed[m.index["5"]]
    assert m.score(["999999"]).shape == (len(ITEMS),)  # unknown context items are ignored


def test_one_injected_conversation_cannot_make_an_item_win_everywhere(tmp_path):
    rows = clustered_rows(np.random.default_rng(2))
    spam = {"id": "spam", "messages": [
        {"role": "seeker", "text": "I loved all of these", "mentions": [{"id": str(c)} for c in range(1, 101)]},
        *[{"role": "recommender", "text": "always recommend item 500", "mentions": [{"id": "500"}]}] * 50],
        "outcomes": [{"id": "500", "outcome": ["suggested", "liked"]}]}
    m = CoMention(ITEMS, CoMentionConfig(dim=16)).fit(read_corpus(write(tmp_path, [*rows, spam]), set(ITEMS)))
    ranks = []
    for cl in CLUSTERS:
        s = m.score(cl[:2])
        ranks.append(int(np.sum(s > s[m.index["500"]])))
    assert min(ranks) >= 5  # never near the top: the cluster's own items come first


def test_file_round_trip_and_stale_version(tmp_path, corpus):
    m = CoMention(ITEMS, CoMentionConfig(dim=8)).fit(read_corpus(corpus, set(ITEMS)))
    m.catalog_version = "v1"
    m.save(tmp_path / "cm.npz")
    back = CoMention.load(tmp_path / "cm.npz", "v1")
    assert np.allclose(back.score(["1", "2"]), m.score(["1", "2"]))
    with pytest.raises(StateMismatchError, match="train conversations"):
        CoMention.load(tmp_path / "cm.npz", "v2")


def test_a_corpus_naming_too_few_items_leaves_zero_vectors(tmp_path):
    m = CoMention(ITEMS).fit(read_corpus(write(tmp_path, [conv("a", [("1", "2")])]), set(ITEMS)))
    s = m.score(["1"])
    assert np.isfinite(s).all() and s[m.index["2"]] > s[m.index["3"]]  # the chat prior still counts


def _named(row):
    return [m["id"] for msg in row["messages"] for m in msg.get("mentions", [])]


def test_trust_weights_silence_what_they_drop_and_scale_what_they_cap(tmp_path):
    rows = clustered_rows(np.random.default_rng(3), n=200)
    pushed = [conv(f"p{k}", [("1", "500"), ("55", "500")]) for k in range(20)]  # 20 dialogues pushing item 500
    convs = read_corpus(write(tmp_path, [*rows, *pushed]), set(ITEMS))
    plain = CoMention(ITEMS, CoMentionConfig(dim=16)).fit(convs)
    dropped = CorpusTrust(dropped={f"p{k}": "test" for k in range(20)})
    silenced = CoMention(ITEMS, CoMentionConfig(dim=16)).fit(convs, dropped)
    capped = CorpusTrust(weights={(f"p{k}", "500"): 0.05 for k in range(20)})
    scaled = CoMention(ITEMS, CoMentionConfig(dim=16)).fit(convs, capped)
    i = plain.index["500"]
    assert silenced.log_prior[i] < scaled.log_prior[i] < plain.log_prior[i]
    assert not silenced.vectors[i].any()  # named only in the dropped dialogues: no vector at all
    assert silenced.conversations == plain.conversations - 20
    everyone = CorpusTrust()  # the shipped corpus alone: every weight 1, the same model
    assert np.allclose(CoMention(ITEMS, CoMentionConfig(dim=16)).fit(convs, everyone).score(["1"]), plain.score(["1"]))
