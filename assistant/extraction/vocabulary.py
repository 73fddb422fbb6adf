"""The catalog vocabulary aspects are grounded in: genres, frequent tags and a synonym table."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml
from recassist.assistant.extraction.mentions import is_function_word
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.titles import normalize_title

MIN_TAG_ITEMS = 3  # a tag on fewer items is noise ("in netflix queue" aside, see _TAG_NOISE)
_TAG_NOISE = {"in netflix queue", "bad", "movies", "imdb top 250", "awesome", "good", "great", "boring"}


@dataclass(frozen=True)
class Term:
    """A vocabulary entry: `value` exactly as the catalog spells it."""

    value: str
    kind: str  # "genre" | "tag"


@dataclass
class Vocabulary:
    terms: list[Term]
    # normalised phrase -> term; phrases are vocabulary values and their synonyms
    phrases: dict[str, Term] = field(default_factory=dict)
    _longest: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def lookup(self, words: str) -> Term | None:
        return self.phrases.get(_norm(words))

    def max_phrase_len(self) -> int:
        # Asked for every text read; the phrases only ever grow while the vocabulary is built.
        if self._longest is None or self._longest[0] != len(self.phrases):
            self._longest = (len(self.phrases), max((len(p.split()) for p in self.phrases), default=1))
        return self._longest[1]


@lru_cache(maxsize=1 << 16)  # every word and phrase of every text read is looked up; most recur
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", normalize_title(text, drop_article=False)).strip()


@lru_cache(maxsize=1)
def _synonyms() -> dict:
    text = resources.files("recassist.assistant.extraction").joinpath("synonyms.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def build_vocabulary(catalog: Catalog) -> Vocabulary:
    genres = {g.lower(): g for g in catalog.genres}
    tag_counts = Counter(t for it in catalog.items.values() for t in set(it.tags))
    tags = {t for t, n in tag_counts.items() if n >= MIN_TAG_ITEMS and t not in _TAG_NOISE}
    terms = [Term(g, "genre") for g in catalog.genres] + [Term(t, "tag") for t in sorted(tags)]
    vocab = Vocabulary(terms)
    # Tags first, genres after: a phrase that is both ("comedy") resolves to the genre.
    for t in sorted(tags):
        if not is_function_word(_norm(t)):
            vocab.phrases[_norm(t)] = Term(t, "tag")
    for g in catalog.genres:
        vocab.phrases[_norm(g)] = Term(g, "genre")
    syn = _synonyms()
    for value, phrases in (syn.get("tags") or {}).items():
        if value in tags:
            for p in phrases:
                vocab.phrases.setdefault(_norm(p), Term(value, "tag"))
    for value, phrases in (syn.get("genres") or {}).items():
        if value.lower() in genres:
            for p in phrases:
                # Genre synonyms override tag spellings: genres are what filters act on.
                vocab.phrases[_norm(p)] = Term(genres[value.lower()], "genre")
    return vocab


_VOCABS: dict[int, tuple[Catalog, Vocabulary]] = {}


def vocabulary_for(catalog: Catalog) -> Vocabulary:
    hit = _VOCABS.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        hit = _VOCABS[id(catalog)] = (catalog, build_vocabulary(catalog))
    return hit[1]
