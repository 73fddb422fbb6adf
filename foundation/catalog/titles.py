"""Title parsing and normalisation shared by the catalog, the matcher and evaluation.

MovieLens writes "Matrix, The (1999)" and "Seven (a.k.a. Se7en) (1995)";
people write "the matrix" and "Se7en". Everything that compares titles goes
through `normalize_title` so the two meet.
"""

from __future__ import annotations

import re
import unicodedata

_YEAR_AT_END = re.compile(r"\s*\((\d{4})(?:[–-]\d{0,4})?\)\s*$")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<body>.+?),\s*(?P<art>The|A|An|Les|La|Le|L'|Il|El|Das|Der|Die|Los|Las|Lo|I|Gli|Un|Une|Ein|Eine)$",
    re.IGNORECASE,
)
_PARENS_AT_END = re.compile(r"\s*\(([^()]*)\)\s*$")
_LEADING_ARTICLES = ("the ", "a ", "an ")


def move_article_front(title: str) -> str:
    """'Matrix, The' -> 'The Matrix'; "Homme, L'" -> "L'Homme"."""
    m = _TRAILING_ARTICLE.match(title.strip())
    if not m:
        return title.strip()
    art = m.group("art")
    sep = "" if art.endswith("'") else " "
    return f"{art}{sep}{m.group('body')}"


def parse_movielens_title(raw: str) -> tuple[str, int | None, list[str]]:
    """Split a MovieLens title into (display title, year, alternative titles).

    >>> parse_movielens_title("City of Lost Children, The (Cité des enfants perdus, La) (1995)")
    ('The City of Lost Children', 1995, ['La Cité des enfants perdus'])
    """
    text = raw.strip()
    year: int | None = None
    m = _YEAR_AT_END.search(text)
    if m:
        year = int(m.group(1))
        text = text[: m.start()].strip()
    aliases: list[str] = []
    # Trailing parenthesised groups are alternative / original-language titles.
    while True:
        p = _PARENS_AT_END.search(text)
        if not p or p.start() == 0:
            break
        alt = p.group(1).strip()
        if alt.lower().startswith("a.k.a."):
            alt = alt[6:].strip()
        if alt:
            aliases.append(move_article_front(alt))
        text = text[: p.start()].strip()
    return move_article_front(text), year, aliases[::-1]


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
_SEQUEL_NUMERAL = re.compile(r"\b(?:" + "|".join(_ROMAN) + r")\b")


def normalize_title(title: str, *, drop_article: bool = True) -> str:
    """A comparison key: lowercase, accents and punctuation gone, '&' as 'and', no leading article."""
    t = strip_accents(move_article_front(title)).lower()
    t = t.replace("&", " and ").replace("’", "'")
    t = re.sub(r"'s\b", "s", t)
    t = re.sub(r"[^a-z0-9]+", " ", t).strip()
    # "Men in Black III" ~ "Men in Black 3". Not "i", "v", "x": those are words and initials too.
    t = _SEQUEL_NUMERAL.sub(lambda m: _ROMAN[m.group()], t)
    # "Guardians of the Galaxy Vol. 2" ~ "Guardians of the Galaxy 2"; "The Godfather: Part II" ~ "Godfather 2".
    t = re.sub(r"\b(?:vol|volume|pt|part)\s+(?=\d)", "", t)
    if drop_article:
        for art in _LEADING_ARTICLES:
            if t.startswith(art) and len(t) > len(art):
                t = t[len(art) :]
                break
    return t


def split_title_year(text: str) -> tuple[str, int | None]:
    """'Super Troopers (2001)' -> ('Super Troopers', 2001); no year -> (text, None)."""
    m = _YEAR_AT_END.search(text)
    if not m:
        return text.strip(), None
    return text[: m.start()].strip(), int(m.group(1))
