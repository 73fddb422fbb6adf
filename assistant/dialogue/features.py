"""Per-candidate features for the learned ranking layer: every signal the engine has, plus the
conversation-trained scorers (co-suggestion, text-to-item, co-mention).

The candidate set of one request is the engine's candidates plus the items each conversation-trained scorer
(co-suggestion, text-to-item, co-mention) ranks highest that the same hard rules allow (constraints, blocked,
seen, excluded, history). Rows of `X` follow `ids`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from recassist.assistant.conversation.scoring import score as hand_set_score
from recassist.assistant.conversation.scoring import zscore
from recassist.foundation.profile import InterestProfile
from recassist.ranking.dialogue.comention import CoMention
from recassist.ranking.dialogue.cosuggest import CoSuggestion
from recassist.ranking.dialogue.text_to_item import TextToItem
from recassist.retrieval.candidates import Candidate
from recassist.retrieval.filters import Filter, constraints_filter

FEATURES = (
    "engine_score", "engine_rank_inv", "fusion", "ranker_z", "ranker_used", "liked_aspect_share",
    "disliked_aspects", "theme_cos", "content_z", "text_z", "trend_z", "new_release", "log_popularity",
    "cosugg", "cosugg_log", "cosugg_rank_inv", "chat_prior", "history_len", "liked_aspects", "has_text",
    "src_co_occurrence", "src_item_neighbours", "src_semantic", "src_aspect_match", "src_popular", "src_not_engine",
    "t2i_logp", "t2i_rank_inv", "src_cosugg_top", "src_t2i_top", "comention", "comention_rank_inv",
    "src_comention_top",
)
SOURCES = ("co_occurrence", "item_neighbours", "semantic", "aspect_match", "popular")
_SOURCE_COLUMN = {s: j for j, s in enumerate(SOURCES)}


@dataclass(frozen=True)
class ChatModels:
    """The conversation-trained scorers a request's features read (any may be missing)."""

    cosugg: CoSuggestion | None
    text: TextToItem | None = None
    comention: CoMention | None = None


@dataclass
class TurnFeatures:
    ids: list[str]
    X: np.ndarray  # float32 [len(ids), len(FEATURES)]
    engine_order: np.ndarray  # int [len(ids)]: candidate positions, the hand-tuned engine's order
    liked_share: np.ndarray  # float32 [len(ids)]: share of the liked aspects each candidate carries
    genre_share: np.ndarray  # float32 [len(ids)]: share of the named genres it carries (`ordering.layer_order`)
    cosugg: np.ndarray  # float32 [len(ids)]: co-suggestion score
    candidates: list[Candidate]  # in `ids` order (co-suggestion extras have no sources)

    @classmethod
    def empty(cls) -> TurnFeatures:
        """No candidates: no rows."""
        none = np.zeros(0, np.float32)
        return cls([], np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.int64), none, none, none, [])


@dataclass
class CandidatePool:
    """One request's candidates before their features: the engine's, then the conversation-trained scorers'
    extras, with those scorers' scores over the whole catalog (rows of the candidate arrays)."""

    candidates: list[Candidate]
    n_engine: int  # the first this many are the engine's
    tops: dict[str, set[int]]  # each scorer's own best rows
    cosugg: np.ndarray | None
    t2i: np.ndarray | None
    comention: np.ndarray | None

    @property
    def ids(self) -> list[str]:
        return [c.item_id for c in self.candidates]


def turn_features(engine, models: ChatModels, profile: InterestProfile, history: Sequence[str], *,
                  text: str | None = None, exclude: Sequence[str] = (), filters: Filter | None = None,
                  n_candidates: int = 300, n_extra: int = 100,
                  named_genres: set[str] | None = None) -> TurnFeatures | None:
    """Features of every candidate for one request; None when nothing is allowed.

    `named_genres`: the genres the request itself names (its latest message), which the served order puts
    first; None: every genre the profile likes."""
    pool = candidate_pool(engine, models, profile, history, text=text, exclude=exclude, filters=filters,
                          n_candidates=n_candidates, n_extra=n_extra)
    if pool is None:
        return None
    return pool_features(engine, models, profile, history, pool, text=text, named_genres=named_genres)


def candidate_pool(engine, models: ChatModels, profile: InterestProfile, history: Sequence[str], *,
                   text: str | None = None, exclude: Sequence[str] = (), filters: Filter | None = None,
                   n_candidates: int = 300, n_extra: int = 100) -> CandidatePool | None:
    """The candidates `turn_features` computes features for; None when nothing is allowed."""
    engine.embed_texts(profile, text)
    cands = engine.candidates.generate(profile, history, k=n_candidates, text=text, filter=filters)
    blocked = set(exclude)
    cands = [c for c in cands if c.item_id not in blocked]
    arrays = engine.candidates.arrays
    context = [*profile.liked_ids(), *history]
    polarity = {x: -1 for x in profile.disliked_ids()} | {x: 1 for x in profile.liked_ids()}
    cosugg, text_model = models.cosugg, models.text
    co_all = _on_rows(arrays, cosugg, cosugg.score(context, polarity)) if cosugg is not None else None
    t2i_all = (_on_rows(arrays, text_model, text_model.score(text_vector(engine, text) if text else None, context,
                                                              polarity), missing=-30.0)
               if text_model is not None else None)
    cm_all = (_on_rows(arrays, models.comention, models.comention.score(context, polarity), missing=-30.0)
              if models.comention is not None else None)
    n_engine = len(cands)
    # Each conversation-trained scorer's own best items, under the same hard rules as the engine's candidates.
    flt = constraints_filter(profile.constraints, engine.catalog) & (filters or Filter())
    allowed = flt.mask(arrays)
    allowed[arrays.rows([*blocked, *history, *profile.liked_ids(), *profile.blocked_ids()])] = False
    tops = {}
    for name, score, floor in (("cosugg", co_all, 0.0), ("t2i", t2i_all, -np.inf), ("comention", cm_all, -np.inf)):
        if score is None or not n_extra:
            tops[name] = set()
            continue
        ok = np.flatnonzero(allowed & (score > floor))
        tops[name] = set(_best(ok, score[ok], n_extra).tolist())
    have = {c.item_id for c in cands}
    for r in sorted(tops["cosugg"] | tops["t2i"] | tops["comention"]):
        if arrays.ids[r] not in have:
            cands.append(Candidate(arrays.ids[r], [], {}, 0.0))
    if not cands:
        return None
    return CandidatePool(cands, n_engine, tops, co_all, t2i_all, cm_all)


def pool_features(engine, models: ChatModels, profile: InterestProfile, history: Sequence[str], pool: CandidatePool,
                  *, text: str | None = None, named_genres: set[str] | None = None) -> TurnFeatures:
    """The features of `pool`'s candidates (see `turn_features`)."""
    cands, n_engine, tops = pool.candidates, pool.n_engine, pool.tops
    co_all, t2i_all, cm_all = pool.cosugg, pool.t2i, pool.comention
    cosugg, arrays = models.cosugg, engine.candidates.arrays
    ids = [c.item_id for c in cands]
    rows = np.fromiter(map(engine.rows.__getitem__, ids), dtype=np.int64, count=len(ids))
    signals = engine.signals.gather(profile, history, cands, rows, text, engine.ranker, engine.ranker_index)
    scores = hand_set_score(signals)  # the hand-set blend, as the engine ranks without this layer
    blended, raw, used = scores.blended, scores.ranker_scores, scores.ranker_used
    content = zscore(signals.content) if signals.content is not None else np.zeros(len(rows), np.float32)
    # The hand-tuned engine only ranks its own candidates: co-suggestion extras come after them.
    blended_e = np.where(np.arange(len(ids)) < n_engine, blended, -np.inf)
    engine_order = np.argsort(-blended_e, kind="stable")
    engine_rank = np.empty(len(ids), np.float32)
    engine_rank[engine_order] = np.arange(1, len(ids) + 1)
    liked = {a.aspect.lower() for a in profile.liked_aspects}
    disliked = {a.aspect.lower() for a in profile.disliked_aspects}
    share = _carried_share(engine, liked, rows)
    genres = profile.liked_genres() if named_genres is None else {g.lower() for g in named_genres}
    genre_share = share if genres == liked else _carried_share(engine, genres, rows)
    dis = engine.signals.carrying(disliked)[rows].astype(np.float32) if disliked else np.zeros(len(rows), np.float32)
    theme = np.zeros(len(rows), np.float32)
    if profile.themes:
        q = engine.candidates.queries.encode([" ".join(t.text for t in profile.themes)])[0]
        theme = engine.signals.vectors[rows] @ q
    if co_all is not None:
        co = co_all[rows].astype(np.float32)
        prior = _on_rows(arrays, cosugg, cosugg.prior)[rows].astype(np.float32)
    else:
        co = prior = np.zeros(len(ids), np.float32)
    co_rank = np.empty(len(ids), np.float32)
    co_rank[np.argsort(-co, kind="stable")] = np.arange(1, len(ids) + 1)
    t2i = t2i_all[rows].astype(np.float32) if t2i_all is not None else np.full(len(ids), -30.0, np.float32)
    t2i_rank = np.empty(len(ids), np.float32)
    t2i_rank[np.argsort(-t2i, kind="stable")] = np.arange(1, len(ids) + 1)
    if cm_all is not None:
        cm = cm_all[rows].astype(np.float32)
        cm_rank = np.empty(len(ids), np.float32)
        cm_rank[np.argsort(-cm, kind="stable")] = np.arange(1, len(ids) + 1)
        cm_rank_inv = 1.0 / cm_rank
    else:
        cm, cm_rank_inv = np.full(len(ids), -30.0, np.float32), np.zeros(len(ids), np.float32)
    fusion = np.array([c.score for c in cands], np.float32)
    ranker_z = _z(raw.astype(np.float32))
    src = np.zeros((len(cands), len(SOURCES)), np.float32)
    for i, c in enumerate(cands[:n_engine]):  # the scorers' extras come from no source
        for s in c.sources:
            if s in _SOURCE_COLUMN:
                src[i, _SOURCE_COLUMN[s]] = 1.0
    n = len(ids)
    cols = [
        np.where(np.isfinite(blended_e), blended, blended[:n_engine].min() - 1 if n_engine else 0.0),
        1.0 / engine_rank, fusion, ranker_z, np.full(n, float(used)), share, dis, theme, content / max(
            1e-6, np.abs(content).max()), _z(engine.signals.vectors[rows] @ text_vector(engine, text)) if text else
        np.zeros(n), _z(np.log1p(arrays.trending[rows])), arrays.new_release[rows].astype(np.float32),
        np.log1p(arrays.popularity[rows]), co, np.log(co + 1e-4), 1.0 / co_rank, prior,
        np.full(n, float(len(history))), np.full(n, float(len(liked))), np.full(n, float(bool(text))),
        *src.T, (np.arange(n) >= n_engine).astype(np.float32),
        t2i, 1.0 / t2i_rank if t2i_all is not None else np.zeros(n), np.isin(rows, list(tops["cosugg"])),
        np.isin(rows, list(tops["t2i"])), cm, cm_rank_inv, np.isin(rows, list(tops["comention"])),
    ]
    X = np.stack([np.asarray(c, np.float32) for c in cols], axis=1)
    return TurnFeatures(ids, X, engine_order, share, genre_share, co, cands)


def _best(rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The `n` rows of highest score, as `rows[np.argsort(-scores, kind="stable")][:n]` gives them (ties by
    position), sorting only the rows that reach the n-th best score rather than the whole catalog."""
    if len(scores) > n > 0:
        nth = np.partition(scores, len(scores) - n)[len(scores) - n]
        reach = scores >= nth
        rows, scores = rows[reach], scores[reach]
    return rows[np.argsort(-scores, kind="stable")][:n]


def _carried_share(engine, aspects: set[str], rows: np.ndarray) -> np.ndarray:
    """float32 [len(rows)]: the share of `aspects` (lower case) each row's item carries."""
    if not aspects:
        return np.zeros(len(rows), np.float32)
    return (engine.signals.carrying(aspects)[rows] / len(aspects)).astype(np.float32)


def _on_rows(arrays, model, scores: np.ndarray, missing: float = 0.0) -> np.ndarray:
    """A scorer's per-item scores (its own item order) on the candidate arrays' rows; `missing` for items it
    was not fitted with (added to the catalog since)."""
    ids = arrays.ids
    cached = getattr(model, "_rows_on", None)
    # The id -> row map over the whole catalog cost ~4 ms per scorer and request in a Python loop: it is kept
    # on the model for as long as the arrays' id list is the same object (a catalog update replaces it).
    if cached is None or cached[0] is not ids or cached[1] != len(ids):
        cached = (ids, len(ids), np.array([model.index.get(x, -1) for x in ids]))
        model._rows_on = cached
    rows = cached[2]
    return np.where(rows >= 0, scores[np.maximum(rows, 0)], missing)


def text_vector(engine, text: str) -> np.ndarray:
    """float32 [d]: the request text's vector, as candidate search embeds it (shared cache)."""
    return engine.candidates.queries.encode([text.strip()[: engine.candidates.settings.max_text_chars]])[0]


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)
