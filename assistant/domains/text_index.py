"""Free text against an extra catalog: its own Chroma collection of MiniLM item vectors.

Each catalog's index is built like the films' (`retrieval.index.build_index`: incremental, resumable,
checked against a manifest) in a collection named after the catalog, at the catalog's first use or by
`recassist index build --domain books`. The shipped books come with precomputed vectors
(`retrieval.shipped_vectors`), so the first build only writes them: no embedding at demo start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from recassist.assistant.domains.detect import CUES
from recassist.assistant.extraction.mentions import is_function_word
from recassist.foundation.catalog import Catalog, Item
from recassist.foundation.settings import Settings
from recassist.retrieval.index import build_index, delete_items, upsert_items
from recassist.retrieval.query_vectors import QueryEncoder
from recassist.retrieval.store import VectorStore, connect

# Items asked of Chroma per text; every other item counts as no closer than the farthest of these.
NEAREST = 300
# Standardised similarity is capped here: a title word shared by chance ("Watching") must not outweigh
# the aspects and the ranker (a cosine 5 standard deviations up is common for a word in a title).
MAX_Z = 2.0
# Words that say what kind of request it is, not what it is about ("a book like ..., after watching ...").
_FRAME = {"like", "after", "loved", "liked", "love", "enjoyed", "something", "anything", "someone", "who",
          "loves", "similar", "recommend", "suggest", "want", "more", "good", "great", "please"}
_WORD = re.compile(r"[a-z][a-z'-]*")


def wish_text(text: str, titles: Iterable[str]) -> str | None:
    """The words of `text` that describe the wish: named titles, domain cues and framing words left out
    ("a book like The Martian" -> None; "a slow-burning gothic mystery" -> "slow-burning gothic mystery")."""
    low = text.lower()
    for t in sorted({t.lower() for t in titles if t}, key=len, reverse=True):
        low = low.replace(t, " ")
    cues = [c for stems in CUES.values() for c in stems]
    kept = [w for w in _WORD.findall(low) if w not in _FRAME and not any(re.fullmatch(c, w) for c in cues)]
    content = [w for w in kept if not is_function_word(w)]
    return " ".join(kept) if content else None


class TextIndex:
    """`similarity(text, item_ids)`: standardised MiniLM cosine of the text to each item."""

    def __init__(self, store: VectorStore, queries: QueryEncoder, settings: Settings) -> None:
        self.store = store
        self.queries = queries
        self.settings = settings

    @classmethod
    def open(cls, catalog: Catalog, settings: Settings, queries: QueryEncoder) -> TextIndex:
        """The catalog's collection, brought up to date first (writes only what changed)."""
        store = connect(settings, catalog.name)
        build_index(catalog, settings, queries.embedder, store=store)
        return cls(store, queries, settings)

    def similarity(self, text: str, item_ids: list[str]) -> np.ndarray:
        """float64 [len(item_ids)]: (cosine - mean) / std over the catalog, at most `MAX_Z`; items beyond
        the `NEAREST` closest at the farthest of those (so only the near ones move a ranking)."""
        vec = self.queries.encode([text])
        hits = self.store.query(vec, min(NEAREST, len(item_ids)))[0]
        if not hits:
            return np.zeros(len(item_ids))
        near = dict(hits)
        floor = min(near.values())
        sims = np.array([near.get(i, floor) for i in item_ids], dtype=np.float64)
        return np.minimum((sims - sims.mean()) / (sims.std() or 1.0), MAX_Z)

    def upsert(self, catalog: Catalog, items: list[Item]) -> Catalog:
        """`catalog` with `items` added or replaced, in the index before this returns."""
        return upsert_items(catalog, items, self.settings, self.queries.embedder)

    def delete(self, catalog: Catalog, item_ids: list[str]) -> Catalog:
        """`catalog` without `item_ids`, gone from the index before this returns."""
        return delete_items(catalog, item_ids, self.settings, self.queries.embedder)
