"""A process for the crash runs to SIGKILL: it writes one kind of state in a loop, acknowledging each write.

    python tests/security/robust_crash_worker.py KIND DATA_DIR CATALOG_DIR

KIND: feedback (feedback and profile writes from 4 threads), catalog (item upserts as the Assistant makes
them: update log, then vector index), train (ranker training with checkpoint writes), index (index build).
Prints "READY" once set up and "ACK <json>" after each write returns (what the API answers 2xx for).
"""

from __future__ import annotations

import json
import random
import sys
import threading
from pathlib import Path

from recassist.foundation.settings import Settings

_OUT = threading.Lock()


def say(line: str) -> None:
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def feedback(settings: Settings) -> None:
    from recassist.assistant.store import open_store
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.profile import InterestProfile

    catalog = load_catalog_cached(str(settings.catalog_dir))
    store = open_store(settings, catalog)
    ids = list(catalog.item_ids)
    say("READY")

    def loop(worker: int) -> None:
        rng = random.Random(worker * 7919 + random.randrange(10**6))
        while True:
            user = f"crash-u{rng.randrange(20)}"
            item = rng.choice(ids)
            if rng.random() < 0.8:
                kind = rng.choice(["like", "dislike", "seen", "not_interested"])
                store.record_feedback(user, item, kind, catalog=catalog)
                say("ACK " + json.dumps({"op": "feedback", "user": user, "item": item, "kind": kind}))
            else:
                store.get_profile(user, create=True)
                theme = f"theme {rng.randrange(10**9)}"
                delta = InterestProfile.model_validate({"themes": [{"text": theme, "source": {"text": theme}}]})
                store.merge_profile(user, delta, "crash run")
                say("ACK " + json.dumps({"op": "merge", "user": user, "theme": theme}))

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def catalog_updates(settings: Settings) -> None:
    # What `Assistant.upsert_item` does (update log first, then the index), without loading the rest of the
    # Assistant: on 2 busy cores that start-up would take most of each run.
    from recassist.foundation.catalog import Item, load_catalog_cached
    from recassist.foundation.catalog.updates import apply_updates, record_upsert
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import upsert_items

    catalog = apply_updates(load_catalog_cached(str(settings.catalog_dir)), settings)
    embedder = get_embedder(settings)
    say("READY")
    rng = random.Random()
    n = 0
    while True:
        n += 1
        item = Item(item_id=f"crash-item-{rng.randrange(10**9)}", title=f"Crash Test Film {n}", year=2020,
                    genres=["Drama"], description="A film written during a crash run.")
        record_upsert(settings, item)
        catalog = upsert_items(catalog, [item], settings, embedder)
        say("ACK " + json.dumps({"op": "upsert", "item": item.item_id}))


def train(settings: Settings) -> None:
    import torch
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.ranking.data import all_for_training
    from recassist.ranking.sasrec import SASRecRanker
    from recassist.ranking.sasrec_config import SASRecConfig
    from recassist.ranking.serving import default_checkpoint

    catalog = load_catalog_cached(str(settings.catalog_dir))
    torch.set_num_threads(1)
    cfg = SASRecConfig(max_epochs=50, hidden=16, blocks=1, max_len=20, eval_every=1, patience=50, all_windows=False,
                       threads=1, use_text=False, members=1)
    say("READY")
    SASRecRanker(cfg).fit(all_for_training(catalog), progress=False, checkpoint=default_checkpoint(settings))
    say("ACK " + json.dumps({"op": "trained"}))


def index(settings: Settings) -> None:
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.retrieval.embedders import get_embedder
    from recassist.retrieval.index import build_index

    catalog = load_catalog_cached(str(settings.catalog_dir))
    embedder = get_embedder(settings)
    say("READY")
    build_index(catalog, settings, embedder, progress=False)
    say("ACK " + json.dumps({"op": "indexed"}))


KINDS = {"feedback": feedback, "catalog": catalog_updates, "train": train, "index": index}

if __name__ == "__main__":
    kind, data_dir, catalog_dir = sys.argv[1:4]
    KINDS[kind](Settings(data_dir=Path(data_dir), catalog_dir=Path(catalog_dir)))
