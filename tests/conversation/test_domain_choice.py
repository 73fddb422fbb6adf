"""Which catalogs a chat turn answers from, and book titles grounded in the user's words (shipped catalogs)."""

from __future__ import annotations

import pytest
from recassist.assistant.domains.chat import choose_domains, split_k
from recassist.assistant.domains.grounding import TitleGrounding
from recassist.assistant.domains.text_index import wish_text
from recassist.assistant.extraction.extractor import InterestExtractor
from recassist.foundation.catalog import load_catalog_cached
from recassist.foundation.settings import DEMO_BOOKS_DIR, DEMO_CATALOG_DIR

BOTH = ["movies", "books"]


@pytest.fixture(scope="module")
def read():
    films = InterestExtractor(load_catalog_cached(str(DEMO_CATALOG_DIR)), None)
    grounding = TitleGrounding("movies", {"books": load_catalog_cached(str(DEMO_BOOKS_DIR))})

    def read(text: str):
        first, _ = films.extract(text, use_llm=False)
        return first, grounding.ground(text, first)

    return read


def test_a_book_title_is_kept_with_its_domain_and_a_shared_title_in_both(read):
    _, gone = read("I loved Gone Girl")
    assert [(p.title, p.domain) for p in gone.others.liked_items] == [("Gone Girl (2012)", "books")]
    assert gone.domains == {"movies", "books"} and not gone.drop_first  # the 2014 film too: no cue says which
    _, hated = read("I hated Twilight")
    assert [(p.title, p.domain) for p in hated.others.disliked_items] == [("Twilight (2005)", "books")]


def test_a_cue_before_a_shared_title_keeps_one_catalog(read):
    first, novel = read("I loved the novel Dune")
    assert novel.domains == {"books"} and novel.drop_first == {p.item_id for p in first.liked_items}
    _, film = read("I watched Dune last night")
    assert film.domains == {"movies"} and not film.others.liked_items


@pytest.mark.parametrize(("text", "named", "remembered", "want"), [
    ("a book like The Martian", {"books"}, [], ["books"]),
    ("something to read after watching Arrival", {"movies"}, [], ["books"]),
    ("films for someone who loves Agatha Christie", set(), [], ["movies"]),
    ("I loved Dune and Arrival", {"movies", "books"}, [], BOTH),
    ("I loved Heat", {"movies"}, [], ["movies"]),
    ("something funny", set(), [], BOTH),
    ("something darker", set(), ["books"], ["books"]),
    ("I hated the book Twilight. Which films should I watch?", {"books"}, [], ["movies"]),  # a dislike's source
])
def test_the_words_then_the_titles_then_the_session_choose(text, named, remembered, want):
    assert choose_domains(None, text, named, remembered, BOTH) == want
    assert choose_domains("movies", text, named, remembered, BOTH) == ["movies"]  # a chosen domain wins


def test_a_list_from_both_splits_k_films_first():
    assert split_k(5, BOTH, "movies") == {"movies": 3, "books": 2}
    assert split_k(1, BOTH, "movies") == {"movies": 1, "books": 1}
    assert split_k(5, ["books"], "movies") == {"books": 5}


def test_the_words_matched_against_the_books_index_leave_titles_and_framing_out():
    assert wish_text("a book like The Martian", ["The Martian"]) is None
    assert wish_text("something to read after watching Arrival", ["Arrival"]) is None
    assert wish_text("a slow-burning gothic mystery", []) == "a slow-burning gothic mystery"


def test_an_author_of_the_books_is_grounded_with_the_aspects_her_books_carry(read):
    first, got = read("films for someone who loves Agatha Christie")
    (author,) = got.others.liked_authors
    assert (author.name, author.domain, author.source.text) == ("Agatha Christie", "books", "Agatha Christie")
    assert {"mystery", "crime"} <= set(author.aspects)  # every one of her 9 books is shelved both ways
    assert got.domains == {"books"} and not first.liked_items


@pytest.mark.parametrize("text", ["books by JK Rowling", "a j. k. rowling novel", "J.K. Rowling's books"])
def test_an_authors_name_is_found_however_its_initials_are_written(read, text):
    _, got = read(text)
    assert [a.name for a in got.others.liked_authors] == ["J.K. Rowling"]


@pytest.mark.parametrize("text", [
    "films for someone who loves Agatha Christy",  # misspelt: no author is guessed
    "something like Stephen",  # a first name alone
    "I love Homer",  # one-word names are ordinary words as often as authors
    "a novel by Ada Quill",  # not in the catalog
])
def test_no_author_is_invented(read, text):
    _, got = read(text)
    assert got.others.liked_authors == [] and got.others.disliked_authors == []


def test_a_title_inside_an_authors_name_is_the_name_and_a_disliked_author_is_kept_apart(read):
    first, got = read("I loved Ray Bradbury")
    assert [a.name for a in got.others.liked_authors] == ["Ray Bradbury"]
    ray = {p.item_id for p in first.liked_items if p.source.text == "Ray"}  # the 2004 film "Ray"
    assert ray <= got.drop_first
    _, hated = read("I used to like Stephen King. Now I hate Stephen King")
    assert [a.name for a in hated.others.disliked_authors] == ["Stephen King"] and not hated.others.liked_authors
    assert choose_domains(None, "something like Stephen King", {"books"}, [], BOTH) == ["books"]
