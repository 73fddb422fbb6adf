"""The corpus-count scorers alone on the part of the training dialogues held out for settings.

    python bench/bench_conversation_scorers.py [--corpus PATH ...] [--dims 32 64 128] [--prior-weights 0.05 0.1 0.2]

Fits co-suggestion and co-mention (`ranking/dialogue/`) on folds 1-4 of the corpus (default: the shipped ReDial
training dialogues) and ranks the catalog at every recommender turn of fold 0 that newly suggests items (the
dedup protocol: items named before are excluded), from the items the corpus says were named before. Prints
Recall@10 / @50 per setting. Only the catalog is needed (no data dir); settings are chosen here, never on
redial-dev.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from recassist.assistant.dialogue.training import SELECT_FOLD, SHIPPED_CORPUS, fold_of_id, read_corpora
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.settings import Settings
from recassist.ranking.dialogue.comention import CoMention, CoMentionConfig
from recassist.ranking.dialogue.corpus import recommendation_turns
from recassist.ranking.dialogue.cosuggest import CoSuggestion


def recall(score, held, index, ks=(10, 50)) -> tuple[list[float], int]:
    hits, n = dict.fromkeys(ks, 0), 0
    for conv in held:
        for rt in recommendation_turns(conv):
            s = np.asarray(score(rt.context, rt.polarity), np.float64).copy()
            s[[index[x] for x in rt.context if x in index]] = -np.inf
            top = np.argpartition(-s, max(ks))[: max(ks)]
            top = top[np.argsort(-s[top], kind="stable")]
            for t in rt.targets:
                n += 1
                where = np.flatnonzero(top == index[t]) if t in index else []
                for k in ks:
                    hits[k] += len(where) > 0 and where[0] < k
    return [hits[k] / max(1, n) for k in ks], n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", action="append", default=[], help="corpus file (default: the shipped one)")
    ap.add_argument("--dims", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--prior-weights", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    args = ap.parse_args()
    t0 = time.perf_counter()
    catalog = load_catalog_cached(str(Settings().catalog_dir))
    convs, stats = read_corpora(args.corpus or [SHIPPED_CORPUS], catalog)
    ids = list(catalog.items)
    index = {x: i for i, x in enumerate(ids)}
    fit = [c for c in convs if fold_of_id(c.conversation_id) != SELECT_FOLD]
    held = [c for c in convs if fold_of_id(c.conversation_id) == SELECT_FOLD]
    print(f"corpus: {stats}; fitted on {len(fit)} conversations, ranking for {len(held)} held out")
    (r10, r50), n = recall(CoSuggestion(ids).fit(fit).score, held, index)
    print(f"{'co-suggestion (defaults)':<45} R@10 {r10:.3f}  R@50 {r50:.3f}  ({n} targets)", flush=True)
    for dim in args.dims:
        base = CoMention(ids, CoMentionConfig(dim=dim)).fit(fit)
        for w in args.prior_weights:
            m = CoMention(ids, CoMentionConfig(dim=dim, prior_weight=w))
            m.vectors, m.log_prior = base.vectors, base.log_prior  # same fit, another prior weight
            (r10, r50), _ = recall(m.score, held, index)
            print(f"{f'co-mention, {dim} dims, prior weight {w}':<45} R@10 {r10:.3f}  R@50 {r50:.3f}", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
