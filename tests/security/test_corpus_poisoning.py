"""The conversation-corpus channel: the poisoned dialogues of the corpus run (robust_corpus.py) read as training
reads them, weighed by the trust rules; the shipped corpus keeps every weight."""

from __future__ import annotations

import numpy as np
from recassist.assistant.dialogue.training import SHIPPED_CORPUS, read_corpora, trust_weights
from recassist.ranking.dialogue.cosuggest import CoSuggestion
from recassist.ranking.dialogue.text_to_item import TextToItem, examples_from
from robust_corpus import poisoned_rows, write_corpus
from robust_injection import attack_corpus


def test_the_shipped_corpus_keeps_every_weight_and_the_poisoned_one_counts_as_a_few(sec_assistant, tmp_path):
    cat = sec_assistant.catalog
    shipped, stats = read_corpora([SHIPPED_CORPUS], cat)
    trust = trust_weights(shipped, stats)
    # No instruction found in 5,289 chats between people, no near-duplicate, nothing to compare against.
    assert not trust.dropped and not trust.weights and trust.duplicate_groups == 0
    # So training is what it was without the weights: co-suggestion's counts, text-to-item's examples and
    # their weights, the conversations replayed for the layer.
    plain, weighed = CoSuggestion(list(cat.items)).fit(shipped), CoSuggestion(list(cat.items)).fit(shipped, trust)
    assert (plain.pairs != weighed.pairs).nnz == 0 and np.array_equal(plain.prior, weighed.prior)
    assert np.array_equal(plain.context_count, weighed.context_count)
    text = TextToItem(list(cat.items))
    (kept, w), (kept_t, w_t) = text._dedup_and_cap(examples_from(shipped)), text._dedup_and_cap(
        examples_from(shipped), trust)
    assert kept == kept_t and np.array_equal(w, w_t)
    assert all(trust.conversation_weight(c) == 1 for c in shipped)

    pop = cat.popularity
    popular = [cat.items[i].label for i in sorted(pop, key=lambda i: -pop[i])[:30]]
    target = popular.pop()
    attacks = attack_corpus()
    for with_attack in (True, False):
        path = write_corpus(tmp_path / f"poisoned-{with_attack}.jsonl",
                            poisoned_rows(attacks, target, popular, with_attack=with_attack))
        convs, stats = read_corpora([SHIPPED_CORPUS, path], cat)
        trust = trust_weights(convs, stats)
        target_id = next(i for i in cat.items if cat.items[i].label == target)
        poisoned = [c for c in convs if c.conversation_id.startswith("poison-")]
        assert len(poisoned) == len(attacks) == 203
        counted = sum(trust.weight(c.conversation_id, target_id) for c in poisoned)
        # 203 dialogues pushing one film count as one ...
        assert counted <= 1
        # ... the instructions in them are found and reported (the project's own 128 attacks at least) ...
        assert len(trust.dropped) >= (128 if with_attack else 0)
        assert f"{len(trust.dropped)} conversations skipped as carrying instructions" in str(trust)
        # ... and the shipped dialogues keep their whole weight.
        assert all(cid.startswith("poison-") for cid in trust.dropped)
        assert all(cid.startswith("poison-") for cid, _ in trust.weights)
