"""A small synthetic catalog with known structure, shared by the retrieval tests."""

from __future__ import annotations

from recassist.foundation.catalog import Catalog, Interaction, Item

# (id, title, year, genres, tags): five clusters a text model separates easily,
# plus one item without a year.
ITEMS = [
    ("1", "Star Voyage", 2001, ("Sci-Fi", "Adventure"), ("space", "astronauts")),
    ("2", "Orbit Station", 1999, ("Sci-Fi",), ("space station", "astronauts")),
    ("3", "Mars Colony", 2010, ("Sci-Fi", "Drama"), ("mars", "space colony")),
    ("4", "Galaxy Run", 1985, ("Sci-Fi", "Action"), ("spaceship", "aliens")),
    ("5", "Paris Love", 1995, ("Romance", "Comedy"), ("paris", "love story")),
    ("6", "Wedding Season", 2005, ("Romance", "Comedy"), ("wedding", "love story")),
    ("7", "Summer Letters", 2012, ("Romance", "Drama"), ("letters", "first love")),
    ("8", "The Haunting House", 1980, ("Horror",), ("ghosts", "haunted house")),
    ("9", "Night Blood", 2003, ("Horror", "Thriller"), ("vampires", "gore")),
    ("10", "Dark Woods", 2015, ("Horror",), ("haunted forest", "ghosts")),
    ("11", "Bank Job", 1975, ("Crime", "Thriller"), ("heist", "bank robbery")),
    ("12", "City Cops", 1992, ("Crime", "Action"), ("police", "detective")),
    ("13", "The Syndicate", 2008, ("Crime", "Drama"), ("mafia", "gangsters")),
    ("14", "Toy Friends", 1998, ("Animation", "Children", "Comedy"), ("toys", "pixar")),
    ("15", "Ocean Fish", 2003, ("Animation", "Children"), ("ocean", "fish")),
    ("16", "Untitled Nature Film", None, ("Documentary",), ("nature", "wildlife")),
]


def make_interactions() -> list[Interaction]:
    """Known answers: item 1 co-occurs with 11 (cross-genre, so only co-occurrence finds it);
    item 5 is the most popular; users 1-5 watched 1 then 11."""
    out: list[Interaction] = []
    t = 0
    for u in range(1, 6):
        for item in ("1", "11"):
            t += 1
            out.append(Interaction(f"u{u}", item, 4.0, t))
    for u in range(1, 11):
        t += 1
        out.append(Interaction(f"u{u}", "5", 4.0, t))
    for u in (6, 7):
        for item in ("9", "14"):
            t += 1
            out.append(Interaction(f"u{u}", item, 3.0, t))
    return out


def make_catalog(extra: list[Item] | None = None, name: str = "tiny") -> Catalog:
    items = {
        i: Item(item_id=i, title=title, year=year, genres=genres, tags=tags)
        for i, title, year, genres, tags in ITEMS
    }
    for it in extra or []:
        items[it.item_id] = it
    return Catalog(name=name, items=items, interactions=make_interactions())
