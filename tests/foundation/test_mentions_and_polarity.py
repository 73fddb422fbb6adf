import pytest
from foundation_helpers import item_id
from recassist.assistant.extraction.mentions import matcher_for
from recassist.assistant.extraction.polarity import mention_polarity


def labels(catalog, text):
    return [catalog.get(m.item_id).label for m in matcher_for(catalog).find_mentions(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I loved Arrival and Interstellar, Gravity bored me",
         ["Arrival (2016)", "Interstellar (2014)", "Gravity (2013)"]),
        ("have you seen The Matrix? or Se7en", ["The Matrix (1999)", "Seven (1995)"]),
        ("Avengers: Infinity War (2018) was fun", ["Avengers: Infinity War - Part I (2018)"]),  # subtitle
        ("Guardians of the Galaxy Vol. 2 (2017)", ["Guardians of the Galaxy 2 (2017)"]),
        ("Crouching Tiger, Hidden Dragon (2000) is great", ["Crouching Tiger, Hidden Dragon (2000)"]),
        ("Like Click  (2010) by Adam Sandler", ["Click (2006)"]),  # off year, unambiguous title
        ("I watched Ghostbusters (2016) and Ghostbusters (1984)", ["Ghostbusters (2016)", "Ghostbusters (1984)"]),
        ("Amélie and Leon: The Professional", ["Amelie (2001)", "Léon: The Professional (1994)"]),  # accents
    ],
)
def test_titles_are_found_year_article_and_accent_aware(catalog, text, expected):
    assert labels(catalog, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "it was up to her, whatever. Perfect! time to go",  # everyday words that are also titles
        "I love Chris Rock and Jack Nicholson",  # a title glued to another capitalised word is a name
        "Seven Seconds (2018) is not in the catalog",  # an unknown "Title (Year)" does not yield "Seconds"
        "on prom night we saw a superhero movie",  # lower-case ordinary phrases
    ],
)
def test_ordinary_words_are_not_titles(catalog, text):
    assert labels(catalog, text) == []


def test_match_name_handles_redial_spellings(catalog):
    m = matcher_for(catalog)
    assert m.match_name("Police Academy  (1984)") == item_id(catalog, "Police Academy (1984)")
    assert m.match_name("Matrix, The") == "2571"
    assert m.match_name("Isle Of Dogs (2018)") == item_id(catalog, "Isle of Dogs (2018)")
    klowns = item_id(catalog, "Killer Klowns from Outer Space (1988)")
    assert m.match_name("Killer Clowns from Outer Space (1988)") == klowns
    assert m.match_name("Spider-Man: Homecoming (2017)") is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("The Empire Strikes Back (1980)", "Star Wars: Episode V - The Empire Strikes Back (1980)"),  # a part
        ("Star Wars: The Force Awakens (2015)", "Star Wars: Episode VII - The Force Awakens (2015)"),
        ("Star Wars: Episode VIII – The Last Jedi (2017)", "Star Wars: The Last Jedi (2017)"),
        ("Alien vs. Predator  (2004)", "AVP: Alien vs. Predator (2004)"),
        ("13 Hours: The Secret Soldiers of Benghazi (2016)", "13 Hours (2016)"),  # the catalog's is a part
        ("Men in Black 3 (2012)", "Men in Black III (2012)"),  # sequel numerals
        ("Godfather 2", "The Godfather: Part II (1974)"),
        ("John Wick: Chapter 2 (2017)", "John Wick: Chapter Two (2017)"),  # near spelling, same number
        ("Mean Girls 2", None),  # another film of the series: not a near spelling of "Mean Girls"
        ("Aliens vs. Predator: Requiem (2007)", "AVPR: Aliens vs. Predator - Requiem (2007)"),  # not "Requiem"
    ],
)
def test_match_name_finds_series_titles_by_their_parts_and_numbers(catalog, name, expected):
    hit = matcher_for(catalog).match_name(name)
    assert (catalog.get(hit).label if hit else None) == expected


def test_redial_names_have_their_url_escapes_decoded(tmp_path):
    import json

    from recassist.assistant.evaluation.redial import load_dialogues

    row = {"conversationId": "1", "initiatorWorkerId": 1, "respondentWorkerId": 2, "movieMentions": {
        "7": "Why Him%3F (2016)"}, "messages": [{"text": "@7", "senderWorkerId": 1}]}
    path = tmp_path / "dialogues.jsonl"
    path.write_text(json.dumps(row) + "\n")
    d = load_dialogues(path)[0]
    assert d.movie_names == {"7": "Why Him? (2016)"} and d.render("@7") == "Why Him? (2016)"


def test_a_year_picks_the_subtitled_title_over_an_older_namesake(catalog):
    """ReDial's "Jumanji (2017)" is "Jumanji: Welcome to the Jungle", not the 1995 film of that exact name."""
    m = matcher_for(catalog)
    assert catalog.get(m.match_name("Jumanji  (2017)")).label == "Jumanji: Welcome to the Jungle (2017)"
    assert catalog.get(m.match_name("Jumanji (1995)")).label == "Jumanji (1995)"
    assert catalog.get(m.match_name("Jumanji")).label == "Jumanji (1995)"  # no year: the exact title
    assert labels(catalog, "I loved Jumanji  (2017) more than Jumanji (1995)") == [
        "Jumanji: Welcome to the Jungle (2017)", "Jumanji (1995)"]


@pytest.mark.parametrize(
    "text, title, expected",
    [
        ("I love The Lord of the Rings, but The Hobbit: An Unexpected Journey (2012) was too tedious!",
         "The Hobbit: An Unexpected Journey", "disliked"),
        ("I liked Despicable Me (2010) but not Minions (2015)", "Minions", "disliked"),
        ("I liked Despicable Me (2010) but not Minions (2015)", "Despicable Me", "liked"),
        ("I'm not a fan of Titanic (1997)", "Titanic", "disliked"),
        ("I didn't love Inception", "Inception", "disliked"),
        ("Never again, Cats (2019)... I mean Gigli", "Gigli", "neutral"),
        ("Ghostbusters (2016) wasnt that good.", "Ghostbusters", "disliked"),
        ("I haven't seen Logan (2017) yet, but I want to", "Logan", "neutral"),  # the extractor keeps it as inferred
        ("I hated Titanic, Avatar and Inception", "Avatar", "disliked"),
        ("Bad Boys (1995) is great fun", "Bad Boys", "liked"),  # the title's own words carry no sentiment
    ],
)
def test_polarity_reads_negation_and_hedging(catalog, text, title, expected):
    mentions = matcher_for(catalog).find_mentions(text)
    spans = [(m.start, m.end) for m in mentions]
    target = next(m for m in mentions if m.surface == title)
    assert mention_polarity(text, target.start, target.end, spans).polarity == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I loved Fast & Furious", ["Fast & Furious (2009)"]),  # "&" in the text and in the catalog
        ("I loved Fast and Furious", ["Fast & Furious (2009)"]),  # "and" in the text, "&" in the catalog
        ("Pride & Prejudice (1995) is lovely", ["Pride and Prejudice (1995)"]),  # "&" in the text only
        ("Pride and Prejudice (2005) is lovely", ["Pride & Prejudice (2005)"]),
    ],
)
def test_ampersand_and_and_name_the_same_title(catalog, text, expected):
    assert labels(catalog, text) == expected


def test_ampersand_titles_are_found_in_the_books_catalog():
    from recassist.foundation.catalog import load_catalog_cached
    from recassist.foundation.settings import DEMO_BOOKS_DIR

    books = load_catalog_cached(str(DEMO_BOOKS_DIR))
    assert labels(books, "I loved Angels & Demons and Pride & Prejudice") == [
        "Angels & Demons (2000)", "Pride and Prejudice (1813)"]
    assert labels(books, "I read Angels and Demons twice") == ["Angels & Demons (2000)"]



def test_a_text_read_again_gives_the_same_mentions_in_a_list_of_its_own(catalog):
    """Mentions of a text are remembered (the extractor and the dialogue's tracker read each turn); a caller
    changing its list changes nobody else's."""
    matcher = matcher_for(catalog)
    text = "Avengers: Infinity War (2018) and The Matrix"
    first = matcher.find_mentions(text)
    first.clear()
    assert labels(catalog, text) == ["Avengers: Infinity War - Part I (2018)", "The Matrix (1999)"]
