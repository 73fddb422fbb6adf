"""Liked books carried to the films' ranking (shipped catalogs): which books count, what they stand for, and
the evidence and reason each film gets."""

from __future__ import annotations

import pytest
from recassist.assistant.conversation.authors import derived_from_author, with_author_aspects
from recassist.assistant.conversation.carried import (
    avoided_here,
    carried_aspects,
    disliked_elsewhere,
    liked_elsewhere,
    liked_links,
)
from recassist.assistant.conversation.explain import template_explanation
from recassist.assistant.conversation.models import Evidence
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.profile import AspectPreference, AuthorPreference, InterestProfile, ItemPreference, Source
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR
from recassist.foundation.vocabulary import item_aspects

HUNGER_GAMES, DUNE, ENDERS_GAME, HARRY_POTTER, TWILIGHT, NEW_MOON = "1", "126", "70", "2", "3", "49"  # goodbooks
ARRIVAL, INTERSTELLAR, THE_MATRIX = "164179", "109487", "2571"  # MovieLens ids


@pytest.fixture(scope="module")
def films():
    return load_catalog_cached(str(DEMO_CATALOG_DIR))


@pytest.fixture(scope="module")
def books():
    return load_catalog_cached(str(DEMO_BOOKS_DIR))


@pytest.fixture(scope="module")
def other(books):
    return lambda domain: books if domain == "books" else None


def _liked(catalog, item_id: str, domain: str | None) -> ItemPreference:
    return ItemPreference(item_id=item_id, title=catalog.items[item_id].label, domain=domain,
                          source=Source(text=catalog.items[item_id].title))


def test_liked_books_count_while_they_outnumber_the_liked_films(films, books, other):
    two_books = InterestProfile(liked_items=[_liked(books, DUNE, "books"), _liked(books, ENDERS_GAME, "books")])
    got = liked_elsewhere(two_books, other)
    assert [(x.domain, x.item.title) for x in got] == [("books", "Ender's Game"), ("books", "Dune")]  # recent first
    one_film = two_books.model_copy(update={"liked_items": [*two_books.liked_items, _liked(films, ARRIVAL, None)]})
    assert len(liked_elsewhere(one_film, other)) == 2
    two_films = one_film.model_copy(update={"liked_items": [*one_film.liked_items, _liked(films, INTERSTELLAR, None)]})
    assert liked_elsewhere(two_films, other) == []  # as many liked films: they rank alone
    assert liked_elsewhere(two_books, None) == []  # one catalog served: nothing to carry
    gone = InterestProfile(liked_items=[ItemPreference(item_id="999999", title="Gone", domain="books",
                                                       source=Source(text="Gone"))])
    assert liked_elsewhere(gone, other) == []  # an item no longer in its catalog


def test_liked_books_become_the_genres_of_what_they_share_said_as_theirs(films, books, other):
    profile = InterestProfile(liked_items=[_liked(books, DUNE, "books"), _liked(books, ENDERS_GAME, "books")])
    liked = liked_elsewhere(profile, other)
    aspects = carried_aspects(liked)
    # Both are shelved science fiction, fantasy and classics; each aspect most of them carry is kept.
    assert {"science fiction", "fantasy", "classics"} <= set(aspects)
    assert all(sum(a in item_aspects(x.item) for x in liked) * 2 >= len(liked) for a in aspects)
    ranked_with = with_author_aspects(profile, films, liked)
    added = [a for a in ranked_with.liked_aspects if derived_from_author(a, [], liked)]
    assert {"Sci-Fi", "Fantasy"} <= {a.aspect for a in added}
    assert all(a.origin == "inferred" and a.kind == "genre" for a in added)
    assert profile.liked_aspects == []  # the stored profile is not changed


def test_a_film_is_linked_to_the_liked_book_it_shares_aspects_with_and_the_reason_says_so(films, books, other):
    profile = InterestProfile(liked_items=[_liked(books, HUNGER_GAMES, "books")])
    liked = liked_elsewhere(profile, other)
    matrix = films.items[THE_MATRIX]
    (link,) = liked_links(liked, matrix)
    assert (link.domain, link.item_id, link.title) == ("books", HUNGER_GAMES, "The Hunger Games")
    assert "science fiction" in link.shared_aspects
    assert all(a in item_aspects(matrix) and a in item_aspects(books.items[HUNGER_GAMES]) for a in link.shared_aspects)
    sentence = template_explanation(matrix, Evidence(cross_domain=[link]), films)
    assert sentence.startswith("You liked the book The Hunger Games; this film shares its ")
    assert "science fiction" in sentence


def test_a_sentence_naming_the_liked_book_passes_the_checker_only_with_the_link(films, books, other):
    from recassist.assistant.conversation.explain import ExplanationChecker

    liked = liked_elsewhere(InterestProfile(liked_items=[_liked(books, HUNGER_GAMES, "books")]), other)
    matrix = films.items[THE_MATRIX]
    linked = Evidence(cross_domain=liked_links(liked, matrix))
    sentence = "You liked the book The Hunger Games, and this is sci-fi too."
    check = ExplanationChecker(films).problems
    assert check(sentence, matrix, linked) == []
    # The book's title is also a film's: without the link it is another title and an opinion not in evidence.
    unlinked = check(sentence, matrix, Evidence())
    assert any("another title" in p for p in unlinked) and any("opinion" in p for p in unlinked)


def test_disliked_books_push_away_the_genres_of_what_they_stand_for_unless_a_liked_item_carries_it(
        films, books, other):
    hated = InterestProfile(disliked_items=[_liked(books, TWILIGHT, "books"), _liked(books, NEW_MOON, "books")])
    assert [x.item.title for x in disliked_elsewhere(hated, other)] == ["New Moon", "Twilight"]  # recent first
    avoided = avoided_here(hated, films, other)
    assert {"romance", "fantasy"} <= set(avoided)
    ranked_with = with_author_aspects(hated, films, [], avoided)
    pushed = {a.aspect for a in ranked_with.disliked_aspects}
    assert {"Romance", "Fantasy"} <= pushed
    assert all(a.origin == "inferred" and a.kind == "genre" for a in ranked_with.disliked_aspects)
    assert hated.disliked_aspects == []  # the stored profile is not changed
    # A liked book carrying fantasy keeps it (Harry Potter): only what nothing liked carries is avoided.
    also_liked = hated.model_copy(update={"liked_items": [_liked(books, HARRY_POTTER, "books")]})
    kept = avoided_here(also_liked, films, other)
    assert "romance" in kept and "fantasy" not in kept and "young adult" not in kept
    assert "Fantasy" not in {a.aspect for a in with_author_aspects(also_liked, films, [], kept).disliked_aspects}
    # So does a liked film (Harry Potter's first film is Fantasy), and an aspect the user asked for.
    hp_film = next(i for i, it in films.items.items() if it.title.startswith("Harry Potter and the Sorcerer"))
    with_film = hated.model_copy(update={"liked_items": [_liked(films, hp_film, None)]})
    assert "fantasy" not in avoided_here(with_film, films, other)
    assert avoided_here(hated, films, None) == []  # one catalog served: nothing to resolve


def test_a_disliked_author_pushes_away_the_genres_his_books_stand_for(films, books, other):
    king = AuthorPreference(name="Stephen King", domain="books", aspects=["horror", "thriller"],
                            source=Source(text="Stephen King"))
    profile = InterestProfile(disliked_authors=[king])
    avoided = avoided_here(profile, films, other)
    assert avoided == ["horror", "thriller"]
    pushed = with_author_aspects(profile, films, [], avoided).disliked_aspects
    assert {"Horror", "Thriller"} <= {a.aspect for a in pushed}
    # Horror asked for in the words stays liked: it is not pushed away as well.
    asked = profile.model_copy(update={"liked_aspects": [AspectPreference(aspect="Horror", kind="genre",
                                                                          source=Source(text="horror"))]})
    assert avoided_here(asked, films, other) == ["thriller"]
