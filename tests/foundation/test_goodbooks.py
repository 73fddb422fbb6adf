"""The goodbooks-10k loader on the shipped subset and on bad files; the shared aspect vocabulary."""

from __future__ import annotations

import pytest
from recassist.foundation.catalog import load_catalog, load_catalog_cached
from recassist.foundation.errors import DataFormatError, InputError
from recassist.foundation.settings import DEMO_BOOKS_DIR
from recassist.foundation.vocabulary import is_noise_shelf, item_aspects, to_shared

HEADER = "book_id,goodreads_book_id,authors,original_publication_year,original_title,title,top_tags\n"


@pytest.fixture(scope="module")
def books():
    return load_catalog_cached(str(DEMO_BOOKS_DIR))


def test_shipped_subset_loads_as_an_untimed_books_catalog(books):
    assert (len(books), len(books.interactions)) == (3000, 299872)
    assert books.domain == "books" and books.timed is False
    hunger = books.get("1")
    assert (hunger.title, hunger.year) == ("The Hunger Games", 2008)
    assert "The Hunger Games (The Hunger Games, #1)" in hunger.aliases  # the series suffix stays findable
    assert {"dystopian", "science fiction", "young adult"} <= set(hunger.genres)
    assert "to-read" not in hunger.tags and "to read" not in hunger.tags and "favorites" not in hunger.tags
    assert hunger.description == "A book by Suzanne Collins."
    stone = books.get("2")
    assert "Harry Potter and the Philosopher's Stone" in stone.aliases  # original title kept as an alias


def test_movielens_catalog_is_the_movies_domain(catalog):
    assert catalog.domain == "movies" and catalog.timed is True


def test_authors_are_kept_and_items_without_them_hash_as_before_the_field_existed():
    from recassist.foundation.catalog import Catalog, Item

    plain = Item(item_id="1", title="Heat", year=1995)
    # The version hashes an item without authors exactly as it did before `authors` existed, so the
    # films' index, rankers and conversation layer stay current; an item with authors hashes them.
    assert '"authors"' not in plain.model_dump_json(exclude={"authors"})
    with_authors = plain.model_copy(update={"authors": ("Ada Quill",)})
    assert Catalog("c", {"1": plain}).version != Catalog("c", {"1": with_authors}).version


def _write(tmp_path, books: str, ratings: str | None = None):
    (tmp_path / "books_top20_tags.csv").write_text(HEADER + books)
    if ratings is not None:
        (tmp_path / "ratings.csv").write_text("book_id,user_id,rating\n" + ratings)
    return tmp_path


def test_small_folder_loads_with_noise_shelves_dropped(tmp_path):
    folder = _write(tmp_path, '7,70,"A. Writer, B. Other",-750.0,Odyssey,"Odyssey (Epics, #2)",'
                              'to-read|owned|read-in-2016|classics|mythology|my-kindle\n', "7,1,5\n7,2,3\n")
    c = load_catalog(folder)
    it = c.get("7")
    assert it.year is None  # before year 1: no usable year
    assert it.title == "Odyssey" and it.tags == ("classics", "mythology")
    assert set(it.genres) == {"classics", "fantasy"}
    assert it.description == "A book by A. Writer, B. Other."
    assert it.authors == ("A. Writer", "B. Other")
    assert [(x.user_id, x.value, x.timestamp) for x in c.interactions] == [("1", 5.0, 0), ("2", 3.0, 0)]


@pytest.mark.parametrize(
    "books, ratings, field",
    [
        ("x,1,A,2000,T,T,fantasy\n", None, "book_id"),
        ("1,1,A,2000,T,,fantasy\n", None, "title"),
        ("1,1,A,two thousand,T,T,fantasy\n", None, "original_publication_year"),
        ("1,1,A,2000,T,T,fantasy\n1,1,A,2000,T,T,fantasy\n", None, "book_id"),
        ("1,1,A,2000,T,T,fantasy\n", "2,1,5\n", "book_id"),
        ("1,1,A,2000,T,T,fantasy\n", "1,1,9\n", "rating"),
        ("1,1,A,2000,T,T,fantasy\n", "1,1,good\n", "rating"),
        ("1,1,A,2000,T,T,fantasy\n", "1,,4\n", "user_id"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, books, ratings, field):
    with pytest.raises(DataFormatError) as e:
        load_catalog(_write(tmp_path, books, ratings))
    assert e.value.field == field and e.value.line >= 2


def test_missing_columns_and_unknown_folders_are_clear(tmp_path):
    (tmp_path / "books_top20_tags.csv").write_text("book_id,title\n1,T\n")
    with pytest.raises(DataFormatError, match="authors"):
        load_catalog(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(InputError, match="goodbooks-10k"):
        load_catalog(other)


def test_vocabulary_maps_every_catalog_onto_shared_aspects():
    assert to_shared(["Sci-Fi", "science-fiction", "sf", "dystopia"]) == ("science fiction", "dystopian")
    assert to_shared(["sci-fi-fantasy"]) == ("science fiction", "fantasy")
    assert to_shared(["Film-Noir"]) == ("mystery", "crime")
    assert to_shared(["harry-potter", "to-read", "Drama"]) == ("drama",)
    for shelf in ("to-read", "currently-reading", "favorites", "favourites", "owned", "books-i-own",
                  "read-in-2015", "kindle", "default", "owned-books", "dnf", "5-stars"):
        assert is_noise_shelf(shelf), shelf
    for shelf in ("fantasy", "historical-fiction", "19th-century", "harry-potter", "literary-fiction"):
        assert not is_noise_shelf(shelf), shelf


def test_films_and_books_meet_in_the_vocabulary(catalog, books):
    matrix, hunger = catalog.get("2571"), books.get("1")
    assert "science fiction" in item_aspects(matrix) and "science fiction" in item_aspects(hunger)
