"""patch_profile: each op with a known answer, all-or-nothing, and clear errors."""

from __future__ import annotations

import pytest
from recassist.assistant.store import RemoveItem
from recassist.foundation.errors import ConfigError, InputError, NotFoundError, UnknownItemError
from recassist.foundation.profile import (
    AspectPreference,
    Constraints,
    InterestProfile,
    ItemPreference,
    Source,
    Theme,
    YearRange,
)


def _full_profile() -> InterestProfile:
    src = Source(text="said", turn=1)
    return InterestProfile(
        liked_items=[ItemPreference(item_id="2571", title="The Matrix (1999)", source=src)],
        disliked_items=[ItemPreference(item_id="1", title="Toy Story (1995)", source=src)],
        liked_aspects=[AspectPreference(aspect="Horror", kind="genre", source=src)],
        disliked_aspects=[AspectPreference(aspect="Comedy", kind="genre", source=src)],
        themes=[Theme(text="something thoughtful", source=src)],
        constraints=Constraints(
            years=YearRange(max_year=2000, source=src),
            max_runtime_minutes=120,
            runtime_source=src,
            seen_items=[ItemPreference(item_id="318", title="The Shawshank Redemption (1994)", source=src)],
        ),
    )


@pytest.fixture
def alice(store):
    store.save_profile("alice", _full_profile(), "turn 1: extracted")
    return store


def test_remove_liked_item(alice):
    rev = alice.patch_profile("alice", [{"op": "remove_item", "list": "liked_items", "item_id": "2571"}])
    assert (rev.revision, rev.reason) == (2, "edit: removed liked item 2571 'The Matrix (1999)'")
    assert alice.get_profile("alice").liked_ids() == []


def test_remove_aspect_is_case_insensitive_and_names_the_stored_spelling(alice):
    rev = alice.patch_profile(
        "alice",
        [
            RemoveItem(op="remove_item", list="seen_items", item_id="318"),
            {"op": "remove_aspect", "list": "liked_aspects", "aspect": "horror"},
        ],
    )
    assert rev.reason == (
        "edit: removed seen item 318 'The Shawshank Redemption (1994)'; removed liked aspect 'Horror'"
    )
    p = alice.get_profile("alice")
    assert p.liked_aspects == [] and p.constraints.seen_items == []


def test_clear_constraints_and_remove_theme(alice):
    rev = alice.patch_profile(
        "alice",
        [
            {"op": "clear", "constraint": "years"},
            {"op": "clear", "constraint": "max_runtime_minutes"},
            {"op": "remove_theme", "text": "Something Thoughtful"},
        ],
    )
    assert rev.reason == (
        "edit: cleared year constraint; cleared runtime constraint; removed theme 'something thoughtful'"
    )
    p = alice.get_profile("alice")
    assert (
        p.constraints.years,
        p.constraints.max_runtime_minutes,
        p.constraints.runtime_source,
        p.themes,
    ) == (None, None, None, [])


def test_add_item_moves_it_from_the_opposite_side(alice):
    rev = alice.patch_profile("alice", [{"op": "add_item", "list": "liked_items", "item_id": "1"}])
    assert rev.reason == "edit: added liked item 1 'Toy Story (1995)'"
    p = alice.get_profile("alice")
    assert p.liked_ids() == ["2571", "1"] and p.disliked_ids() == []
    assert p.liked_items[1].origin == "explicit"


def test_add_aspect_uses_catalog_spelling_and_set_years(alice):
    alice.patch_profile(
        "alice",
        [
            {"op": "add_aspect", "list": "disliked_aspects", "aspect": "horror", "kind": "genre"},
            {"op": "add_aspect", "list": "liked_aspects", "aspect": "CYBERPUNK", "kind": "tag"},
            {"op": "set_years", "min_year": 1990, "max_year": 1999},
        ],
    )
    p = alice.get_profile("alice")
    assert [(a.aspect, a.kind) for a in p.liked_aspects] == [("cyberpunk", "tag")]
    assert [(a.aspect, a.kind) for a in p.disliked_aspects] == [("Comedy", "genre"), ("Horror", "genre")]
    assert (p.constraints.years.min_year, p.constraints.years.max_year) == (1990, 1999)


def test_an_edit_that_changes_nothing_writes_no_revision(alice):
    op = {"op": "add_item", "list": "seen_items", "item_id": "1258"}
    assert alice.patch_profile("alice", [op]).revision == 2
    assert alice.patch_profile("alice", [op]) is None
    assert len(alice.history("alice")) == 2


def test_edits_are_undoable(alice):
    alice.patch_profile("alice", [{"op": "remove_aspect", "list": "liked_aspects", "aspect": "Horror"}])
    u = alice.undo("alice")
    assert u.undone_reason == "edit: removed liked aspect 'Horror'"
    assert alice.get_profile("alice") == _full_profile()


def test_removing_an_absent_entry_is_not_found_and_nothing_changes(alice):
    ops = [
        {"op": "remove_item", "list": "liked_items", "item_id": "2571"},  # valid, applied first ...
        {"op": "remove_item", "list": "liked_items", "item_id": "999"},  # ... then this one fails
    ]
    with pytest.raises(NotFoundError, match=r"item '999' is not in liked_items \(it holds: none\)"):
        alice.patch_profile("alice", ops)
    assert alice.get_profile("alice") == _full_profile()
    assert len(alice.history("alice")) == 1
    with pytest.raises(NotFoundError, match="aspect 'Western' is not in liked_aspects .*'Horror'"):
        alice.patch_profile("alice", [{"op": "remove_aspect", "list": "liked_aspects", "aspect": "Western"}])
    with pytest.raises(NotFoundError, match="theme"):
        alice.patch_profile("alice", [{"op": "remove_theme", "text": "bleak"}])


def test_clearing_an_absent_constraint_is_not_found(store):
    store.save_profile("bob", InterestProfile(themes=[Theme(text="x", source=Source(text="x"))]), "turn 1")
    with pytest.raises(NotFoundError, match="no year constraint"):
        store.patch_profile("bob", [{"op": "clear", "constraint": "years"}])


def test_unknown_items_and_aspects_are_refused(alice):
    with pytest.raises(UnknownItemError, match="'424242' is not in catalog 'test'"):
        alice.patch_profile("alice", [{"op": "add_item", "list": "liked_items", "item_id": "424242"}])
    with pytest.raises(InputError, match="genre 'Telenovela' is not in catalog 'test' vocabulary"):
        alice.patch_profile("alice", [{"op": "add_aspect", "list": "liked_aspects", "aspect": "Telenovela"}])


@pytest.mark.parametrize(
    "ops, message",
    [
        ([], "empty"),
        ("remove everything", "must be a list"),
        ([{"op": "explode"}], "op 0"),
        ([{"op": "remove_item", "list": "liked_items"}], r"op 0\.remove_item\.item_id: Field required"),
        ([{"op": "remove_item", "list": "favourites", "item_id": "1"}], "list"),
        ([{"op": "clear", "constraint": "years", "extra": 1}], "Extra inputs"),
        ([{"op": "set_years", "min_year": 2000, "max_year": 1990}], "after max_year"),
        ([{"op": "set_years"}], "needs min_year"),
    ],
)
def test_malformed_ops_are_input_errors(alice, ops, message):
    with pytest.raises(InputError, match=message):
        alice.patch_profile("alice", ops)


def test_patch_of_unknown_user_is_not_found(store):
    with pytest.raises(NotFoundError, match="user 'ghost' not found"):
        store.patch_profile("ghost", [{"op": "clear", "constraint": "years"}])
    with pytest.raises(NotFoundError):
        store.get_profile("ghost")  # and the failed patch did not create the user


def test_adding_items_needs_a_catalog(make_store, catalog):
    with make_store() as bare:
        bare.save_profile("alice", _full_profile(), "turn 1")
        op = {"op": "add_item", "list": "liked_items", "item_id": "318"}
        with pytest.raises(ConfigError, match="needs a catalog"):
            bare.patch_profile("alice", [op])
        # Removals need none, and a catalog passed per call works.
        assert bare.patch_profile("alice", [{"op": "clear", "constraint": "years"}]).revision == 2
        assert bare.patch_profile("alice", [op], catalog=catalog).revision == 3


def _film_and_book_1() -> InterestProfile:
    src = Source(text="said", turn=1)
    return InterestProfile(liked_items=[
        ItemPreference(item_id="1", title="Toy Story (1995)", source=src),
        ItemPreference(item_id="1", title="The Hunger Games (2008)", domain="books", source=src)])


def test_removing_an_entry_removes_only_that_catalogs_item_with_the_same_id(store):
    store.save_profile("bea", _film_and_book_1(), "turn 1: extracted")
    rev = store.patch_profile("bea", [{"op": "remove_item", "list": "liked_items", "item_id": "1", "domain": "books"}])
    assert rev.reason == "edit: removed liked item books 1 'The Hunger Games (2008)'"
    assert [(e.item_id, e.domain) for e in store.get_profile("bea").liked_items] == [("1", None)]
    store.patch_profile("bea", [{"op": "remove_item", "list": "liked_items", "item_id": "1"}])  # the film
    assert store.get_profile("bea").liked_items == []


def test_the_first_catalogs_domain_names_its_entries_and_a_missing_domain_is_named(store, catalog):
    store.save_profile("cy", _film_and_book_1(), "turn 1: extracted")
    # The first catalog's entries carry no domain: naming its domain removes them all the same.
    store.patch_profile("cy", [{"op": "remove_item", "list": "liked_items", "item_id": "1", "domain": catalog.domain}])
    assert [(e.item_id, e.domain) for e in store.get_profile("cy").liked_items] == [("1", "books")]
    with pytest.raises(NotFoundError, match=r"only as an item of books; add \"domain\": \"books\""):
        store.patch_profile("cy", [{"op": "remove_item", "list": "liked_items", "item_id": "1"}])
    with pytest.raises(NotFoundError, match=r"item '2' of books is not in liked_items \(it holds: 1 \(books\)\)"):
        store.patch_profile("cy", [{"op": "remove_item", "list": "liked_items", "item_id": "2", "domain": "books"}])


def test_an_author_entry_is_removed_by_name_and_domain(store):
    from recassist.foundation.profile import AuthorPreference

    src = Source(text="Agatha Christie", turn=1)
    store.save_profile("dee", InterestProfile(liked_authors=[
        AuthorPreference(name="Agatha Christie", domain="books", aspects=["mystery"], source=src)]), "turn 1")
    bad = {"op": "remove_author", "list": "liked_authors", "name": "agatha christie", "domain": "movies"}
    with pytest.raises(NotFoundError, match=r"author 'agatha christie' of movies is not in liked_authors "
                                            r"\(it holds: 'Agatha Christie' \(books\)\)"):
        store.patch_profile("dee", [bad])
    rev = store.patch_profile("dee", [{**bad, "domain": "books"}])
    assert rev.reason == "edit: removed liked author 'Agatha Christie' (books)"
    assert store.get_profile("dee").liked_authors == [] and store.get_profile("dee").status == "empty"
