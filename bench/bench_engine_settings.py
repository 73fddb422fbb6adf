"""The hand-set blend's constants, each varied alone, on the ReDial training dialogues held out for settings.

The constants: the weights in `assistant/conversation/scoring.py`, the trend's in `retrieval/trending.py` and
the franchise cap in `assistant/conversation/diversity.py`.

The blend is what the engine answers with when no conversation layer is trained, and its score and rank
are two of the layer's features. Nothing in it is fitted on dialogues, so any training dialogues can
choose its constants; the held-out fold (`SELECT_FOLD`) is the one every other setting is chosen on.

Each dialogue is read once (extraction without the LLM, as `recassist eval conversation --no-llm`); then
every setting ranks every recommender turn with `engine.recommend` and no layer. Dedup protocol: items
mentioned earlier are excluded, targets outside the catalog count as misses.

    RECASSIST_DATA_DIR=... python bench/bench_engine_settings.py [--limit N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def read_turns(assistant, dialogues) -> list:
    """Every recommender turn of `dialogues` as a request (`crs_eval.TurnRequest`), read once."""
    from recassist.assistant.evaluation.crs_eval import turn_requests
    from recassist.assistant.extraction.mentions import matcher_for

    matcher = matcher_for(assistant.catalog)
    return [t for d in dialogues for t in turn_requests(assistant, matcher, d, use_llm=False)]


def hits(engine, turns: list) -> np.ndarray:
    """[targets, 2]: whether each target ranked in the top 10 / top 50 (targets outside the catalog: misses)."""
    out = []
    for t in turns:
        got = [r.item_id for r in engine.recommend(t.profile, t.history, k=50, text=t.text, exclude=t.mentioned,
                                                    named_genres=t.named_genres)]
        rank = {x: i for i, x in enumerate(got)}
        out += [(rank.get(x, 50) < 10, x in rank) for x in t.targets]
    return np.array(out, float)


#: name -> (module, constant, values tried). The first value of each is the current default.
GRID = {
    "trend weight (short histories)": ("scoring", "TREND_WEIGHT_SHORT", [3.0, 0.0, 1.0, 2.0, 4.0]),
    "new-release bonus": ("scoring", "NEW_RELEASE_BONUS", [1.0, 0.0, 0.5, 2.0]),
    "trend age floor (years)": ("trending", "MIN_AGE_YEARS", [0.05, 0.25, 1.0, 2.0]),
    "new-release years": ("trending", "NEW_RELEASE_YEARS", [2, 1, 3]),
    "text weight": ("scoring", "TEXT_WEIGHT", [0.5, 0.0, 1.0, 2.0]),
    "content weight (short histories)": ("scoring", "CONTENT_WEIGHT_SHORT", [2.0, 1.0, 3.0, 4.0]),
    "fusion weight": ("scoring", "FUSION_WEIGHT", [0.5, 0.0, 1.0]),
    "theme weight": ("scoring", "THEME_WEIGHT", [1.0, 0.0, 2.0]),
    "trend z cap": ("scoring", "TREND_Z_CAP", [2.5, 1.5, 4.0]),
    "films per franchise": ("diversity", "MAX_PER_FRANCHISE", [2, 1, 3]),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--redial", default=None, help="ReDial training dialogues (default: the shared data's)")
    p.add_argument("--limit", type=int, default=None, help="only the first N held-out dialogues")
    p.add_argument("--only", nargs="*", default=None, help="only these settings (names as printed)")
    args = p.parse_args()

    from pathlib import Path

    from recassist.assistant.conversation import Assistant, diversity, scoring
    from recassist.assistant.dialogue.training import SELECT_FOLD, fold_of_id
    from recassist.assistant.evaluation.redial import load_dialogues
    from recassist.foundation.settings import Settings
    from recassist.retrieval import trending

    path = args.redial or str(Path(__file__).resolve().parents[2] / "shared/data/redial-train/dialogues.jsonl")
    assistant = Assistant.open(Settings(), use_llm=False)
    engine = assistant.engine
    engine.conversation = None  # the hand-set blend alone
    held = [d for d in load_dialogues(path) if fold_of_id(f"redial-{d.conversation_id}") == SELECT_FOLD]
    held = held[: args.limit]
    t0 = time.perf_counter()
    turns = read_turns(assistant, held)
    print(f"{len(held)} held-out training dialogues (fold {SELECT_FOLD}), {len(turns)} recommender turns, "
          f"read in {time.perf_counter() - t0:.0f} s", flush=True)
    modules = {"scoring": scoring, "trending": trending, "diversity": diversity}
    arrays = engine.candidates.arrays

    def refresh_trend():
        # The trend and new-release arrays are computed once per catalog; recompute them in place.
        arrays.trending[:] = trending.trending_scores(engine.catalog, arrays.index)
        arrays.new_release[:] = trending.new_releases(engine.catalog, arrays.years)
        gen = engine.candidates
        order = np.lexsort((-arrays.popularity, -arrays.trending))
        gen._popular_order = order[arrays.popularity[order] > 0] if gen._has_interactions else order

    base = hits(engine, turns)
    print(f"defaults: Recall@10 {base[:, 0].mean():.4f}  Recall@50 {base[:, 1].mean():.4f}  ({len(base)} targets)",
          flush=True)
    for name, (mod, const, values) in GRID.items():
        if args.only and name not in args.only:
            continue
        module = modules[mod]
        default = getattr(module, const)
        for v in values[1:]:
            setattr(module, const, v)
            if mod == "trending":
                refresh_trend()
            h = hits(engine, turns)
            d = h - base  # paired by target
            se = d.std(axis=0) / np.sqrt(len(d))
            print(f"{name} = {v}: Recall@10 {h[:, 0].mean():.4f}  Recall@50 {h[:, 1].mean():.4f}  difference "
                  f"{d[:, 0].mean():+.4f} / {d[:, 1].mean():+.4f} (se {se[0]:.4f} / {se[1]:.4f})", flush=True)
        setattr(module, const, default)
        if mod == "trending":
            refresh_trend()
    return 0


if __name__ == "__main__":
    sys.exit(main())
