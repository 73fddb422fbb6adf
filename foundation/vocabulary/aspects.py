"""Map each catalog's own genres, tags and shelves onto one shared aspect vocabulary.

A MovieLens genre ("Sci-Fi"), a MovieLens user tag ("dystopia") and a Goodreads shelf
("science-fiction", "sci-fi", "sf") all name the same taste; `to_shared` turns any of them
into the shared aspect ("science fiction"), so a profile built from films ranks books and the
reverse. Terms are compared after `normalise_term` (lower case, '-' and '_' as spaces), so one
table serves every catalog. A term may map to several aspects ("sci-fi-fantasy"); a term that
names no taste maps to none. Shelves that record what a reader did with a book ("to-read",
"owned", "favorites", "read-in-2015") are noise: `is_noise_shelf` says so, and loaders drop them.

Why "War" also means "historical": nearly every war film in ml-latest-small is set in a real
war (WWII, Vietnam, ...), and MovieLens has no historical genre of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recassist.foundation.catalog.models import Item

#: Shared aspect -> the native terms (genres, tags, shelves of any catalog) that carry it.
_SOURCES: dict[str, tuple[str, ...]] = {
    "science fiction": ("sci-fi", "science fiction", "science-fiction", "scifi", "sf", "space opera",
                        "sci-fi-fantasy", "fantasy-sci-fi", "scifi-fantasy", "aliens", "time travel",
                        "robots", "cyberpunk", "space", "post-apocalyptic"),
    "fantasy": ("fantasy", "high fantasy", "epic fantasy", "urban fantasy", "ya fantasy", "magic",
                "dragons", "fairy tales", "mythology", "witches", "sci-fi-fantasy", "fantasy-sci-fi",
                "scifi-fantasy", "sword and sorcery"),
    "dystopian": ("dystopia", "dystopian", "post-apocalyptic", "post apocalyptic", "apocalypse"),
    "mystery": ("mystery", "mysteries", "mystery-thriller", "mystery-suspense", "detective", "whodunit",
                "cozy mystery", "film-noir"),
    "crime": ("crime", "crime fiction", "detective", "mafia", "heist", "serial killer", "film-noir",
              "organized crime"),
    "thriller": ("thriller", "thrillers", "suspense", "mystery-thriller", "mystery-suspense", "espionage",
                 "spy", "spies", "romantic suspense", "psychological thriller"),
    "horror": ("horror", "ghosts", "zombies", "creepy", "scary", "slasher"),
    "supernatural": ("supernatural", "paranormal", "vampires", "vampire", "werewolves", "demons", "angels",
                     "ghosts", "paranormal romance", "witches"),
    "romance": ("romance", "contemporary romance", "paranormal romance", "historical romance", "chick lit",
                "chicklit", "chic lit", "romantic suspense", "new adult", "erotic romance", "love story",
                "romantic comedy"),
    "humour": ("comedy", "humor", "humour", "funny", "satire", "dark comedy", "black comedy", "spoof",
               "parody", "romantic comedy"),
    "historical": ("historical", "historical fiction", "history", "war", "wwii", "world war ii",
                   "world war 2", "19th century", "20th century", "historical romance", "period piece",
                   "american history", "medieval"),
    "war": ("war", "military", "wwii", "world war ii", "world war 2", "vietnam", "military fiction"),
    "western": ("western", "westerns", "wild west"),
    "adventure": ("adventure", "action adventure", "action-adventure", "swashbuckler", "pirates"),
    "action": ("action", "action adventure", "action-adventure", "martial arts"),
    "children": ("children", "childrens", "children s", "children s books", "childrens books", "kids",
                 "kids books", "picture books", "picture book", "middle grade", "juvenile",
                 "children s literature", "childhood favorites", "disney"),
    "young adult": ("young adult", "ya", "teen", "ya fiction", "ya fantasy", "new adult"),
    "drama": ("drama",),
    "biography": ("biography", "biographies", "memoir", "memoirs", "autobiography", "biography memoir",
                  "biopic", "true story", "based on a true story"),
    # Not "history", "psychology", "science", "politics": as film tags they name themes of fiction;
    # books on those shelves are nearly always shelved "non-fiction" too.
    "non-fiction": ("documentary", "non fiction", "nonfiction", "biography", "memoir", "self help",
                    "business", "true crime"),
    "classics": ("classics", "classic", "classic literature", "1001 books", "1001 books to read before you die",
                 "imdb top 250"),
    "animation": ("animation", "anime", "animated"),
    "graphic novels": ("graphic novels", "graphic novel", "comics", "comic", "manga", "comic book",
                       "comics graphic novels", "graphic novels comics", "superhero"),
    "musical": ("musical", "musicals", "music"),
    "coming of age": ("coming of age", "adolescence"),
    "time travel": ("time travel",),
    "space": ("space", "space opera", "astronauts"),
    "psychological": ("psychological", "psychology", "mental illness", "mindfuck", "psychological thriller"),
    "religion": ("religion", "christian", "christianity", "christian fiction", "faith", "spirituality",
                 "theology"),
}

#: Every shared aspect, in a fixed order.
SHARED_ASPECTS: tuple[str, ...] = tuple(_SOURCES)


def normalise_term(term: str) -> str:
    """'Sci-Fi' -> 'sci fi', "children's-books" -> 'children s books': the form every lookup uses."""
    return " ".join(re.sub(r"[-_'’/]+", " ", term.lower()).split())


_TABLE: dict[str, tuple[str, ...]] = {}
for _aspect, _terms in _SOURCES.items():
    for _t in (*_terms, _aspect):
        key = normalise_term(_t)
        if _aspect not in _TABLE.get(key, ()):
            _TABLE[key] = (*_TABLE.get(key, ()), _aspect)

# Shelves that record a reader's action or ownership, not the book's content. Patterns, because
# readers invent variants ("read-2016", "owned-books", "my-kindle", "to-read-fiction").
_NOISE = re.compile(
    r"^(to read|to buy|currently reading|read|re read|reread|owned|own|i own|my |books i own|favou?rites?|"
    r"fav|default|kindle|e ?books?|audio|audible|library|wish ?list|book ?club|bookclub|dnf|abandoned|"
    r"did not finish|on hold|tbr|netgalley|stand alone|series|novels?|fiction|adult|adult fiction|general|"
    r"\d+ stars?|5 stars|[0-9 ]+$|1001$|1001 import|rory gilmore|kindle unlimited|literature|english|"
    r"books|book|home|shelf|maybe|next|have|want|borrowed|gave up|unfinished|for school|read for school|"
    r"school reading|summer reading)",
)
_YEAR = re.compile(r"\b(19|20)\d\d\b")


def is_noise_shelf(shelf: str) -> bool:
    """True for shelves about what a reader did with a book ('to-read', 'owned', 'read-in-2015'), not its content."""
    norm = normalise_term(shelf)
    if not norm or _YEAR.search(norm) and norm not in _TABLE:
        return True
    if norm in _TABLE:
        return False
    return bool(_NOISE.match(norm))


def to_shared(terms: Iterable[str]) -> tuple[str, ...]:
    """Native genres / tags / shelves -> shared aspects, each once, in first-seen order; unknown terms map to none."""
    out: dict[str, None] = {}
    for term in terms:
        for aspect in _TABLE.get(normalise_term(term), ()):
            out.setdefault(aspect, None)
    return tuple(out)


def item_aspects(item: Item) -> tuple[str, ...]:
    """The shared aspects an item carries: its genres first, then its tags."""
    return to_shared((*item.genres, *item.tags))
