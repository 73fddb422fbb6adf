"""One recommendation request: profile + history -> candidates -> ranker -> top-k with evidence.

The engine holds the heavy, read-only parts (catalog arrays, item vectors,
co-occurrence, the trained ranker) and is shared by every user and session.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from recassist.assistant.conversation.models import Evidence, RecommendedItem, SimilarItem
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.profile import InterestProfile
from recassist.ranking.base import Ranker, UserQuery
from recassist.retrieval.candidates import Candidate, CandidateGenerator
from recassist.retrieval.filters import Filter

# Blend weights, in units of the ranker's score spread over the candidates (tuned on ReDial dev turns,
# halves of the dialogues checked against each other, and on genre requests over ml-latest-small; see
# README "Conversational recommendation").
# For carrying all the liked genres / tags (a share of it for some), and per disliked one. Large enough that
# a named genre wins over the trend below: "a good documentary" lists documentaries, not this year's hits
# (`recassist eval conversation` prints the share of the top 10 with the genre asked for: 0.995 at 8 with the
# new-release bonus below, 0.989 at 7, 0.968 at 6).
ASPECT_BONUS = 8.0
ASPECT_PENALTY = 6.0
THEME_WEIGHT = 1.0  # cosine similarity to the profile's free-text themes
TEXT_WEIGHT = 0.5  # standardised cosine to the request text (more weight lost ReDial turns: chat is noisy)
FUSION_WEIGHT = 0.5  # the candidate generator's own fused score (rank-based)
SIMILAR_MIN = 0.35  # below this cosine, "similar to X" is not worth saying
# Content similarity to the liked / recent items. Short or profile-only histories lean on it (the ranker
# has little to go on there; on ReDial turns it lifted Recall@10 severalfold); long histories barely use it.
CONTENT_WEIGHT_SHORT = 2.0
CONTENT_WEIGHT_LONG = 0.25
LONG_HISTORY = 20
# How fast an item gathers interactions now (`retrieval.trending`), standardised over the candidates.
# Someone asking in a chat with little history is mostly after what is new and being watched (on ReDial
# turns Recall@10 0.077 -> 0.124); a long history says more about the user than the crowd does.
TREND_WEIGHT_SHORT = 3.0
TREND_WEIGHT_LONG = 0.0
# The trend's z-score is capped: a few runaway hits (heavy tail) must not outweigh a genre the user named,
# in small catalogs least of all (on ReDial turns the cap cost nothing measurable: 0.148 vs 0.147).
TREND_Z_CAP = 2.5
# Added for new releases (`retrieval.trending.new_releases`) under the same short-history rule as the trend.
# A release too new to have gathered interactions has no trend yet ("The Commuter (2018)": one rating),
# and a chat user asking without history is often after exactly those. On ReDial dev turns Recall@10 rose
# on both halves of the dialogues (odd 0.133 -> 0.140, even 0.162 -> 0.170, with ASPECT_BONUS 8 to keep
# named genres first); 0.5 did less.
NEW_RELEASE_BONUS = 1.0
# At most this many items of one franchise in a list: "Deadpool" and "Deadpool 2" may both be wanted (on
# ReDial, one allowed lost Recall@10 0.136 -> 0.130), five "Police Academy" films tell the user little.
MAX_PER_FRANCHISE = 2


@dataclass
class RankedItem:
    item_id: str
    score: float
    evidence: Evidence


class RecommendationEngine:
    def __init__(self, catalog: Catalog, candidates: CandidateGenerator, ranker: Ranker | None) -> None:
        self.catalog = catalog
        self.candidates = candidates
        self.ranker = ranker
        self.vectors = candidates.vectors  # float32 [n_items, d], L2-normalised, catalog order
        self.rows = candidates.arrays.index
        self._aspect_sets: dict[str, frozenset[str]] = {}  # item id -> lower-cased genres and tags
        self._genre_cols: dict[str, list[int]] = {}  # lower-cased genre -> its columns of genre_matrix
        for genre, col in candidates.arrays.genre_col.items():
            self._genre_cols.setdefault(genre.lower(), []).append(col)

    def with_ranker(self, ranker: Ranker | None) -> RecommendationEngine:
        """A copy that ranks with `ranker` (caches that do not depend on the ranker carried over)."""
        new = RecommendationEngine(self.catalog, self.candidates, ranker)
        new._aspect_sets = self._aspect_sets
        if hasattr(self, "_hist"):
            new._hist = self._hist
        return new

    def history_of(self, user_id: str | None) -> list[str]:
        """Item ids the catalog's interaction log holds for this user, oldest first (empty if unknown)."""
        if not user_id:
            return []
        return [x.item_id for x in self._histories().get(user_id, [])]

    def _histories(self) -> dict:
        if not hasattr(self, "_hist"):
            hist: dict[str, list] = {}
            for x in self.catalog.interactions:
                hist.setdefault(x.user_id, []).append(x)
            for xs in hist.values():
                xs.sort(key=lambda x: x.timestamp)
            self._hist = hist
        return self._hist

    def recommend(
        self, profile: InterestProfile, history: Sequence[str] = (), *, k: int = 5, text: str | None = None,
        filters: Filter | None = None, n_candidates: int = 300, exclude: Sequence[str] = (),
    ) -> list[RankedItem]:
        """Top-`k` items with the evidence behind each. Blocked items (disliked, seen, excluded,
        history, liked) never appear; hard constraints are applied by the candidate generator."""
        self.embed_texts(profile, text)  # usually done already (see `embed_texts`): then all lookups hit
        cands = self.candidates.generate(profile, history, k=n_candidates, text=text, filter=filters)
        blocked = set(exclude)
        cands = [c for c in cands if c.item_id not in blocked]
        if not cands:
            return []
        ids = [c.item_id for c in cands]
        rows = np.fromiter(map(self.rows.__getitem__, ids), dtype=np.int64, count=len(ids))
        base, ranker_scores, ranker_used = self._ranker_scores(profile, history, cands)
        blended = (base + self._profile_adjustment(profile, rows) + self._content_similarity(profile, history, rows)
                   + self._trend_prior(history, rows) + self._text_relevance(text, rows))
        order = self._few_per_franchise(np.argsort(-blended, kind="stable"), ids, k)
        ranker_rank = np.empty(len(ids), dtype=np.int64)  # candidate position -> rank by ranker score alone
        ranker_rank[np.argsort(-ranker_scores, kind="stable")] = np.arange(1, len(ids) + 1)
        out = []
        for j in order:
            c = cands[j]
            ev = self.evidence(profile, history, c)
            if ranker_used:  # evidence names the ranker only where its scores counted
                ev.ranker = self.ranker.name if self.ranker is not None else "candidate-fusion"
                ev.ranker_rank = int(ranker_rank[j])
                ev.ranker_score = round(float(ranker_scores[j]), 4)
            out.append(RankedItem(c.item_id, float(blended[j]), ev))
        return out

    def embed_texts(self, profile: InterestProfile, text: str | None) -> None:
        """Embed every text `recommend` will need, in one model call (one call per text costs more).

        Callers may run this before taking a compute slot (see `assistant.compute_gate`): embedding
        runs on the embedder's own thread and batches texts of all requests waiting on it, so doing it
        outside the slot lets one request embed while others rank.
        """
        self.candidates.queries.encode(self._query_texts(profile, text))

    def _query_texts(self, profile: InterestProfile, text: str | None) -> list[str]:
        """Texts the candidate generator, the theme score and the ranker's aspect score will embed.

        Only a prefetch: a text missing here is embedded where it is needed, a few ms later.
        """
        texts = self.candidates.semantic_texts(profile, text)
        if profile.themes:
            texts.append(_theme_text(profile))
        if self.ranker is not None:
            texts += [a.aspect for a in (*profile.liked_aspects, *profile.disliked_aspects)]
        return texts

    def _few_per_franchise(self, order: np.ndarray, ids: list[str], k: int) -> list[int]:
        """Top-k positions with at most MAX_PER_FRANCHISE items per franchise ("Police Academy 3", "... 4").

        Five sequels of one film tell the user little; later slots go to other films.
        """
        chosen: list[int] = []
        families: dict[str, int] = {}
        for j in order:
            fam = franchise_key(self.catalog.items[ids[j]].title)
            if families.get(fam, 0) >= MAX_PER_FRANCHISE:
                continue
            families[fam] = families.get(fam, 0) + 1
            chosen.append(int(j))
            if len(chosen) == k:
                break
        return chosen

    # --- scoring ------------------------------------------------------------
    def _ranker_scores(self, profile: InterestProfile, history: Sequence[str], cands: list[Candidate]):
        """Standardised ranker scores (plus the fusion prior), the raw ranker scores, and whether the
        ranker's scores counted in the first."""
        fusion = np.array([c.score for c in cands], dtype=np.float32)
        fusion_z = _zscore(fusion)
        if self.ranker is None:
            return fusion_z, fusion, True
        index = self.ranker_index
        known = [j for j, c in enumerate(cands) if c.item_id in index]
        raw = np.full(len(cands), np.nan, dtype=np.float32)
        if known:
            query = UserQuery(history=[h for h in history if h in index], profile=profile)
            raw[known] = self.ranker.score_items(query, [cands[j].item_id for j in known])
        # Items the ranker has never seen (added after training) take the candidates' mean.
        raw = np.where(np.isnan(raw), np.nanmean(raw) if known else 0.0, raw)
        if not history and not profile.liked_ids():
            # Nothing the user watched or liked: the ranker's scores are only its own popularity prior,
            # which the trend prior replaces (on ReDial turns Recall@10 0.138 -> 0.148). Kept as evidence.
            return FUSION_WEIGHT * fusion_z, raw, False
        return _zscore(raw) + FUSION_WEIGHT * fusion_z, raw, True

    @property
    def _popular_now_min(self) -> float:
        """Trend an item needs to count as "popular now" in evidence: the top 1% of items with a trend."""
        if not hasattr(self, "_popular_now_cut"):
            trend = self.candidates.arrays.trending
            self._popular_now_cut = float(np.quantile(trend[trend > 0], 0.99)) if (trend > 0).any() else np.inf
        return self._popular_now_cut

    @property
    def ranker_index(self) -> set[str]:
        if not hasattr(self, "_ranker_ids"):
            self._ranker_ids = set(self.ranker.item_ids) if self.ranker is not None else set()
        return self._ranker_ids

    def _profile_adjustment(self, profile: InterestProfile, rows: np.ndarray) -> np.ndarray:
        """Aspect bonus / penalty and theme similarity for the candidates at item `rows`: float32 [len(rows)]."""
        adj = np.zeros(len(rows), dtype=np.float32)
        liked = {a.aspect.lower() for a in profile.liked_aspects}
        disliked = {a.aspect.lower() for a in profile.disliked_aspects}
        if liked or disliked:
            # The share of the liked aspects an item carries, so a profile that has gathered many ("comedy,
            # action, musicals") does not favour the odd film carrying all of them over what fits best.
            share = self._carrying(liked)[rows] / max(1, len(liked))
            adj += ASPECT_BONUS * share - ASPECT_PENALTY * self._carrying(disliked)[rows]
        if profile.themes:
            q = self.candidates.queries.encode([_theme_text(profile)])[0]
            adj += THEME_WEIGHT * (self.vectors[rows] @ q)
        return adj

    def _carrying(self, aspects: set[str]) -> np.ndarray:
        """int32 [n_items]: how many of `aspects` (lower-cased) each item carries as a genre or tag,
        the count `_aspects_of(item) & aspects` gives, for every item at once."""
        arrays = self.candidates.arrays
        counts = np.zeros(len(arrays), dtype=np.int32)
        for a in aspects:
            has = np.zeros(len(arrays), dtype=bool)
            for col in self._genre_cols.get(a, ()):
                has |= arrays.genre_matrix[:, col]
            tagged = arrays.tag_rows.get(a)
            if tagged is not None:
                has[tagged] = True
            counts += has
        return counts

    def _content_similarity(self, profile: InterestProfile, history: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Standardised mean cosine between each candidate (item `rows`) and the liked / recent items."""
        anchors = [self.rows[a] for a in dict.fromkeys([*profile.liked_ids(), *list(history)[-LONG_HISTORY:]])
                   if a in self.rows]
        if not anchors:
            return np.zeros(len(rows), dtype=np.float32)
        weight = CONTENT_WEIGHT_LONG if len(history) >= LONG_HISTORY else CONTENT_WEIGHT_SHORT
        sims = (self.vectors[rows] @ self.vectors[anchors].T).mean(axis=1)
        return weight * _zscore(sims)

    def _text_relevance(self, text: str | None, rows: np.ndarray) -> np.ndarray:
        """Standardised cosine between the request text and the candidates at item `rows`."""
        if not TEXT_WEIGHT or not text or not text.strip():
            return np.zeros(len(rows), dtype=np.float32)
        q = self.candidates.queries.encode([text.strip()[: self.candidates.settings.max_text_chars]])[0]
        return TEXT_WEIGHT * _zscore(self.vectors[rows] @ q)

    def _trend_prior(self, history: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Standardised log trend of the candidates at item `rows`, plus a bonus for new releases,
        both for short histories only.

        Items with no interactions at all (added after the log, e.g. through the API) have no trend
        yet rather than a poor one: they take the candidates' mean, as they do for the ranker.
        """
        out = np.zeros(len(rows), dtype=np.float32)
        if len(history) >= LONG_HISTORY:
            weight, new_bonus = TREND_WEIGHT_LONG, 0.0
        else:
            weight, new_bonus = TREND_WEIGHT_SHORT, NEW_RELEASE_BONUS
        arrays = self.candidates.arrays
        known = arrays.popularity[rows] > 0
        if weight and known.any():
            out[known] = weight * np.minimum(_zscore(np.log1p(arrays.trending[rows[known]])), TREND_Z_CAP)
        return out + new_bonus * arrays.new_release[rows]

    def _aspects_of(self, item_id: str) -> frozenset[str]:
        """Lower-cased genres and tags, memoised (evidence asks for the same popular items again and again)."""
        own = self._aspect_sets.get(item_id)
        if own is None:
            it = self.catalog.items[item_id]
            own = self._aspect_sets[item_id] = frozenset(g.lower() for g in (*it.genres, *it.tags))
        return own

    # --- evidence -----------------------------------------------------------
    def evidence(self, profile: InterestProfile, history: Sequence[str], cand: Candidate) -> Evidence:
        item_id = cand.item_id
        own = self._aspects_of(item_id)
        matched = [a.aspect for a in profile.liked_aspects if a.aspect.lower() in own]
        anchors = list(dict.fromkeys([*profile.liked_ids(), *list(history)[-20:]]))
        similar = self._similar(item_id, anchors)
        satisfies = []
        years = profile.constraints.years
        if years is not None:
            satisfies.append(f"year {years.min_year or '…'}–{years.max_year or '…'}")
        satisfies += [f"not {g.aspect}" for g in profile.constraints.excluded_genres]
        return Evidence(
            popular_now=bool(self.candidates.arrays.trending[self.rows[item_id]] >= self._popular_now_min),
            new_release=bool(self.candidates.arrays.new_release[self.rows[item_id]]),
            matched_aspects=matched,
            matched_themes=[t.text for t in profile.themes] if "semantic" in cand.sources else [],
            similar_to_liked=similar,
            sources=list(cand.sources),
            satisfies=satisfies,
        )

    def _similar(self, item_id: str, anchors: list[str], top: int = 2) -> list[SimilarItem]:
        rows = [self.rows[a] for a in anchors if a in self.rows and a != item_id]
        if not rows or item_id not in self.rows:
            return []
        sims = self.vectors[rows] @ self.vectors[self.rows[item_id]]
        best = np.argsort(-sims)[:top]
        return [
            SimilarItem(item_id=anchors_id, title=self.catalog.items[anchors_id].label, similarity=round(float(s), 3))
            for anchors_id, s in ((self.candidates.arrays.ids[rows[b]], sims[b]) for b in best)
            if s >= SIMILAR_MIN
        ]

    def to_recommended(self, ranked: list[RankedItem]) -> list[RecommendedItem]:
        out = []
        for rank, r in enumerate(ranked, 1):
            it = self.catalog.items[r.item_id]
            out.append(RecommendedItem(
                item_id=it.item_id, title=it.title, year=it.year, genres=list(it.genres),
                score=round(r.score, 4), rank=rank, evidence=r.evidence,
            ))
        return out


_SEQUEL_TAIL = re.compile(r"(?:\s+(?:\d+|ii|iii|iv|v|vi|vii|viii|ix|x|part \w+|chapter \w+|episode \w+))+$")


def franchise_key(title: str) -> str:
    """'Police Academy 3: Back in Training' -> 'police academy'; 'The Matrix Reloaded' stays itself."""
    key = normalize_title(title.split(":")[0])
    return _SEQUEL_TAIL.sub("", key) or key


def _theme_text(profile: InterestProfile) -> str:
    """All free-text themes as one query (the theme score compares items with their sum)."""
    return " ".join(t.text for t in profile.themes)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)
