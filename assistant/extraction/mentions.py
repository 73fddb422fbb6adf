"""Finding catalog titles: in free text (`find_mentions`) and from a name (`match_name`).

The matcher is what keeps the assistant honest: an item enters a profile only
if its title is really in the user's words and really in the catalog.
Matching is case/punctuation/article/accent-insensitive and year-aware
("Matrix, The (1999)" ~ "the matrix"; "Police Academy  (1984)" ~ "Police Academy (1984)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from assistant.catalog.models import Catalog
from assistant.catalog.titles import normalize_title, split_title_year

_TOKEN = re.compile(r"[A-Za-z0-9À-ÿ]+(?:['’][A-Za-z]+)?")
_YEAR_AFTER = re.compile(r"^\s*\(?\s*((?:19|20)\d{2})\s*\)?")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")
_YEAR_IN_PARENS = re.compile(r"\(\s*((?:18|19|20)\d{2})\s*\)")
_RUN_TOKEN = re.compile(r"[\w'’&.!?-]+:?|[:,-]")
_CONNECTORS = {"of", "the", "a", "an", "and", "in", "to", "on", "at", "for", "with", "from", "by", "is", "&",
               "or", "vs", "vs.", "de", "la", "le", "-", ":", "my", "your", "his", "her", "me", "you", "it", "as"}
_MAX_RUN_TOKENS = 14


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    text = resources.files("assistant.extraction").joinpath("common_words.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


@dataclass(frozen=True)
class Mention:
    """A catalog item found in text. `start`/`end` are character offsets of the surface form."""

    item_id: str
    surface: str
    start: int
    end: int
    year_given: bool


@dataclass(frozen=True)
class _Entry:
    item_id: str
    year: int | None
    popularity: int


class TitleMatcher:
    """An index of every catalog title and alias, built once per catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        pop = catalog.popularity
        self._by_key: dict[str, list[_Entry]] = {}
        # "Anchorman" for "Anchorman: The Legend of Ron Burgundy": used only when no exact key exists.
        self._by_main_title: dict[str, list[_Entry]] = {}
        for it in catalog.items.values():
            entry = _Entry(it.item_id, it.year, pop.get(it.item_id, 0))
            for name in {it.title, *it.aliases}:
                key = normalize_title(name)
                if key:
                    self._by_key.setdefault(key, []).append(entry)
                if ":" in name:
                    main = normalize_title(name.split(":", 1)[0])
                    if main and (len(main.split()) > 1 or main not in common_words()):
                        self._by_main_title.setdefault(main, []).append(entry)
        for key in list(self._by_main_title):
            if key in self._by_key:
                del self._by_main_title[key]
        # Token-sequence index for scanning text: first token -> longest keys first.
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for key in (*self._by_key, *self._by_main_title):
            toks = tuple(key.split())
            self._by_first.setdefault(toks[0], []).append(toks)
        for seqs in self._by_first.values():
            seqs.sort(key=len, reverse=True)
        self._keys = list(self._by_key)

    # ------------------------------------------------------------------ names
    def match_name(self, name: str, year: int | None = None, *, fuzzy: bool = True) -> str | None:
        """Catalog id for a title such as 'Super Troopers (2001)' or 'Matrix, The', or None.

        A year in the name (or given) picks among remakes; off-by-one years are
        accepted since release and catalog years often differ by one.
        """
        title, parsed_year = split_title_year(name)
        year = year if year is not None else parsed_year
        key = normalize_title(title)
        if not key:
            return None
        for candidate_key in self._key_variants(key):
            hit = self._pick(self._entries(candidate_key), year)
            if hit:
                return hit
        if year is not None:
            # "Avengers: Infinity War" vs catalog "Avengers: Infinity War - Part I": same year, key is a prefix.
            hit = self._pick([e for k in self._keys if k.startswith(key + " ") for e in self._by_key[k]], year,
                             strict_year=True)
            if hit:
                return hit
        if fuzzy and len(key) >= 6:
            for cand, score, _ in process.extract(key, self._keys, scorer=fuzz.ratio, limit=5):
                if score >= 90:
                    hit = self._pick(self._by_key[cand], year, strict_year=year is not None)
                    if hit:
                        return hit
        return None

    def _entries(self, key: str) -> list[_Entry]:
        return self._by_key.get(key) or self._by_main_title.get(key, [])

    @staticmethod
    def _key_variants(key: str) -> list[str]:
        variants = [key]
        if " and " in f" {key} ":
            variants.append(key.replace(" and ", " "))
        return variants

    def _pick(self, entries: list[_Entry], year: int | None, *, strict_year: bool = False) -> str | None:
        if not entries:
            return None
        if year is not None:
            for tolerance in (0, 1):
                close = [e for e in entries if e.year is not None and abs(e.year - year) <= tolerance]
                if close:
                    return max(close, key=lambda e: e.popularity).item_id
            if strict_year:
                return None
            # A stated year that matches no version: only trust an unambiguous title.
            return entries[0].item_id if len(entries) == 1 else None
        return max(entries, key=lambda e: (e.popularity, e.year or 0)).item_id

    # ------------------------------------------------------------------- text
    def find_mentions(self, text: str) -> list[Mention]:
        """Every catalog title in `text`, longest match first, non-overlapping, in text order.

        Two passes: titles written with a year ("Arrival (2016)") are resolved
        first from the words before the year; the rest of the text is then
        scanned for known titles. A "Title (Year)" that is not in the catalog
        is masked so its words are not misread as other, shorter titles.
        """
        mentions, masked = self._year_anchored(text)
        tokens = [(normalize_title(m.group(), drop_article=False), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        tokens = [t for t in tokens if t[0] and not any(s <= t[1] < e for s, e in masked)]
        i = 0
        while i < len(tokens):
            found = self._match_at(text, tokens, i)
            if found is None:
                i += 1
                continue
            mention, consumed = found
            # Tokens of one candidate must be contiguous in the text (no masked gap inside).
            if "(" not in text[mention.start : mention.end] or mention.year_given:
                mentions.append(mention)
            i += consumed
        return sorted(mentions, key=lambda m: m.start)

    def _year_anchored(self, text: str) -> tuple[list[Mention], list[tuple[int, int]]]:
        """Resolve 'Some Title (1999)': try the longest run of title-like words before the year first."""
        mentions: list[Mention] = []
        masked: list[tuple[int, int]] = []
        for ym in _YEAR_IN_PARENS.finditer(text):
            year = int(ym.group(1))
            run = _title_run_before(text, ym.start())
            if not run:
                continue
            for s in run:
                name = text[s : ym.start()].strip()
                item_id = self.match_name(name, year, fuzzy=False)
                if item_id is None or not self._year_fits(item_id, year):
                    continue
                mentions.append(Mention(item_id, name, s, s + len(name), True))
                break
            masked.append((run[0], ym.end()))
        return mentions, masked

    def _year_fits(self, item_id: str, year: int) -> bool:
        y = self.catalog.items[item_id].year
        return y is None or abs(y - year) <= 1

    def _match_at(self, text: str, tokens: list[tuple[str, int, int]], i: int) -> tuple[Mention, int] | None:
        words = [t[0] for t in tokens]
        # A leading article in the text is optional: the index keys drop it.
        starts = [i + 1, i] if words[i] in ("the", "a", "an") and i + 1 < len(words) else [i]
        for s in starts:
            for seq in self._by_first.get(words[s], []):
                n = len(seq)
                if tuple(words[s : s + n]) != seq:
                    continue
                start, end = tokens[i][1], tokens[s + n - 1][2]
                surface = text[start:end]
                year_m = _YEAR_AFTER.match(text[end:])
                year = int(year_m.group(1)) if year_m else None
                if not self._plausible(text, start, end, seq, year is not None):
                    continue
                item_id = self._pick(self._entries(" ".join(seq)), year)
                if item_id is None:
                    continue
                return Mention(item_id, surface, start, end, year is not None), (s - i) + n
        return None

    def _plausible(self, text: str, start: int, end: int, seq: tuple[str, ...], has_year: bool) -> bool:
        """Reject ordinary words that happen to be titles ('it', 'up', 'her') unless the text marks them."""
        if has_year or _quoted(text, start, end):
            return True
        common = common_words()
        content = [w for w in seq if w not in common]
        surface = text[start:end]
        capitalised = surface[:1].isupper()
        sentence_start = start == 0 or bool(_SENTENCE_END.search(text[:start]))
        if len(seq) >= 3 and len(content) >= 1:
            return True
        if len(seq) == 2 and content:
            return capitalised or len(content) == 2
        if not content:
            # Only common words ("It", "Up", "The Others"): capitalised mid-sentence is the only tell.
            return capitalised and not sentence_start and all(
                w[:1].isupper() for w in surface.split() if w.lower() not in ("the", "a", "an", "of")
            )
        # One uncommon word ("Arrival", "Gravity"): a capital letter is enough.
        return capitalised


def _title_run_before(text: str, end: int) -> list[int]:
    """Start offsets of candidate titles ending at `end`, longest first.

    Walks back over capitalised words, digits and small connecting words
    ("of", "the", ":") — the shape of a title — and offers every start that
    begins with a capitalised word or digit.
    """
    window_start = max(0, end - 160)
    segment = text[window_start:end]
    toks = list(_RUN_TOKEN.finditer(segment))
    starts: list[int] = []
    count = 0
    for tok in reversed(toks):
        word = tok.group()
        if word == ",":
            break
        is_title_word = word[:1].isupper() or word[:1].isdigit()
        if not is_title_word and word.lower().rstrip(":") not in _CONNECTORS:
            break
        count += 1
        if count > _MAX_RUN_TOKENS:
            break
        if is_title_word:
            starts.append(window_start + tok.start())
    # Lowercase sentence-initial words ("i liked") are not in the run; longest first.
    return sorted(set(starts))


def _quoted(text: str, start: int, end: int) -> bool:
    before, after = text[start - 1 : start], text[end : end + 1]
    return before in "\"'“‘«*" and before != "" and after in "\"'”’»*" and after != ""


_MATCHERS: dict[int, TitleMatcher] = {}


def matcher_for(catalog: Catalog) -> TitleMatcher:
    """One matcher per catalog object (building it takes ~0.1 s)."""
    m = _MATCHERS.get(id(catalog))
    if m is None or m.catalog is not catalog:
        m = _MATCHERS[id(catalog)] = TitleMatcher(catalog)
    return m
