"""A taste from one catalog ranks the other through shared aspects; untimed catalogs split at random."""

from __future__ import annotations

import numpy as np
import pytest
from recassist.foundation.catalog import Catalog, Interaction, Item, load_catalog_cached
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR
from recassist.ranking.cross_domain import AspectTransfer, taste_from_items
from recassist.ranking.data import leave_one_out


@pytest.fixture(scope="module")
def movies():
    return load_catalog_cached(str(DEMO_CATALOG_DIR))


@pytest.fixture(scope="module")
def books():
    return load_catalog_cached(str(DEMO_BOOKS_DIR))


def test_films_about_space_and_aliens_rank_science_fiction_books(movies, books):
    # The Matrix, Star Wars IV and V, Aliens, Blade Runner.
    liked = [movies.get(i) for i in ("2571", "260", "1196", "1200", "541")]
    taste = taste_from_items(liked)
    assert taste["science fiction"] == taste["action"] == 1.0  # all five are Action|Sci-Fi in MovieLens
    top = AspectTransfer(books).recommend(taste, n=10)
    assert sum("science fiction" in m.aspects for m in top) >= 5
    assert all({"science fiction", "action"} & set(m.aspects) for m in top)  # each says which liked aspects it carries


def test_books_rank_films_and_exclusions_hold(movies, books):
    christie = [it for it in books.items.values() if "Agatha Christie" in (it.description or "")][:5]
    assert christie
    transfer = AspectTransfer(movies)
    top = transfer.recommend(taste_from_items(christie), n=10, exclude=["2571"])
    assert sum(transfer.carries(m.item_id, "mystery") for m in top) >= 7
    assert "2571" not in [m.item_id for m in top]


def test_empty_taste_falls_back_to_popularity(books):
    t = AspectTransfer(books)
    scores = t.score({})
    assert np.isfinite(scores).all()
    assert taste_from_items([]) == {}
    assert t.score({"not an aspect": 1.0}).tolist() == scores.tolist()


def test_untimed_catalog_holds_out_random_events_deterministically():
    items = {str(i): Item(item_id=str(i), title=f"t{i}") for i in range(40)}
    inter = [Interaction("u", str(i), 1.0, 0) for i in range(40)]
    timed = leave_one_out(Catalog("c", items, inter))
    untimed = Catalog("c", items, inter, domain="books", timed=False)
    a, b = leave_one_out(untimed), leave_one_out(untimed)
    assert timed.test_targets[0] == 39  # file order: the last row
    assert a.test_targets[0] == b.test_targets[0]  # seeded
    assert sorted(a.full_sequences[0].tolist()) == list(range(40))
    assert a.full_sequences[0].tolist() != list(range(40))  # not file order
