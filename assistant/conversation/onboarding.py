"""Cold start: a few questions, or a few diverse items to react to, until the system is confident.

Items to react to are chosen to learn the most per question: well-known (so
the user can answer) and far apart in embedding space (so each answer tells
something new). Questions the user has already answered are never asked.
"""

from __future__ import annotations

import numpy as np
from recassist.assistant.conversation.models import OnboardingStep, RecommendedItem
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.profile import InterestProfile

POPULAR_POOL = 300
ITEMS_PER_STEP = 5


def is_confident(profile: InterestProfile, history_len: int) -> bool:
    """Enough to rank with: some history, two liked items, or a liked item plus an aspect, or two aspects.
    A liked author counts as both: their items, and the aspects those carry."""
    authors = len(profile.liked_authors)
    liked, aspects = len(profile.liked_items) + authors, len(profile.liked_aspects) + len(profile.themes) + authors
    return history_len >= 3 or liked >= 2 or (liked >= 1 and aspects >= 1) or aspects >= 2


def has_positive_signal(profile: InterestProfile, history_len: int) -> bool:
    """Anything at all to rank with: then recommend, and keep asking alongside until confident."""
    return history_len > 0 or bool(profile.liked_items or profile.liked_aspects or profile.themes
                                   or profile.liked_authors)


class Onboarding:
    def __init__(self, catalog: Catalog, vectors: np.ndarray, row_of: dict[str, int]) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.row_of = row_of
        pop = catalog.popularity
        self.pool = sorted((i for i in catalog.items if pop.get(i)), key=lambda i: -pop[i])[:POPULAR_POOL]

    def next_step(self, profile: InterestProfile, asked: list[str], already_shown: set[str]) -> OnboardingStep:
        """The most useful next question the user has not answered yet."""
        if not profile.liked_items and "titles" not in asked:
            return OnboardingStep(question="Tell me a movie or two you loved (and any you couldn't stand).",
                                  asked=[*asked, "titles"])
        if not profile.liked_aspects and not profile.themes and "genres" not in asked:
            genres = ", ".join(self.catalog.genres[:8])
            return OnboardingStep(question=f"What are you in the mood for? For example: {genres}.",
                                  asked=[*asked, "genres"])
        items = self.diverse_items(profile, already_shown)
        return OnboardingStep(
            question="Have you seen any of these? Like or dislike them, or tell me in your own words.",
            items=items, asked=[*asked, "react"],
        )

    def diverse_items(self, profile: InterestProfile, already_shown: set[str], n: int = ITEMS_PER_STEP
                      ) -> list[RecommendedItem]:
        """Greedy max-min diversity over the popular pool, skipping anything the user already rated or saw."""
        skip = already_shown | set(profile.liked_ids()) | profile.blocked_ids()
        pool = [i for i in self.pool if i not in skip and i in self.row_of]
        if not pool:
            return []
        vecs = self.vectors[[self.row_of[i] for i in pool]]
        chosen = [0]  # the most popular first: the likeliest to be known
        min_dist = 1 - vecs @ vecs[0]
        while len(chosen) < min(n, len(pool)):
            j = int(np.argmax(min_dist))
            chosen.append(j)
            min_dist = np.minimum(min_dist, 1 - vecs @ vecs[j])
        out = []
        for rank, j in enumerate(chosen, 1):
            it = self.catalog.items[pool[j]]
            out.append(RecommendedItem(item_id=it.item_id, title=it.title, year=it.year, genres=list(it.genres),
                                       score=0.0, rank=rank, explanation="A well-known pick to learn your taste.",
                                       explanation_source="template"))
        return out
