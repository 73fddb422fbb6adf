"""`recassist eval conversation`: the conversation-trained system against what it replaces, in one table.

Same protocol as `crs_eval` (He et al. 2023, dedup): at each recommender turn that newly suggests movies, the
dialogue so far is replayed as a chat and the catalog ranked; movies mentioned earlier are excluded; targets not
in the catalog count as misses. Rows: the trained layer, the hand-tuned engine blend it replaces, each
conversation-trained scorer alone, popularity and "popular now". Seconds per turn are wall and CPU time of
`engine.recommend` (the dialogue so far -> a ranked list; extraction of the seeker's words not included).

A collapse guard follows: for the catalog's most-rated items X, "I loved X. Recommend something similar." —
personalization (mean pairwise Jaccard distance between the top-10 lists), catalog coverage of their union,
and the share of each top 10 sharing a genre with X.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from recassist.assistant.dialogue.features import ChatModels, text_vector
from recassist.assistant.evaluation.crs_eval import Scores, named_genre_precision, turn_requests
from recassist.assistant.evaluation.redial import Dialogue
from recassist.assistant.extraction.mentions import matcher_for

TRAINED = "trained layer (LightGBM over all signals)"
HAND = "hand-tuned engine (replaced)"
COSUGG = "co-suggestion alone"
TEXT = "text-to-item alone"
COMENTION = "co-mention alone"
PRIOR = "chat prior alone (most suggested)"
POP = "popularity"
TREND = "popular now (trend alone)"
SIMILAR_REQUEST = "I loved {}. Recommend something similar."


@dataclass
class SystemsResult:
    label: str
    dialogues: int = 0
    turns: int = 0
    targets: int = 0
    targets_in_catalog: int = 0
    scores: dict[str, Scores] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    genre_guard: dict[str, float] = field(default_factory=dict)


def evaluate_systems(dialogues: list[Dialogue], assistant, scorer, models: ChatModels | None, *, label: str,
                     use_llm: bool = False, explain_sample: int = 0,
                     progress: Callable[[int], None] | None = None) -> SystemsResult:
    """Every row of the table on `dialogues`. `scorer`: a `ConversationScorer` (None: its row is left out);
    `models`: the conversation-trained scorers for the scorer-alone rows (ones not fitted on these dialogues).
    `explain_sample`: explanations written (by the LLM when one is loaded) and checked for the first system's
    top item at that many turns; the checker's rates are in `assistant.explainer.stats`."""
    catalog, engine = assistant.catalog, assistant.engine
    matcher = matcher_for(catalog)
    arrays = engine.candidates.arrays
    pop_order = [arrays.ids[r] for r in np.argsort(-arrays.popularity, kind="stable")[:400]]
    trend_order = [arrays.ids[r] for r in np.lexsort((-arrays.popularity, -arrays.trending))[:400]]
    cosugg = models.cosugg if models is not None else None
    text_model = models.text if models is not None else None
    comention = models.comention if models is not None else None
    prior_order = ([cosugg.item_ids[i] for i in np.argsort(-cosugg.prior, kind="stable")[:400]]
                   if cosugg is not None else [])
    systems: dict[str, object] = {HAND: None}
    if scorer is not None:
        systems = {TRAINED: scorer, HAND: None}
    names = [*systems, *([COSUGG, PRIOR] if cosugg is not None else []), *([TEXT] if text_model else []),
             *([COMENTION] if comention else []), POP, TREND]
    res = SystemsResult(label, scores={n: Scores() for n in names}, wall={n: [] for n in systems},
                        cpu={n: [] for n in systems})
    saved = engine.conversation
    try:
        for n_done, d in enumerate(dialogues, 1):
            res.dialogues += 1
            for req in turn_requests(assistant, matcher, d, use_llm=use_llm):
                profile, hist, text, exclude = req.profile, req.history, req.text, set(req.mentioned)
                ranked: dict[str, list[str]] = {}
                for name, conv in systems.items():
                    engine.conversation = conv
                    w, c = time.perf_counter(), time.process_time()
                    got = engine.recommend(profile, hist, k=50, text=text, exclude=list(exclude),
                                           named_genres=req.named_genres)
                    res.wall[name].append(time.perf_counter() - w)
                    res.cpu[name].append(time.process_time() - c)
                    ranked[name] = [r.item_id for r in got]
                    if got and explain_sample and name == next(iter(systems)) and res.turns < explain_sample:
                        assistant.explainer.explain(got[0].item_id, got[0].evidence,
                                                    use_llm=assistant.llm is not None)
                context = [*profile.liked_ids(), *hist]
                polarity = {x: -1 for x in profile.disliked_ids()} | {x: 1 for x in profile.liked_ids()}
                if cosugg is not None:
                    ranked[COSUGG] = _top(cosugg.item_ids, cosugg.score(context, polarity), exclude)
                    ranked[PRIOR] = [x for x in prior_order if x not in exclude][:50]
                if text_model is not None:
                    vec = text_vector(engine, text) if text.strip() else None
                    ranked[TEXT] = _top(text_model.item_ids, text_model.score(vec, context, polarity), exclude)
                if comention is not None:
                    ranked[COMENTION] = _top(comention.item_ids, comention.score(context, polarity), exclude)
                ranked[POP] = [x for x in pop_order if x not in exclude][:50]
                ranked[TREND] = [x for x in trend_order if x not in exclude][:50]
                res.turns += 1
                for target in req.targets:
                    res.targets += 1
                    res.targets_in_catalog += target is not None
                    for name, ids in ranked.items():
                        res.scores[name].add(ids.index(target) + 1 if target in ids else None)
            if progress:
                progress(n_done)
        for name, conv in systems.items():
            engine.conversation = conv
            res.genre_guard[name] = named_genre_precision(assistant, use_llm=use_llm)[0]
    finally:
        engine.conversation = saved
    return res


def _top(item_ids: list[str], scores: np.ndarray, exclude: set[str], k: int = 50) -> list[str]:
    top = [item_ids[j] for j in np.argsort(-scores, kind="stable")[:k + len(exclude)]]
    return [x for x in top if x not in exclude][:k]


def format_systems(r: SystemsResult) -> str:
    lines = [f"{r.label}: {r.dialogues} dialogues, {r.turns} recommender turns, {r.targets} target movies "
             f"({r.targets_in_catalog} in the catalog; the rest count as misses)",
             f"{'method':<42}{'R@1':>7}{'R@10':>7}{'R@50':>7}{'NDCG@10':>9}  {'s/turn p50 / p95 wall':>22}"
             f"  {'p95 cpu':>8}  {'genre guard':>11}"]
    for name, s in r.scores.items():
        r1, r10, r50, nd = s.row()
        timing = guard = ""
        if name in r.wall and r.wall[name]:
            w, c = np.array(r.wall[name]), np.array(r.cpu[name])
            timing = f"{np.percentile(w, 50):.3f} / {np.percentile(w, 95):.3f}  {np.percentile(c, 95):>8.3f}"
        if name in r.genre_guard:
            guard = f"{r.genre_guard[name]:.3f}"
        lines.append(f"{name:<42}{r1:>7.3f}{r10:>7.3f}{r50:>7.3f}{nd:>9.3f}  {timing:>32}  {guard:>11}")
    # The counts behind the first row's recalls: three decimals cannot say which side of a target 0.2096 is.
    first = next(iter(r.scores.values()), None)
    if first is not None and first.n:
        lines.append(f"{next(iter(r.scores))}: {int(first.hits[10])} of {first.n} targets in the top 10 "
                     f"(Recall@10 {first.hits[10] / first.n:.4f}), {int(first.hits[50])} in the top 50 "
                     f"({first.hits[50] / first.n:.4f})")
    return "\n".join(lines)


@dataclass
class CollapseGuard:
    requests: int
    personalization: dict[str, float]  # mean pairwise Jaccard distance between the top-10 lists
    coverage: dict[str, float]  # share of the catalog in the union of the lists
    same_genre: dict[str, float]  # mean share of a top 10 sharing a genre with the item named


def collapse_guard(assistant, scorer, *, n_items: int = 200, k: int = 10, use_llm: bool = False) -> CollapseGuard:
    """'I loved X. Recommend something similar.' for the `n_items` most-rated items X, per system."""
    catalog, engine = assistant.catalog, assistant.engine
    pop = catalog.popularity
    top_items = sorted(catalog.items, key=lambda i: (-pop.get(i, 0), i))[:n_items]
    systems = {HAND: None} if scorer is None else {TRAINED: scorer, HAND: None}
    lists: dict[str, list[set[str]]] = {n: [] for n in systems}
    genre: dict[str, list[float]] = {n: [] for n in systems}
    saved = engine.conversation
    try:
        for x in top_items:
            item = catalog.items[x]
            text = SIMILAR_REQUEST.format(item.title)
            profile, _ = assistant.extractor.extract(text, use_llm=use_llm)
            for name, conv in systems.items():
                engine.conversation = conv
                got = engine.recommend(profile, [], k=k, text=text, exclude=[x], named_genres=profile.liked_genres())
                ids = [r.item_id for r in got]
                lists[name].append(set(ids))
                genre[name].append(sum(bool(set(catalog.items[i].genres) & set(item.genres)) for i in ids)
                                   / max(1, len(ids)))
    finally:
        engine.conversation = saved
    pers, cov = {}, {}
    for name, ls in lists.items():
        d = [1 - len(a & b) / max(1, len(a | b)) for a, b in itertools.combinations(ls, 2)]
        pers[name] = float(np.mean(d)) if d else 0.0
        cov[name] = len(set().union(*ls)) / len(catalog.items) if ls else 0.0
    return CollapseGuard(len(top_items), pers, cov, {n: float(np.mean(v)) for n, v in genre.items()})


def format_guard(g: CollapseGuard) -> str:
    lines = [f'collapse guard: "{SIMILAR_REQUEST.format("X")}" for the {g.requests} most-rated items X (top 10)',
             f"{'method':<42}{'personalization':>16}{'coverage':>10}{'shares a genre with X':>23}"]
    for name in g.personalization:
        lines.append(f"{name:<42}{g.personalization[name]:>16.3f}{g.coverage[name]:>10.3f}"
                     f"{g.same_genre[name]:>23.3f}")
    return "\n".join(lines)


def register_eval(eval_sub) -> None:
    p = eval_sub.add_parser("conversation", help="conversational recommendation on ReDial dialogues (see README)")
    p.add_argument("--redial", default=None, help="ReDial dialogues.jsonl to report on (e.g. the dev slice)")
    p.add_argument("--holdout-redial", default=None,
                   help="ReDial training dialogues: the part held out for settings is evaluated too")
    p.add_argument("--corpus", action="append", default=[],
                   help="corpus the layer was trained on (default: the shipped one); refitted without the "
                        "held-out part for --holdout-redial")
    p.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    p.add_argument("--holdout-limit", type=int, default=None, help="only the first N held-out training dialogues")
    p.add_argument("--guard-items", type=int, default=200, help="most-rated items in the collapse guard (0: none)")
    p.add_argument("--no-llm", action="store_true", help="extraction without the LLM (much faster)")
    p.add_argument("--explain-sample", type=int, default=50, help="explanations to generate and check")
    p.set_defaults(handler=_cmd)


def _cmd(args, settings) -> int:
    import sys

    from recassist.assistant.conversation import Assistant
    from recassist.assistant.dialogue.scorer import ConversationScorer
    from recassist.assistant.dialogue.training import SELECT_FOLD, TextTraining, fold_of_id, read_corpora, trust_weights
    from recassist.assistant.evaluation.redial import load_dialogues
    from recassist.foundation.errors import InputError
    from recassist.ranking.dialogue.comention import CoMention
    from recassist.ranking.dialogue.cosuggest import CoSuggestion
    from tqdm import tqdm

    if not args.redial:
        raise InputError("pass --redial PATH: ReDial dialogues.jsonl to report on (the dev slice is at "
                         "data/redial-dev/dialogues.jsonl in the project's shared data)")
    assistant = Assistant.open(settings, use_llm=not args.no_llm or args.explain_sample > 0)
    scorer = assistant.engine.conversation
    if scorer is None:
        print("no trained conversation layer: only the hand-tuned rows are shown (run `recassist train "
              "conversations`)", file=sys.stderr)
    runs = [("ReDial (report)", load_dialogues(args.redial, limit=args.limit), scorer,
             scorer.models if scorer else None)]
    if args.holdout_redial:
        held = [d for d in load_dialogues(args.holdout_redial)
                if fold_of_id(f"redial-{d.conversation_id}") == SELECT_FOLD][: args.holdout_limit]
        convs, stats = read_corpora(args.corpus or [_shipped()], assistant.catalog)
        trust = trust_weights(convs, stats)  # as training weighs them
        co = CoSuggestion(scorer.cosugg.item_ids if scorer else list(assistant.catalog.items),
                          scorer.cosugg.config if scorer else None)
        co.fit((c for c in convs if fold_of_id(c.conversation_id) != SELECT_FOLD), trust)
        text_data = TextTraining.prepare(convs, assistant, settings,
                                         config=scorer.text_model.config if scorer else None)
        text_data.trust = trust
        cm = CoMention(co.item_ids, scorer.comention.config if scorer and scorer.comention else None)
        cm.fit((c for c in convs if fold_of_id(c.conversation_id) != SELECT_FOLD), trust)
        text_model = text_data.fit(co.item_ids, without_folds={SELECT_FOLD}, comention=cm)
        # Only the layer's models never fitted on the held-out fold (their trees were chosen on it).
        layer = scorer.layer.held_out(SELECT_FOLD) if scorer else None
        if scorer and layer is None:
            raise InputError(f"the conversation layer has no model held out on fold {SELECT_FOLD}; run `recassist "
                             "train conversations` again")
        runs.append(("ReDial training dialogues held out for settings", held,
                     ConversationScorer(co, layer, text_model, cm, scorer.words) if scorer else None,
                     ChatModels(co, text_model, cm)))
    for label, dialogues, sc, co in runs:
        with tqdm(total=len(dialogues), desc=label, unit="dlg", file=sys.stderr, mininterval=5) as bar:
            res = evaluate_systems(dialogues, assistant, sc, co, label=label, use_llm=not args.no_llm,
                                   explain_sample=args.explain_sample if sc is scorer else 0,
                                   progress=lambda n: bar.update(1))
        print(format_systems(res) + "\n")
    if args.guard_items:
        print(format_guard(collapse_guard(assistant, scorer, n_items=args.guard_items, use_llm=not args.no_llm)))
    stats = assistant.explainer.stats
    if stats.llm_attempts or stats.fallbacks:
        print(f"\nexplanations (trained system's top item, {args.explain_sample} turns): checker pass rate "
              f"{stats.pass_rate:.3f}, fallback rate {stats.fallback_rate:.3f}")
    print("\nseconds per turn: engine.recommend only (the dialogue so far -> 50 ranked items), wall and CPU time "
          "of this process; the machine may be shared")
    return 0


def _shipped():
    from recassist.assistant.dialogue.training import SHIPPED_CORPUS

    return SHIPPED_CORPUS
