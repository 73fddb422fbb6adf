"""The conversation layer's variants on the requests a training run replayed, all on the training dialogues.

    recassist train conversations --keep-replay /tmp/replay.npz
    python bench/bench_conversation_layer.py /tmp/replay.npz [base] [no-comention] [curve] [--seeds N]

Fits one model on folds 1-4; fold 0 (held out for settings) is split in two halves by
conversation: the number of trees is chosen on one half and Recall@1/10/50 and NDCG@10 measured on the other,
then swapped, and the mean printed. Targets are the corpus's mentions; targets not among the candidates are
misses. Also prints the share of fold 0's targets among the candidates (the ceiling of any ordering). Every
figure is on recommender turns; the seeker's turns naming liked items are fitted on, as training does.

- `base`: every feature, every candidate source;
- `no-comention`: without co-mention's three features and the candidates only co-mention brought in;
- `curve`: every feature, fitted on 25 / 50 / 75 % of the fitted conversations (is the layer under-trained?);
- `folds`: how the layer is fitted (`RECIPES`: one model on every negative, one on a tenth of them, one model per
  fold averaged, the same without the seeker's liked mentions), each fold in turn the test and the other four
  the corpus, paired by target over every recommender turn;
  with `--without F1,F2`, the default recipe with every feature against the same without those features;
  `--save-hits PATH` keeps the first recipe's hits, and `--against PATH` compares them with another replay's
  (two training runs of the same corpus with other candidates or scorers), paired by conversation.

`base`, `no-comention` and `curve` fit one model on every negative (`LearnedLayer.fit`, `LayerConfig`'s defaults
otherwise).

`--seeds N`: each figure the mean over N fits with layer seeds 0..N-1 (one fit's tree count moves Recall@10
by about 0.005 here).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass

import numpy as np
from recassist.assistant.dialogue.features import FEATURES
from recassist.assistant.dialogue.ordering import layer_order
from recassist.assistant.dialogue.replay import SEEKER_LIKED, ReplayedTurns
from recassist.assistant.dialogue.training import SELECT_FOLD, fold_of_id
from recassist.ranking.dialogue.layer import LayerConfig, LearnedLayer

COMENTION = ("comention", "comention_rank_inv", "src_comention_top")
COL = {f: i for i, f in enumerate(FEATURES)}


def requests(path: str) -> list[dict]:
    t = ReplayedTurns.load(path)
    out = []
    for c, x, y, share, n, kind in zip(t.conversation, t.X, t.y, t.genre_share, t.n_targets, t.kind, strict=True):
        half = int(hashlib.md5(c.encode()).hexdigest(), 16) % 2
        out.append({"conv": c, "fold": fold_of_id(c), "half": half, "X": x, "y": y, "share": share, "n": int(n),
                    "seeker_liked": kind == SEEKER_LIKED})
    return out


def measured(reqs: list[dict]) -> list[dict]:
    """The recommender turns: what a chat serves and every figure measures (seeker turns are only fitted on)."""
    return [r for r in reqs if not r["seeker_liked"]]


def only_comention(X: np.ndarray) -> np.ndarray:
    """Rows that are candidates only because co-mention ranked them among its best."""
    return ((X[:, COL["src_not_engine"]] > 0) & (X[:, COL["src_cosugg_top"]] == 0) & (X[:, COL["src_t2i_top"]] == 0)
            & (X[:, COL["src_comention_top"]] > 0))


def view(reqs: list[dict], cols: list[int], comention_pool: bool = True) -> list[dict]:
    out = []
    for r in reqs:
        keep = np.ones(len(r["y"]), bool) if comention_pool else ~only_comention(r["X"])
        out.append(dict(r, X=r["X"][keep][:, cols], y=r["y"][keep], share=r["share"][keep]))
    return out


def pool_share(reqs: list[dict]) -> float:
    return sum(int(r["y"].sum()) for r in reqs) / max(1, sum(r["n"] for r in reqs))


def stack(reqs: list[dict]):
    reqs = [r for r in reqs if r["y"].any()]
    return (np.concatenate([r["X"] for r in reqs]), np.concatenate([r["y"] for r in reqs]),
            np.array([len(r["y"]) for r in reqs]))


def ranks(layer: LearnedLayer, r: dict) -> np.ndarray:
    """Each candidate's rank (1 = first) in the order a chat serves: named genres first, then the layer's score."""
    order = layer_order(layer.score(r["X"]), r["share"])
    rank = np.empty(len(order), int)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def metrics(layer: LearnedLayer, reqs: list[dict], ks=(1, 10, 50)) -> list[float]:
    hits, ndcg, n = dict.fromkeys(ks, 0), 0.0, 0
    for r in reqs:
        n += r["n"]
        if not r["y"].any():  # no target among the candidates (such requests keep no rows): all misses
            continue
        rank = ranks(layer, r)
        for j in np.flatnonzero(r["y"]):
            for k in ks:
                hits[k] += rank[j] <= k
            ndcg += 1 / np.log2(rank[j] + 1) if rank[j] <= 10 else 0.0
    return [hits[k] / max(1, n) for k in ks] + [ndcg / max(1, n)]


def run(name: str, fit: list[dict], held: list[dict], cols: list[int], comention_pool: bool = True,
        seeds: int = 1) -> None:
    t0 = time.perf_counter()
    fitted = view(fit, cols, comention_pool)
    res, trees = [], []
    for h in (0, 1):
        choose = view([r for r in held if r["half"] == h], cols, comention_pool)
        report = view([r for r in held if r["half"] != h], cols, comention_pool)
        for seed in range(seeds):
            layer = LearnedLayer.fit(*stack(fitted), *stack(choose), [FEATURES[c] for c in cols],
                                     LayerConfig(seed=seed))
            res.append(metrics(layer, report))
            trees.append(layer.info["trees"])
    r1, r10, r50, nd = np.mean(res, axis=0)
    print(f"{name:<58} R@1 {r1:.3f}  R@10 {r10:.3f}  R@50 {r50:.3f}  NDCG@10 {nd:.3f}  trees {trees} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)


@dataclass(frozen=True)
class Recipe:
    config: LayerConfig
    seeker_liked: bool = True  # fitted on the seeker's liked mentions too


#: Layer recipes the `folds` comparison fits, each with `LearnedLayer.fit_folds` (the first is the reference).
RECIPES = {
    "one model, every negative, learning rate 0.05": Recipe(LayerConfig(cross_fit=False, negative_share=1.0,
                                                                        learning_rate=0.05)),
    "one model, a tenth of the negatives": Recipe(LayerConfig(cross_fit=False)),
    "one model per fold averaged (the default)": Recipe(LayerConfig()),
    "the default without the seeker's liked mentions": Recipe(LayerConfig(), seeker_liked=False),
    "two models per fold, each its own sample of negatives": Recipe(LayerConfig(models_per_fold=2)),
}


def hits_at(layer: LearnedLayer, reqs: list[dict]) -> np.ndarray:
    """[targets, 2]: whether each target (found among the candidates or not) ranked in the top 10 / top 50."""
    out = []
    for r in reqs:
        if not r["y"].any():  # no target among the candidates (such requests keep no rows): all misses
            out += [(False, False)] * r["n"]
            continue
        rank = ranks(layer, r)
        pos = np.flatnonzero(r["y"])
        out += [(rank[j] <= 10, rank[j] <= 50) for j in pos] + [(False, False)] * (r["n"] - len(pos))
    return np.array(out, float)


def run_folds(reqs: list[dict], recipes: dict[str, tuple[Recipe, list[int]]]) -> dict[str, np.ndarray]:
    """Every fold in turn is the test and the other four the corpus, as training sees them: fitted with each
    recipe (and the feature columns it reads), Recall@10 / @50 over every replayed recommender turn, and each
    recipe's difference from the first, paired by target (with its standard error). Returns each recipe's
    hits (`hits_at`, the test folds one after the other)."""
    hits = {name: [] for name in recipes}
    for test in range(5):
        tests = measured([r for r in reqs if r["fold"] == test])
        for name, (recipe, cols) in recipes.items():
            t0 = time.perf_counter()
            corpus = [r for r in reqs if r["fold"] != test and r["y"].any()
                      and (recipe.seeker_liked or not r["seeker_liked"])]
            others = sorted({r["fold"] for r in measured(corpus)})
            cfg = recipe.config
            layer = LearnedLayer.fit_folds([r["X"][:, cols] for r in corpus], [r["y"] for r in corpus],
                                           [r["fold"] for r in corpus], others if cfg.cross_fit else others[:1],
                                           [FEATURES[c] for c in cols], cfg,
                                           fit_only=[r["seeker_liked"] for r in corpus])
            hits[name].append(hits_at(layer, view(tests, cols)))
            print(f"  test fold {test}, {name}: R@10 {hits[name][-1][:, 0].mean():.4f}, trees {layer.info['trees']} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    ref = np.concatenate(hits[next(iter(recipes))])
    for name in recipes:
        h = np.concatenate(hits[name])
        d = h - ref
        se = d.std(axis=0) / np.sqrt(len(d))
        print(f"{name:<58} R@10 {h[:, 0].mean():.4f}  R@50 {h[:, 1].mean():.4f}  difference {d[:, 0].mean():+.4f} "
              f"/ {d[:, 1].mean():+.4f} (se {se[0]:.4f} / {se[1]:.4f})", flush=True)
    return {name: np.concatenate(h) for name, h in hits.items()}


def target_conversations(reqs: list[dict]) -> np.ndarray:
    """The conversation of each row `run_folds`' hits have, in their order."""
    return np.array([r["conv"] for test in range(5) for r in measured([q for q in reqs if q["fold"] == test])
                     for _ in range(r["n"])])


def compare_replays(hits: np.ndarray, convs: np.ndarray, path: str) -> None:
    """This replay's hits against those `--save-hits` kept from another replay of the same conversations (a
    training run with other candidates or scorers): paired by conversation, since the two replays' candidates
    list one request's targets in other orders."""
    other = np.load(path)
    if sorted(other["conversations"]) != sorted(convs):
        raise SystemExit(f"{path} holds the targets of other conversations; replay the same corpus")

    def per_conversation(h, c):
        keys, inv = np.unique(c, return_inverse=True)
        out = np.zeros((len(keys), 2))
        np.add.at(out, inv, h)
        return out

    d = per_conversation(hits, convs) - per_conversation(other["hits"], other["conversations"])
    n = len(convs)
    se = d.std(axis=0) * np.sqrt(len(d)) / n
    print(f"this replay R@10 {hits[:, 0].mean():.4f}  R@50 {hits[:, 1].mean():.4f}; {path}: "
          f"{other['hits'][:, 0].mean():.4f} / {other['hits'][:, 1].mean():.4f}; difference "
          f"{d[:, 0].sum() / n:+.4f} / {d[:, 1].sum() / n:+.4f} (se by conversation {se[0]:.4f} / {se[1]:.4f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("replay", help="the file `recassist train conversations --keep-replay` wrote")
    ap.add_argument("what", nargs="*", default=["base", "no-comention", "curve"],
                    choices=["base", "no-comention", "curve", "folds"])
    ap.add_argument("--seeds", type=int, default=1, help="fits per figure, with layer seeds 0..N-1 (mean shown)")
    ap.add_argument("--recipe", action="append", default=[], choices=list(RECIPES),
                    help="`folds`: fit only these recipes (repeatable; the first is the reference)")
    ap.add_argument("--without", action="append", default=[], metavar="F1,F2",
                    help="`folds`: compare the default recipe with every feature against it without these "
                         "features (repeatable), instead of comparing `RECIPES`")
    ap.add_argument("--save-hits", metavar="PATH", help="`folds`: keep the first recipe's hits (.npz)")
    ap.add_argument("--against", metavar="PATH", help="`folds`: compare the first recipe's hits with those "
                                                       "`--save-hits` kept from another replay")
    args = ap.parse_args()
    reqs = requests(args.replay)
    fit = [r for r in reqs if r["fold"] != SELECT_FOLD]
    held = measured([r for r in reqs if r["fold"] == SELECT_FOLD])
    print(f"{len(measured(reqs))} recommender turns and {len(reqs) - len(measured(reqs))} seeker turns naming "
          f"liked items: fitted on {len(fit)} ({len({r['conv'] for r in fit})} conversations), "
          f"held out {len(held)} recommender turns ({len({r['conv'] for r in held})} conversations)")
    every = list(range(len(FEATURES)))
    print(f"held-out targets among the candidates: {pool_share(held):.3f} with co-mention's, "
          f"{pool_share(view(held, every, False)):.3f} without")
    if "base" in args.what:
        run("every feature", fit, held, every, seeds=args.seeds)
    if "no-comention" in args.what:
        run("without co-mention (features and candidates)", fit, held,
            [i for i in every if FEATURES[i] not in COMENTION], comention_pool=False, seeds=args.seeds)
    if "folds" in args.what:
        if args.without:
            recipes = {"the default, every feature": (Recipe(LayerConfig()), every)}
            for group in args.without:
                names = group.split(",")
                unknown = [f for f in names if f not in COL]
                if unknown:
                    ap.error(f"--without: unknown features {unknown}; known: {', '.join(FEATURES)}")
                recipes[f"the default without {group}"] = (Recipe(LayerConfig()),
                                                           [c for c in every if FEATURES[c] not in names])
        else:
            recipes = {name: (RECIPES[name], every) for name in args.recipe or RECIPES}
        hits = run_folds(reqs, recipes)[next(iter(recipes))]
        convs = target_conversations(reqs)
        if args.save_hits:
            np.savez(args.save_hits, hits=hits, conversations=convs)
        if args.against:
            compare_replays(hits, convs, args.against)
    if "curve" in args.what:
        convs = sorted({r["conv"] for r in fit}, key=lambda c: hashlib.sha1(c.encode()).hexdigest())
        for share in (0.25, 0.5, 0.75):
            keep = set(convs[: int(len(convs) * share)])
            run(f"every feature, {share:.0%} of the fitted conversations ({len(keep)})",
                [r for r in fit if r["conv"] in keep], held, every, seeds=args.seeds)


if __name__ == "__main__":
    main()
