"""Authors in free text: "films for someone who loves Agatha Christie" names the author of catalog books.

Only names the catalog holds (`Item.authors`) are found, and only where the user's words spell them:
whole names of at least two words ("Agatha Christie", "J.K. Rowling" = "JK Rowling" = "j. k. rowling";
"Stephen King's" counts), case-, accent- and punctuation-insensitive. One-word names ("Homer",
"Plato", "Anonymous", "Various") are not matched: they are ordinary words or placeholders as often
as authors. An author stands for the shared aspects most of their items carry (`author_aspects`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.catalog.titles import strip_accents
from recassist.foundation.vocabulary import item_aspects

_TOKEN = re.compile(r"[A-Za-zÀ-ÿ0-9]+(?:['’][A-Za-z]+)?")
#: An aspect stands for the author when at least this share of their items carries it.
ASPECT_SHARE = 0.5
MAX_ASPECTS = 4


@dataclass(frozen=True)
class AuthorMention:
    """An author of the catalog named in a text; `start`/`end`: character offsets of the words used."""

    name: str  # as the catalog writes it
    item_ids: tuple[str, ...]
    start: int
    end: int


def _token_key(word: str) -> str:
    w = strip_accents(word).lower().replace("’", "'")
    return w[:-2] if w.endswith("'s") else w


def name_key(name: str) -> tuple[str, ...]:
    """'J. K. Rowling' -> ('jk', 'rowling'): runs of initials are one token, so every spelling meets."""
    return tuple(t[0] for t in _tokens(name))


class AuthorIndex:
    """Every author name of a catalog (two words or more), for finding them in text. Build once per catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        books: dict[tuple[str, ...], list[str]] = {}
        names: dict[tuple[str, ...], str] = {}
        for item_id, it in catalog.items.items():
            for name in it.authors:
                key = name_key(name)
                if len(key) < 2:
                    continue
                books.setdefault(key, []).append(item_id)
                names.setdefault(key, name)
        self._books = {k: tuple(v) for k, v in books.items()}
        self._names = names
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for key in self._books:
            self._by_first.setdefault(key[0], []).append(key)
        for keys in self._by_first.values():
            keys.sort(key=len, reverse=True)  # longest first: "Arthur Conan Doyle" before "Arthur Conan"

    def __len__(self) -> int:
        return len(self._books)

    def find(self, text: str) -> list[AuthorMention]:
        """Every catalog author named in `text`, in text order, non-overlapping (the longest name wins)."""
        tokens = _tokens(text)
        words = [t[0] for t in tokens]
        out: list[AuthorMention] = []
        i = 0
        while i < len(tokens):
            for key in self._by_first.get(words[i], ()):
                if tuple(words[i:i + len(key)]) == key:
                    end = tokens[i + len(key) - 1][2]
                    out.append(AuthorMention(self._names[key], self._books[key], tokens[i][1], end))
                    i += len(key)
                    break
            else:
                i += 1
        return out

    def books(self, name: str) -> tuple[str, ...]:
        """Item ids of `name`'s items (any spelling of the name); empty for a name not in the catalog."""
        return self._books.get(name_key(name), ())


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) per word; a run of initials is one word ("J.K.", "J. K.", "JK" -> "jk"). An initial
    is one letter written in capitals or followed by a dot, so the "a" of "a J.K. Rowling novel" is not one."""
    out: list[tuple[str, int, int]] = []
    initials = False  # whether the last word is a run of initials
    for m in _TOKEN.finditer(text):
        word, key = m.group(), _token_key(m.group())
        if not key:
            continue
        initial = len(word) == 1 and word.isalpha() and (word.isupper() or text[m.end():m.end() + 1] == ".")
        if initial and initials and out:
            out[-1] = (out[-1][0] + key, out[-1][1], m.end())
        else:
            out.append((key, m.start(), m.end()))
        initials = initial
    return out


def author_aspects(catalog: Catalog, item_ids: Sequence[str]) -> list[str]:
    """The shared aspects at least `ASPECT_SHARE` of the items carry, most shared first (ties: first seen),
    at most `MAX_ASPECTS`."""
    return common_aspects([catalog.items[i] for i in item_ids if i in catalog.items])


def common_aspects(items: Sequence[Item]) -> list[str]:
    """What a set of items stands for in other catalogs: `author_aspects` of the items themselves."""
    counts: dict[str, int] = {}
    for it in items:
        for a in item_aspects(it):
            counts[a] = counts.get(a, 0) + 1
    kept = [a for a, c in counts.items() if items and c / len(items) >= ASPECT_SHARE]
    return sorted(kept, key=lambda a: -counts[a])[:MAX_ASPECTS]
