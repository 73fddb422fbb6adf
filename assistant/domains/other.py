"""A catalog served beside the first one: its own ranker, and tastes carried over from other catalogs.

Scoring (weights fixed by design, not fitted; see docs/books.md):
- shared-aspect transfer (`ranking.cross_domain.AspectTransfer`): the liked items of other catalogs and
  the profile's liked aspects, mapped to the shared vocabulary; disliked aspects count against, and so do
  the aspects its disliked items of other catalogs and disliked authors stand for that nothing it likes
  carries (`carried.avoided_aspects`, the rule the first catalog's ranking follows);
- the catalog's own ranker (EASE, trained on its interactions) on the user's liked items of this catalog,
  standardised over the catalog, weighted `RANKER_WEIGHT`;
- the request's free text ("a slow-burning gothic mystery") against the catalog's own MiniLM index
  (`text_index.TextIndex`), standardised over the catalog, weighted `TEXT_WEIGHT`;
- authors the user named: their items in this catalog first (`AUTHOR_BONUS`: "books by Agatha Christie"
  lists hers), and the shared aspects their items carry in the taste like a liked item's; a disliked
  author's items never come back;
- a small popularity prior (inside the transfer) for a profile that says nothing.
Items the user already named (same title as a liked item of any catalog: "a book like The Martian"
does not answer The Martian), liked and blocked items of this catalog never come back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from recassist.assistant.conversation.evidence import author_links
from recassist.assistant.conversation.models import CrossDomainLink, Evidence, RecommendedItem
from recassist.assistant.domains.explain import cross_domain_sentence
from recassist.assistant.domains.text_index import TextIndex, wish_text
from recassist.assistant.extraction.authors import AuthorIndex
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.catalog.updates import apply_updates
from recassist.foundation.errors import StateMismatchError
from recassist.foundation.profile import InterestProfile
from recassist.foundation.settings import Settings
from recassist.foundation.vocabulary import item_aspects, to_shared
from recassist.ranking.base import UserQuery
from recassist.ranking.cross_domain import AspectTransfer, taste_from_items
from recassist.ranking.data import all_for_training
from recassist.ranking.ease import EASERanker
from recassist.ranking.storage import CheckpointError
from recassist.retrieval.query_vectors import QueryEncoder

RANKER_WEIGHT = 1.0  # one standard deviation of EASE ~ one fully matched common aspect
EXPLICIT_ASPECT_WEIGHT = 1.0  # an aspect the user named counts like one carried by every liked item
TEXT_WEIGHT = 1.0  # one standard deviation of text similarity ~ one fully matched common aspect
AUTHOR_ASPECT_WEIGHT = 1.0  # an author's aspects count like those of one liked item carrying them all
# Added to a named author's own items: above what aspects, EASE and text add together for others, so the
# author's items come first and the rest of the list is what shares their aspects.
AUTHOR_BONUS = 10.0
# EASE's L2 weight for the shipped books: chosen on the validation split by bench/bench_books.py (grid 10 to
# 5000; validation NDCG@10 0.203), so serving fits once, in seconds, without a search.
EASE_LAMBDA = 25.0


def ranker_path(models_dir: Path, catalog: Catalog) -> Path:
    return Path(models_dir) / f"ranker-{catalog.domain}.npz"


def open_ranker(catalog: Catalog, models_dir: Path) -> EASERanker | None:
    """The catalog's EASE: loaded when trained on this catalog version, else fitted (seconds) and saved."""
    if not catalog.interactions:
        return None
    path = ranker_path(models_dir, catalog)
    if path.is_file():
        try:
            return EASERanker.load(path, catalog_version=catalog.version)
        except (CheckpointError, StateMismatchError):
            pass  # stale or damaged: refit below, the new file replaces it atomically
    ranker = EASERanker(lam=EASE_LAMBDA)
    ranker.fit(all_for_training(catalog))
    path.parent.mkdir(parents=True, exist_ok=True)
    ranker.save(path)
    return ranker


def _plain(label: str) -> str:
    """'Gone Girl (2012)' -> 'Gone Girl' (profile entries carry the label with its year)."""
    from recassist.foundation.catalog.titles import split_title_year

    return split_title_year(label)[0]


class OtherCatalog:
    """One extra catalog, ready to recommend. Thread-safe after construction (read-only)."""

    def __init__(self, catalog: Catalog, ranker: EASERanker | None, text_index: TextIndex | None = None) -> None:
        self.catalog = catalog
        self.domain = catalog.domain
        self.ranker = ranker
        self.text_index = text_index
        self.transfer = AspectTransfer(catalog)
        # Items added since the ranker was fitted have no EASE row: they are scored by aspects and text.
        self._known = set(ranker.item_ids) if ranker is not None else set()
        self._ranked = np.array([i in self._known for i in self.transfer.item_ids])
        self.authors = AuthorIndex(catalog)
        self._by_title: dict[str, list[str]] = {}
        for item_id, it in catalog.items.items():
            for t in (it.title, *it.aliases):
                self._by_title.setdefault(normalize_title(t), []).append(item_id)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path, settings: Settings, queries: QueryEncoder | None) -> OtherCatalog:
        """The folder's catalog with the item updates recorded for its domain, its ranker, and (with
        `queries`) its text index, each loaded or brought up to date."""
        from recassist.foundation.catalog import catalog_domain, load_catalog_cached

        catalog = apply_updates(load_catalog_cached(str(folder)), settings, catalog_domain(folder))
        index = TextIndex.open(catalog, settings, queries) if queries is not None else None
        return cls(catalog, open_ranker(catalog, settings.models_dir), index)

    def with_catalog(self, catalog: Catalog) -> OtherCatalog:
        """The same ranker and index over a changed catalog (the ranker is refitted at the next open)."""
        return OtherCatalog(catalog, self.ranker, self.text_index)

    def recommend(self, profile: InterestProfile, sources: Sequence[tuple[str, Item]], *, k: int = 10,
                  text: str | None = None, avoided: Sequence[str] = ()) -> list[RecommendedItem]:
        """Top-`k` items of this catalog. `sources`: (domain, item) liked in other catalogs, oldest first;
        `text`: the request's words, matched against the catalog's text index when it has one; `avoided`: the
        shared aspects the profile's dislikes elsewhere stand for (`carried.avoided_aspects`)."""
        taste = taste_from_items(it for _, it in sources)
        for a in to_shared(p.aspect for p in profile.liked_aspects):
            taste[a] = taste.get(a, 0.0) + EXPLICIT_ASPECT_WEIGHT
        for a in (*to_shared(p.aspect for p in profile.disliked_aspects), *avoided):
            taste[a] = taste.get(a, 0.0) - EXPLICIT_ASPECT_WEIGHT
        for author in profile.liked_authors:
            for a in author.aspects:
                taste[a] = taste.get(a, 0.0) + AUTHOR_ASPECT_WEIGHT
        scores = self.transfer.score(taste).astype(np.float64)
        row = {item_id: j for j, item_id in enumerate(self.transfer.item_ids)}
        for author in profile.liked_authors:
            if author.domain == self.domain:
                for item_id in self.authors.books(author.name):
                    if item_id in row:
                        scores[row[item_id]] += AUTHOR_BONUS
        own = [i for i in profile.liked_ids(self.domain) if i in self.catalog]
        own_known = [i for i in own if i in self._known]
        if own_known and self.ranker is not None:
            ids = [i for i, ok in zip(self.transfer.item_ids, self._ranked, strict=True) if ok]
            r = self.ranker.score_items(UserQuery(history=own_known), ids).astype(np.float64)
            scores[self._ranked] += RANKER_WEIGHT * (r - r.mean()) / (r.std() or 1.0)
        named = [_plain(p.title) for p in (*profile.liked_items, *profile.disliked_items)]
        wish = wish_text(text, named) if text and self.text_index is not None else None
        if wish and self.text_index is not None:
            scores += TEXT_WEIGHT * self.text_index.similarity(wish, self.transfer.item_ids)
        blocked = set(own) | profile.blocked_ids(self.domain)
        for author in profile.disliked_authors:
            if author.domain == self.domain:
                blocked.update(self.authors.books(author.name))
        for _, it in sources:
            for t in (it.title, *it.aliases):
                blocked.update(self._by_title.get(normalize_title(t), ()))
        order = np.argsort(-scores, kind="stable")
        out: list[RecommendedItem] = []
        for j in order:
            item_id = self.transfer.item_ids[j]
            if item_id in blocked:
                continue
            out.append(self._item(item_id, float(scores[j]), len(out) + 1, taste, sources, bool(own_known),
                                  bool(wish), profile))
            if len(out) == k:
                break
        return out

    def _item(self, item_id: str, score: float, rank: int, taste: dict[str, float],
              sources: Sequence[tuple[str, Item]], ranked: bool, by_text: bool,
              profile: InterestProfile) -> RecommendedItem:
        it = self.catalog.items[item_id]
        carried = set(item_aspects(it))
        matched = [a for a, w in sorted(taste.items(), key=lambda kv: -kv[1]) if w > 0 and a in carried]
        links = []
        for domain, src in reversed(sources):  # the most recent liked items first
            shared = [a for a in matched if a in item_aspects(src)]
            if shared and len(links) < 2:
                links.append(CrossDomainLink(item_id=src.item_id, title=src.title, domain=domain,
                                             shared_aspects=shared[:3]))
        authors = author_links(profile, it)
        ev = Evidence(matched_aspects=matched[:5], cross_domain=links, authors=authors,
                      sources=["aspect-transfer", *(["author"] if any(a.by_author for a in authors) else []),
                               *(["text"] if by_text else [])],
                      ranker="ease" if ranked else "")
        return RecommendedItem(item_id=item_id, title=it.label, domain=self.domain, year=it.year,
                               genres=list(it.genres), score=score, rank=rank,
                               explanation=cross_domain_sentence(self.domain, ev), explanation_source="template",
                               evidence=ev)
