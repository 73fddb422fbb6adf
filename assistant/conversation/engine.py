"""One recommendation request: profile + history -> candidates -> signals -> scores -> top-k with evidence.

The engine holds the heavy, read-only parts (catalog arrays, item vectors, the trained ranker) and
is shared by every user and session. What it composes lives in small modules: the signals
(`signals.py`), the blend of them (`scoring.py`, replaceable), the evidence record (`evidence.py`)
and the list's diversity (`diversity.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from recassist.assistant.conversation import scoring
from recassist.assistant.conversation.authors import with_author_aspects
from recassist.assistant.conversation.carried import LikedElsewhere, OtherCatalog, avoided_here, liked_elsewhere
from recassist.assistant.conversation.diversity import few_per_franchise
from recassist.assistant.conversation.evidence import EvidenceBuilder
from recassist.assistant.conversation.models import ChatSuggestion, ChatWord, Evidence, RecommendedItem
from recassist.assistant.conversation.signals import SignalSource, theme_text
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import InterestProfile
from recassist.ranking.base import Ranker
from recassist.retrieval.candidates import CandidateGenerator
from recassist.retrieval.filters import Filter


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
        #: The conversation-trained scorer (`assistant.dialogue.scorer.ConversationScorer`); None: the hand-set
        #: blend (`scoring.score`) ranks. Set by `Assistant.open` when its files are present and current.
        self.conversation = None
        #: The other catalogs served beside this one (`carried.OtherCatalog`), for liked items of theirs; None:
        #: this catalog only. Set by `assistant.domains.catalogs.Catalogs`; catalog and ranker swaps carry it over.
        self.other_catalog: OtherCatalog | None = None
        self.rows = candidates.arrays.index  # item id -> catalog row
        self.signals = SignalSource(candidates)
        self.evidence = EvidenceBuilder(catalog, candidates)
        self._ranker_ids: set[str] | None = None

    def with_ranker(self, ranker: Ranker | None) -> RecommendationEngine:
        """A copy that ranks with `ranker`; the parts that do not depend on the ranker (signal source,
        evidence builder and their caches, the conversation scorer) are shared with this one."""
        new = RecommendationEngine.__new__(RecommendationEngine)
        new.catalog, new.candidates, new.ranker = self.catalog, self.candidates, ranker
        new.conversation = self.conversation
        new.other_catalog = self.other_catalog
        new.rows, new.signals, new.evidence = self.rows, self.signals, self.evidence
        new._ranker_ids = None
        return new

    @property
    def ranker_index(self) -> set[str]:
        """Item ids the ranker was trained on (empty without a ranker)."""
        if self._ranker_ids is None:
            self._ranker_ids = set(self.ranker.item_ids) if self.ranker is not None else set()
        return self._ranker_ids

    def recommend(
        self, profile: InterestProfile, history: Sequence[str] = (), *, k: int = 5, text: str | None = None,
        filters: Filter | None = None, n_candidates: int = 300, exclude: Sequence[str] = (),
        named_genres: set[str] | None = None,
    ) -> list[RankedItem]:
        """Top-`k` items with the evidence behind each. Blocked items (disliked, seen, excluded,
        history, liked) never appear; hard constraints are applied by the candidate generator. With the
        conversation-trained layer, items carrying a genre the request names (`named_genres`, the genres of its
        own words; None: every liked genre) come first (`assistant.dialogue.ordering`). Authors the
        user named, and liked items of other catalogs while they outnumber the liked items here, count through
        the genres their items carry (`authors.with_author_aspects`, `carried.liked_elsewhere`); disliked
        items of other catalogs and disliked authors push away the genres carrying what they stand for
        (`carried.avoided_here`)."""
        liked = liked_elsewhere(profile, self.other_catalog)
        profile = with_author_aspects(profile, self.catalog, liked,
                                      avoided_here(profile, self.catalog, self.other_catalog))
        self.embed_texts(profile, text)  # usually done already (see `embed_texts`): then all lookups hit
        if self.conversation is not None:
            ranked = self._recommend_learned(profile, history, k=k, text=text, filters=filters,
                                             n_candidates=n_candidates, exclude=exclude, liked=liked,
                                             named_genres=named_genres)
            if ranked is not None:
                return ranked
        cands = self.candidates.generate(profile, history, k=n_candidates, text=text, filter=filters)
        blocked = set(exclude)
        cands = [c for c in cands if c.item_id not in blocked]
        if not cands:
            return []
        ids = [c.item_id for c in cands]
        rows = np.fromiter(map(self.rows.__getitem__, ids), dtype=np.int64, count=len(ids))
        signals = self.signals.gather(profile, history, cands, rows, text, self.ranker, self.ranker_index)
        scores = scoring.score(signals)
        order = few_per_franchise(np.argsort(-scores.blended, kind="stable"), ids, self.catalog, k)
        ranker_rank = np.empty(len(ids), dtype=np.int64)  # candidate position -> rank by ranker score alone
        ranker_rank[np.argsort(-scores.ranker_scores, kind="stable")] = np.arange(1, len(ids) + 1)
        out = []
        for j in order:
            c = cands[j]
            ev = self.evidence.build(profile, history, c, liked)
            if scores.ranker_used:  # evidence names the ranker only where its scores counted
                ev.ranker = self.ranker.name if self.ranker is not None else "candidate-fusion"
                ev.ranker_rank = int(ranker_rank[j])
                ev.ranker_score = round(float(scores.ranker_scores[j]), 4)
            out.append(RankedItem(c.item_id, float(scores.blended[j]), ev))
        return out

    def _recommend_learned(self, profile: InterestProfile, history: Sequence[str], *, k: int, text: str | None,
                           filters: Filter | None, n_candidates: int,
                           exclude: Sequence[str], liked: Sequence[LikedElsewhere] = (),
                           named_genres: set[str] | None = None) -> list[RankedItem] | None:
        """Top-`k` by the conversation-trained layer (same blocked items and constraints; named genres first)."""
        got = self.conversation.rank(self, profile, history, text=text, filters=filters, exclude=exclude,
                                     n_candidates=n_candidates, named_genres=named_genres)
        if got is None:
            return None
        ids = [c.item_id for c in got.candidates]
        context = [*profile.liked_ids(), *history]
        out = []
        for rank, j in enumerate(few_per_franchise(got.order, ids, self.catalog, k), 1):
            c = got.candidates[j]
            ev = self.evidence.build(profile, history, c, liked)
            ev.ranker, ev.ranker_rank, ev.ranker_score = self.conversation.name, rank, round(float(got.scores[j]), 4)
            ev.suggested_in_chats_after = [
                ChatSuggestion(item_id=a, title=self.catalog.items[a].label, conversations=round(w, 1))
                for a, w in self.conversation.suggested_after(c.item_id, context)]
            ev.called_in_chats = [ChatWord(word=w, conversations=round(n, 1))
                                  for w, n in self.conversation.called(c.item_id, text)]
            out.append(RankedItem(c.item_id, float(got.scores[j]), ev))
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
            texts.append(theme_text(profile))
        if self.ranker is not None:
            texts += [a.aspect for a in (*profile.liked_aspects, *profile.disliked_aspects)]
        return texts

    def to_recommended(self, ranked: list[RankedItem]) -> list[RecommendedItem]:
        """The API / UI records of `ranked`, rank 1 first (explanations not yet filled in)."""
        out = []
        for rank, r in enumerate(ranked, 1):
            it = self.catalog.items[r.item_id]
            out.append(RecommendedItem(
                item_id=it.item_id, title=it.title, year=it.year, genres=list(it.genres),
                score=round(r.score, 4), rank=rank, evidence=r.evidence,
            ))
        return out
