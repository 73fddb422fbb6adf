"""A catalog swap after a small update patches the derived tables; they must equal a rebuild from scratch."""

from __future__ import annotations

import numpy as np
import pytest
from recassist.assistant.extraction.mentions import TitleMatcher
from recassist.foundation.catalog import Item
from recassist.foundation.catalog.updates import CatalogChange
from recassist.retrieval.catalog_arrays import CatalogArrays
from recassist.retrieval.cooccurrence import CoOccurrence
from recassist.retrieval.item_vectors import item_vectors, updated_vectors

NEW = Item(item_id="100", title="Dusty Trail: The Return", year=2016, genres=("Western", "Drama"),
           tags=("cowboys", "ghosts"), aliases=("Trail of Dust",))


def _updated(catalog):
    """Add an item (with a new genre and a tag others carry), replace one, drop one without interactions."""
    replaced = catalog.items["3"].model_copy(update={"title": "Mars Colony: Red Dawn", "genres": ("Horror",),
                                                     "tags": ("mars", "ghosts")})
    return catalog.with_items([NEW, replaced]).without_items(["16"])


def test_the_change_is_classified(catalog):
    after = _updated(catalog)
    change = CatalogChange.between(catalog, after)
    assert (change.upserted, change.removed, change.interactions_changed) == ({"100", "3"}, {"16"}, False)
    assert change.is_small(len(catalog) * 100) and not change.is_small(len(catalog))
    # Dropping an item people interacted with changes co-occurrence everywhere: not patchable.
    assert CatalogChange.between(catalog, catalog.without_items(["5"])).interactions_changed


def test_patched_arrays_and_cooccurrence_equal_a_rebuild(catalog):
    after = _updated(catalog)
    before = CatalogArrays.build(catalog)
    patched = before.updated(after, CatalogChange.between(catalog, after).upserted)
    fresh = CatalogArrays.build(after)
    assert patched.ids == fresh.ids and patched.index == fresh.index and patched.genre_col == fresh.genre_col
    for name in ("years", "genre_matrix", "popularity", "trending", "new_release"):
        np.testing.assert_array_equal(getattr(patched, name), getattr(fresh, name), err_msg=name)
    assert patched.tag_rows.keys() == fresh.tag_rows.keys()
    for tag, rows in fresh.tag_rows.items():
        np.testing.assert_array_equal(patched.tag_rows[tag], rows, err_msg=tag)

    moved = CoOccurrence.build(catalog, before).moved(before.ids, patched)
    rebuilt = CoOccurrence.build(after, fresh)
    np.testing.assert_array_equal(moved.neighbours, rebuilt.neighbours)
    np.testing.assert_allclose(moved.sims, rebuilt.sims, rtol=1e-6)
    assert rebuilt.neighbours[fresh.index["1"], 0] == fresh.index["11"]  # the known co-occurrence survived


def test_a_removed_item_with_cooccurrences_is_refused(catalog):
    arrays = CatalogArrays.build(catalog)
    smaller = catalog.without_items(["11"])
    with pytest.raises(ValueError, match="rebuild"):
        CoOccurrence.build(catalog, arrays).moved(arrays.ids, CatalogArrays.build(smaller))


def test_patched_vectors_equal_a_rebuild(catalog, settings, embedder):
    after = _updated(catalog)
    ids, vectors = item_vectors(catalog, settings, embedder)
    patched = updated_vectors(after, ids, vectors, CatalogChange.between(catalog, after).upserted, settings,
                              embedder)
    fresh_ids, fresh = item_vectors(after, settings, embedder)
    assert fresh_ids == list(after.item_ids)
    np.testing.assert_allclose(patched, fresh, atol=1e-6)
    assert not patched.flags.writeable


def test_patched_title_matcher_matches_like_a_rebuild(catalog):
    after = _updated(catalog)
    patched = TitleMatcher(after, previous=TitleMatcher(catalog))
    fresh = TitleMatcher(after)
    for table in ("_by_key", "_by_main_title", "_subtitled"):
        assert getattr(patched, table) == getattr(fresh, table), table
    assert {k: sorted(v) for k, v in patched._by_first.items()} == {k: sorted(v) for k, v in fresh._by_first.items()}
    for name in ("Dusty Trail", "Trail of Dust", "Mars Colony", "Mars Colony: Red Dawn", "Untitled Nature Film",
                 "Star Voyage (2001)"):
        assert patched.match_name(name) == fresh.match_name(name), name
    assert patched.match_name("Dusty Trail") == "100" and patched.match_name("Untitled Nature Film") is None
    text = "I loved Dusty Trail: The Return and Star Voyage"
    assert patched.find_mentions(text) == fresh.find_mentions(text)
