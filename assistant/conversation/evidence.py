"""The evidence record behind a recommended item: what it matches, what it is close to, why it came up."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from recassist.assistant.conversation.authors import derived_from_author
from recassist.assistant.conversation.carried import LikedElsewhere, liked_links
from recassist.assistant.conversation.models import AuthorLink, Evidence, SimilarItem
from recassist.assistant.conversation.scoring import LONG_HISTORY
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import InterestProfile
from recassist.foundation.vocabulary import item_aspects
from recassist.retrieval.candidates import Candidate, CandidateGenerator

SIMILAR_MIN = 0.35  # below this cosine, "similar to X" is not worth saying


class EvidenceBuilder:
    """`build(profile, history, candidate)` -> `Evidence` (the ranker fields are the engine's to fill).

    Read-only after construction apart from memos, so one builder serves every request.
    """

    def __init__(self, catalog: Catalog, candidates: CandidateGenerator) -> None:
        self.catalog = catalog
        self.arrays = candidates.arrays
        self.vectors = candidates.vectors  # float32 [n_items, d], L2-normalised, catalog order
        self.rows = candidates.arrays.index
        self._aspect_sets: dict[str, frozenset[str]] = {}  # item id -> lower-cased genres and tags
        self._popular_now_cut: float | None = None

    def build(self, profile: InterestProfile, history: Sequence[str], cand: Candidate,
              liked: Sequence[LikedElsewhere] = ()) -> Evidence:
        """Evidence for `cand` (its item id must be in the catalog) given the profile and history; `liked`:
        the liked items of other catalogs the ranking carried over (`carried.liked_elsewhere`)."""
        item_id = cand.item_id
        own = self._aspects_of(item_id)
        # Genres an author the user named, or a liked book, stands for are said as theirs, not as asked for.
        matched = [a.aspect for a in profile.liked_aspects
                   if a.aspect.lower() in own and not derived_from_author(a, profile.liked_authors, liked)]
        anchors = list(dict.fromkeys([*profile.liked_ids(), *list(history)[-LONG_HISTORY:]]))
        similar = self._similar(item_id, anchors)
        satisfies = []
        years = profile.constraints.years
        if years is not None:
            satisfies.append(f"year {years.min_year or '…'}–{years.max_year or '…'}")
        satisfies += [f"not {g.aspect}" for g in profile.constraints.excluded_genres]
        return Evidence(
            popular_now=bool(self.arrays.trending[self.rows[item_id]] >= self._popular_now_min()),
            new_release=bool(self.arrays.new_release[self.rows[item_id]]),
            matched_aspects=matched,
            matched_themes=[t.text for t in profile.themes] if "semantic" in cand.sources else [],
            similar_to_liked=similar,
            sources=list(cand.sources),
            satisfies=satisfies,
            authors=author_links(profile, self.catalog.items[item_id]),
            cross_domain=liked_links(liked, self.catalog.items[item_id]),
        )

    def _popular_now_min(self) -> float:
        """Trend an item needs to count as "popular now": the top 1% of items with a trend."""
        if self._popular_now_cut is None:
            trend = self.arrays.trending
            self._popular_now_cut = float(np.quantile(trend[trend > 0], 0.99)) if (trend > 0).any() else np.inf
        return self._popular_now_cut

    def _aspects_of(self, item_id: str) -> frozenset[str]:
        """Lower-cased genres and tags, memoised (evidence asks for the same popular items again and again)."""
        own = self._aspect_sets.get(item_id)
        if own is None:
            it = self.catalog.items[item_id]
            own = self._aspect_sets[item_id] = frozenset(g.lower() for g in (*it.genres, *it.tags))
        return own

    def _similar(self, item_id: str, anchors: list[str], top: int = 2) -> list[SimilarItem]:
        """The `top` anchors closest to the item, if at least SIMILAR_MIN cosine."""
        rows = [self.rows[a] for a in anchors if a in self.rows and a != item_id]
        if not rows or item_id not in self.rows:
            return []
        sims = self.vectors[rows] @ self.vectors[self.rows[item_id]]
        best = np.argsort(-sims)[:top]
        return [
            SimilarItem(item_id=anchor_id, title=self.catalog.items[anchor_id].label, similarity=round(float(s), 3))
            for anchor_id, s in ((self.arrays.ids[rows[b]], sims[b]) for b in best)
            if s >= SIMILAR_MIN
        ]


def author_links(profile: InterestProfile, item) -> list[AuthorLink]:
    """The liked authors `item` (an `Item`) is by, or shares aspects with; at most two."""
    carried = set(item_aspects(item))
    out = []
    for author in reversed(profile.liked_authors):  # the most recent first
        shared = [a for a in author.aspects if a in carried]
        mine = author.name in item.authors
        if (shared or mine) and len(out) < 2:
            out.append(AuthorLink(name=author.name, domain=author.domain, aspects=list(author.aspects),
                                  shared_aspects=shared, by_author=mine))
    return out
