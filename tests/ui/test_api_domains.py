"""Several catalogs over the API: the books catalog beside the films, one profile across both."""

from __future__ import annotations

import httpx
import pytest

ARRIVAL, INTERSTELLAR = "164179", "109487"


@pytest.fixture(scope="module")
def api(base_url):
    with httpx.Client(base_url=base_url, timeout=300) as client:
        yield client


def test_catalogs_lists_films_first_and_the_shipped_books(api, engine):
    got = api.get("/v1/catalogs")
    assert got.status_code == 200, got.text
    first, books = got.json()
    assert (first["domain"], first["default"], first["items"]) == ("movies", True, len(engine.catalog))
    assert "sasrec" in first["models"]
    assert (books["domain"], books["default"], books["items"], books["interactions"]) == (
        "books", False, 3000, 299872)
    assert books["models"] == ["ease"]


def test_films_liked_bring_books_with_cross_domain_reasons(api):
    body = {"text": "I loved Arrival and Interstellar", "domain": "books", "k": 5, "explain": False}
    reply = api.post("/v1/recommendations", json=body)
    assert reply.status_code == 200, reply.text
    items = reply.json()["items"]
    assert len(items) == 5 and all(it["domain"] == "books" for it in items)
    assert sum("science fiction" in it["evidence"]["matched_aspects"] for it in items) >= 4
    first = items[0]
    link = first["evidence"]["cross_domain"][0]
    assert link["domain"] == "movies" and link["title"] in ("Arrival", "Interstellar")
    assert first["explanation"].startswith(f"You liked the film {link['title']}; this book shares its")


def test_the_words_pick_the_domain_and_the_default_stays_films(api):
    books = api.post("/v1/recommendations", json={"text": "a book like Interstellar", "k": 3, "explain": False})
    assert books.status_code == 200, books.text
    assert {it["domain"] for it in books.json()["items"]} == {"books"}
    films = api.post("/v1/recommendations", json={"text": "something like Interstellar", "k": 3, "explain": False})
    assert films.status_code == 200 and {it["domain"] for it in films.json()["items"]} == {None}


def test_book_feedback_is_kept_apart_from_films_and_steers_books(api):
    liked = api.post("/v1/feedback", json={"user_id": "reader-1", "item_id": "1", "kind": "like", "domain": "books"})
    assert liked.status_code == 200, liked.text
    entry = liked.json()["liked_items"][0]
    assert (entry["item_id"], entry["domain"], entry["title"]) == ("1", "books", "The Hunger Games (2008)")
    film = api.post("/v1/feedback", json={"user_id": "reader-1", "item_id": "1", "kind": "dislike"})
    assert film.status_code == 200, film.text
    profile = film.json()
    assert [(e["item_id"], e["domain"]) for e in profile["liked_items"]] == [("1", "books")]  # film 1 is another item
    assert [(e["item_id"], e["domain"]) for e in profile["disliked_items"]] == [("1", None)]
    recs = api.post("/v1/recommendations", json={"user_id": "reader-1", "domain": "books", "k": 10, "explain": False})
    assert recs.status_code == 200, recs.text
    items = recs.json()["items"]
    assert "1" not in [it["item_id"] for it in items]  # liked already
    assert items[0]["evidence"]["ranker"] == "ease"


def test_bad_domains_and_wrong_domain_ids_are_clear(api):
    bad = api.post("/v1/recommendations", json={"text": "anything", "domain": "podcasts"})
    assert bad.status_code == 422
    assert "configured: movies, books" in bad.json()["error"]["message"]
    wrong = api.post("/v1/feedback", json={"user_id": "reader-2", "item_id": ARRIVAL, "kind": "like",
                                           "domain": "books"})
    assert wrong.status_code == 404
    assert "not in catalog 'goodbooks-10k'" in wrong.json()["error"]["message"]
    filtered = api.post("/v1/recommendations", json={"text": "x", "domain": "books", "filters": {"year": 2000}})
    assert filtered.status_code == 400 and "filters" in filtered.json()["error"]["message"]


def test_book_items_are_added_and_removed_with_their_text_index_and_log(api, ui_settings):
    body = {"title": "The Lighthouse Keeper's Ledger", "year": 2020, "genres": ["mystery"],
            "tags": ["gothic", "lighthouse", "slow burn"], "description": "A book by A. Tester"}
    put = api.put("/v1/items/b-900", params={"domain": "books"}, json=body)
    assert put.status_code == 200, put.text
    assert put.json()["title"] == body["title"]
    log = ui_settings.data_dir / "catalog_updates-books.jsonl"
    assert '"b-900"' in log.read_text()  # replayed over the shipped folder at the next load

    wish = {"text": "a gothic lighthouse mystery", "domain": "books", "k": 5, "explain": False}
    found = api.post("/v1/recommendations", json=wish).json()["items"]
    new = [it for it in found if it["item_id"] == "b-900"]
    assert new and "text" in new[0]["evidence"]["sources"]  # found by its words in the books' own index

    assert api.delete("/v1/items/b-900", params={"domain": "books"}).status_code == 204
    after = api.post("/v1/recommendations", json=wish).json()["items"]
    assert "b-900" not in [it["item_id"] for it in after]
    again = api.delete("/v1/items/b-900", params={"domain": "books"})
    assert again.status_code == 404 and "not in catalog 'goodbooks-10k'" in again.json()["error"]["message"]
    unknown = api.delete("/v1/items/b-1", params={"domain": "podcasts"})
    assert unknown.status_code == 422 and "configured: movies, books" in unknown.json()["error"]["message"]


def test_chat_reads_the_domain_from_the_words_and_grounds_book_titles(api):
    reply = api.post("/v1/chat", json={"user_id": "chat-b1", "message": "a book like The Martian"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["items"] and {it["domain"] for it in body["items"]} == {"books"}
    assert "The Martian" not in [it["title"] for it in body["items"]]  # the book named is not answered back
    assert [(p["title"], p["domain"]) for p in body["profile"]["liked_items"]] == [("The Martian (2012)", "books")]
    assert body["text"].endswith("You might like these books:")


def test_chat_answers_with_both_when_the_words_leave_it_open(api):
    both = api.post("/v1/chat", json={"user_id": "chat-b2", "message": "I loved Dune and Arrival", "k": 6}).json()
    domains = [it["domain"] for it in both["items"]]
    assert domains == [None] * 3 + ["books"] * 3  # films first, then books, each carrying its catalog
    assert {(p["domain"], p["title"].split(" (")[0]) for p in both["profile"]["liked_items"]} >= {
        ("books", "Dune"), (None, "Arrival")}
    book = both["items"][3]
    assert book["explanation"].startswith("You liked the film ")
    # A turn naming no catalog follows the session's last list; a chosen domain overrules the words.
    more = api.post("/v1/chat", json={"user_id": "chat-b2", "session_id": both["session_id"],
                                      "message": "something darker", "k": 6}).json()
    assert {it["domain"] for it in more["items"]} == {None, "books"}
    films = api.post("/v1/chat", json={"user_id": "chat-b2", "message": "a book like Dune", "domain": "movies"}).json()
    assert films["items"] and {it["domain"] for it in films["items"]} == {None}


def test_chat_with_an_unknown_domain_names_the_configured_ones(api):
    bad = api.post("/v1/chat", json={"user_id": "chat-b3", "message": "anything", "domain": "podcasts"})
    assert bad.status_code == 422
    assert "configured: movies, books" in bad.json()["error"]["message"]


def test_removing_a_book_entry_through_the_api_keeps_the_film_with_the_same_id(api):
    for domain in ("books", None):
        body = {"user_id": "reader-rm", "item_id": "1", "kind": "like", **({"domain": domain} if domain else {})}
        assert api.post("/v1/feedback", json=body).status_code == 200
    op = {"op": "remove_item", "list": "liked_items", "item_id": "1", "domain": "books"}
    got = api.patch("/v1/users/reader-rm/profile", json={"ops": [op]})
    assert got.status_code == 200, got.text
    assert [(e["item_id"], e["domain"]) for e in got.json()["liked_items"]] == [("1", None)]
    again = api.patch("/v1/users/reader-rm/profile", json={"ops": [op]})
    assert again.status_code == 404 and "item '1' of books is not in liked_items" in again.json()["error"]["message"]


def _christie_ids() -> set[str]:
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.settings import DEMO_BOOKS_DIR

    books = load_catalog_cached(str(DEMO_BOOKS_DIR))
    return {i for i, it in books.items.items() if "Agatha Christie" in it.authors}


def test_films_for_someone_who_loves_an_author_share_her_books_aspects_and_say_so(api):
    reply = api.post("/v1/chat", json={"user_id": "chat-au1", "message": "films for someone who loves Agatha Christie"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["intent"] == "recommend" and body["onboarding"] is None  # an author is enough to recommend
    (author,) = body["profile"]["liked_authors"]
    assert (author["name"], author["domain"]) == ("Agatha Christie", "books")
    items = body["items"]
    assert len(items) == 5 and {it["domain"] for it in items} == {None}
    # The test catalog holds 104 films; in it, most carrying mystery or crime.
    assert sum(bool({"Mystery", "Crime"} & set(it["genres"])) for it in items) >= 4
    assert all(it["explanation"].startswith("You named Agatha Christie, whose books are ") for it in items)
    first = items[0]
    link = first["evidence"]["authors"][0]
    assert link["name"] == "Agatha Christie" and link["shared_aspects"]
    assert first["explanation"].startswith("You named Agatha Christie, whose books are ")
    assert "this film is " in first["explanation"] and "what you asked for" not in first["explanation"]
    assert "likes the author Agatha Christie" in body["text"]


def test_books_by_an_author_are_hers_and_something_like_an_author_answers_books(api):
    by = api.post("/v1/chat", json={"user_id": "chat-au2", "message": "books by Agatha Christie", "k": 5}).json()
    assert {it["domain"] for it in by["items"]} == {"books"} and len(by["items"]) == 5
    assert {it["item_id"] for it in by["items"]} <= _christie_ids()
    assert by["items"][0]["explanation"] == "A book by Agatha Christie, whom you named."
    like = api.post("/v1/chat", json={"user_id": "chat-au3", "message": "something like Stephen King"}).json()
    assert like["items"] and {it["domain"] for it in like["items"]} == {"books"}  # the author's catalog
    assert like["profile"]["themes"] == []  # the name is the author, not a wish for "like stephen king"
    # The author is one profile entry: removed through the API like any other.
    op = {"op": "remove_author", "list": "liked_authors", "name": "stephen king", "domain": "books"}
    got = api.patch("/v1/users/chat-au3/profile", json={"ops": [op]})
    assert got.status_code == 200, got.text
    assert got.json()["liked_authors"] == []
    again = api.patch("/v1/users/chat-au3/profile", json={"ops": [op]})
    assert again.status_code == 404 and "author 'stephen king' of books" in again.json()["error"]["message"]


def test_films_for_someone_who_loved_a_book_share_its_aspects_and_say_so(api):
    reply = api.post("/v1/chat", json={"user_id": "chat-bk1",
                                       "message": "I loved the book The Hunger Games. Which films should I watch?"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [(e["item_id"], e["domain"]) for e in body["profile"]["liked_items"]] == [("1", "books")]
    assert body["profile"]["themes"] == []  # "should i watch" is the question, not a wish
    items = body["items"]
    assert len(items) == 5 and {it["domain"] for it in items} == {None}
    # The book is shelved science fiction and fantasy (and young adult, dystopian: no film genre carries those).
    assert sum(bool({"Sci-Fi", "Fantasy"} & set(it["genres"])) for it in items) >= 4
    for it in items:
        link = it["evidence"]["cross_domain"][0]
        assert (link["domain"], link["title"]) == ("books", "The Hunger Games") and link["shared_aspects"]
        assert it["explanation"].startswith("You liked the book The Hunger Games; this film shares its ")
        assert "what you asked for" not in it["explanation"]  # the genres are the book's, not asked for


def test_liked_films_rank_alone_once_they_are_as_many_as_the_liked_books(api):
    reply = api.post("/v1/chat", json={"user_id": "chat-bk2", "message": "I loved Arrival, Interstellar and the "
                                       "book The Hunger Games. Which films should I watch?"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    liked = {(e["item_id"], e["domain"]) for e in body["profile"]["liked_items"]}
    assert liked == {(ARRIVAL, None), (INTERSTELLAR, None), ("1", "books")}
    films = [it for it in body["items"] if it["domain"] is None]  # both catalogs named: books are listed too
    assert films
    assert all(it["evidence"]["cross_domain"] == [] for it in films)
    assert not any("The Hunger Games" in it["explanation"] for it in films)


def test_a_disliked_book_pushes_films_away_and_a_disliked_film_books_unless_something_liked_carries_it(api):
    def films_for(user, message):
        body = api.post("/v1/chat", json={"user_id": user, "message": message}).json()
        return body, api.post("/v1/recommendations", json={"user_id": user, "k": 10}).json()["items"]

    liked = "I loved the book Harry Potter and the Sorcerer's Stone"
    _, fans = films_for("dis-f1", f"{liked}. Which films should I watch?")
    body, hated = films_for("dis-f2", f"{liked} but I hated Twilight. Which films should I watch?")
    assert [(e["item_id"], e["domain"]) for e in body["profile"]["disliked_items"]] == [("3", "books")]
    assert body["profile"]["disliked_aspects"] == []  # carried for the ranking only, never stored
    # Twilight is fantasy, romance, supernatural and young adult; the liked book keeps fantasy, not romance.
    assert any("Romance" in it["genres"] for it in fans)
    assert not any("Romance" in it["genres"] for it in hated)
    assert sum("Fantasy" in it["genres"] for it in hated) >= 5
    # The other way: a disliked film's romance and drama push books away; the liked film's themes stay.
    books = [api.post("/v1/chat", json={"user_id": u, "message": m}).json()["items"] for u, m in (
        ("dis-b1", "I loved The Matrix. Which books should I read?"),
        ("dis-b2", "I loved The Matrix but hated Titanic. Which books should I read?"))]
    assert all(it["domain"] == "books" for got in books for it in got) and all(books)
    assert any("romance" in it["genres"] for it in books[0])
    assert not any("romance" in it["genres"] for it in books[1])
    # The Matrix is action, sci-fi and thriller: every book carries one of them (which ones lead moves with the
    # query vectors' last bits, int8 or float).
    assert all({"science fiction", "thriller", "action"} & set(it["genres"]) for it in books[1]), books[1]
    assert sum("science fiction" in it["genres"] for it in books[1]) >= 2


def test_recommendations_for_films_ground_the_books_and_authors_in_the_text(api):
    body = api.post("/v1/recommendations", json={"user_id": "rec-bk1", "k": 5,
                                                  "text": "I loved the book The Hunger Games"}).json()
    assert [(e["item_id"], e["domain"]) for e in body["profile"]["liked_items"]] == [("1", "books")]
    assert body["profile_changes"] == ["liked The Hunger Games (2008)"]
    assert body["items"] and all(it["domain"] is None for it in body["items"])
    for it in body["items"]:
        assert it["explanation"].startswith("You liked the book The Hunger Games; this film shares its ")
    stored = api.get("/v1/users/rec-bk1/profile").json()
    assert [(e["item_id"], e["domain"]) for e in stored["liked_items"]] == [("1", "books")]
    # An author, and a title the words give to the books ("the novel"): no film Dune is stored.
    body = api.post("/v1/recommendations", json={"k": 5, "text": "films for someone who loves Agatha Christie"}).json()
    assert [a["name"] for a in body["profile"]["liked_authors"]] == ["Agatha Christie"]
    assert all(it["domain"] is None and "Agatha Christie" in it["explanation"] for it in body["items"])
    body = api.post("/v1/recommendations", json={"k": 5, "text": "I loved the novel Dune"}).json()
    assert [(e["item_id"], e["domain"]) for e in body["profile"]["liked_items"]] == [("126", "books")]
