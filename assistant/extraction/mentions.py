"""Finding catalog titles: in free text (`find_mentions`) and from a name (`match_name`).

The matcher is what keeps the assistant honest: an item enters a profile only
if its title is really in the user's words and really in the catalog.
Matching is case/punctuation/article/accent-insensitive and year-aware
("Matrix, The (1999)" ~ "the matrix"; "Police Academy  (1984)" ~ "Police Academy (1984)").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.titles import normalize_title, split_title_year
from recassist.foundation.catalog.updates import CatalogChange

# "&" is a token of its own: it normalises to "and", so "Pride & Prejudice" meets "Pride and Prejudice"
# and "Fast and Furious" meets "Fast & Furious" (titles are keyed with "&" as "and").
_TOKEN = re.compile(r"[A-Za-z0-9À-ÿ]+(?:['’][A-Za-z]+)?|&")
_YEAR_AFTER = re.compile(r"^\s*\(?\s*((?:19|20)\d{2})\s*\)?")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")
_YEAR_IN_PARENS = re.compile(r"\(\s*((?:18|19|20)\d{2})\s*\)")
_RUN_TOKEN = re.compile(r"[\w'’&.!?-]+:?|[:,-]")
_CONNECTORS = {"of", "the", "a", "an", "and", "in", "to", "on", "at", "for", "with", "from", "by", "is", "&",
               "or", "vs", "vs.", "de", "la", "le", "-", ":", ",", "my", "your", "his", "her", "me", "you", "it", "as"}
_MAX_RUN_TOKENS = 14
_ABBREVIATIONS = {"vol.", "mr.", "mrs.", "dr.", "st.", "jr.", "vs.", "no.", "pt.", "ms."}


# Word frequency on the Zipf scale (wordfreq): ~7 for "the", ~4.4 for "arrival", ~2.5 for "zootopia".
RARE_ZIPF = 4.0  # below: not an everyday word, a capitalised occurrence is almost surely a title
EVERYDAY_ZIPF = 5.5  # above: "it", "up", "her", "life": needs a year, quotes or a watch-verb before it
_WATCH_VERBS = {"seen", "saw", "watched", "watch", "see", "loved", "liked", "like", "love", "enjoyed", "hated"}


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def is_function_word(word: str) -> bool:
    return zipf(word) >= 6.0


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


def _normalised_names(title: str, aliases: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(key, main title key or '', last part key or '') for each distinct name of an item."""
    out = []
    for name in {title, *aliases}:
        main = normalize_title(name.split(":", 1)[0]) if ":" in name else ""
        out.append((normalize_title(name), main, _last_part(name)))
    return tuple(out)


_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10"}
_NUMBER = re.compile(r"\d+|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b")


def _numbers(key: str) -> str:
    """The numbers a normalised title holds, as digits ("john wick chapter two" -> "2", "pelham 1 2 3" -> "123")."""
    return "".join(_NUMBER_WORDS.get(n, n) for n in _NUMBER.findall(key))


_PARTS = re.compile(r"\s*:\s+|\s+[-–—]\s+")


def _last_part(name: str) -> str:
    """The normalised part after a title's last ': ' or ' - ', when it has two words or more ('' otherwise)."""
    parts = _PARTS.split(name)
    last = normalize_title(parts[-1]) if len(parts) > 1 else ""
    return last if len(last.split()) >= 2 else ""


class TitleMatcher:
    """An index of every catalog title and alias, built once per catalog.

    `previous`: the matcher of the catalog this one was derived from by updates: the normalised
    names of items that did not change are reused (normalising every title is most of the build).
    """

    def __init__(self, catalog: Catalog, *, previous: TitleMatcher | None = None) -> None:
        self.catalog = catalog
        if previous is not None and CatalogChange.between(previous.catalog, catalog).interactions_changed:
            previous = None
        # Counting a large interaction log again is a good part of a swap; without new interactions the
        # previous counts hold.
        self._popularity = previous._popularity if previous is not None else catalog.popularity
        pop = self._popularity
        known = previous._names if previous is not None else {}
        old_items = previous.catalog.items if previous is not None else {}
        #: item id -> (normalised key, main title before ':', last part after ': ' / ' - '; '' for none) per
        #: title and alias.
        self._names: dict[str, tuple[tuple[str, str, str], ...]] = {}
        self._by_key: dict[str, list[_Entry]] = {}
        # "Anchorman" for "Anchorman: The Legend of Ron Burgundy": used only when no exact key exists.
        self._by_main_title: dict[str, list[_Entry]] = {}
        # Every "main: subtitle" title under its main title, even where the main title exists on its own:
        # "Jumanji (2017)" is "Jumanji: Welcome to the Jungle", not the 1995 "Jumanji".
        self._subtitled: dict[str, list[_Entry]] = {}
        # The last part of "Star Wars: Episode V - The Empire Strikes Back" and "AVP: Alien vs. Predator", as
        # people name those films: used only with the year, or alone when unambiguous and 3 words or more.
        self._by_last_part: dict[str, list[_Entry]] = {}
        for it in catalog.items.values():
            names = known.get(it.item_id) if old_items.get(it.item_id) is it else None
            if names is None:
                names = _normalised_names(it.title, it.aliases)
            self._names[it.item_id] = names
            entry = _Entry(it.item_id, it.year, pop.get(it.item_id, 0))
            for key, main, last in names:
                if last:
                    self._by_last_part.setdefault(last, []).append(entry)
                if key:
                    self._by_key.setdefault(key, []).append(entry)
                if main:
                    self._by_main_title.setdefault(main, []).append(entry)
                    self._subtitled.setdefault(main, []).append(entry)
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
        # Keys in sorted order find every key that extends a name ("the godfather part") by bisection; a scan
        # of every key cost ~8 ms per name, the largest part of replaying a corpus for training.
        self._sorted_keys = sorted(self._keys)
        self._key_order = {k: i for i, k in enumerate(self._keys)}
        # A chat turn's text is read for titles by the extractor and by whoever tracks the dialogue's mentions.
        self._mentions_of = lru_cache(maxsize=1024)(self._find_mentions)
        # A corpus names the same films again and again; a name not in the catalog costs a fuzzy search.
        self._match_of = lru_cache(maxsize=1 << 14)(self._match_name)

    # ------------------------------------------------------------------ names
    def match_name(self, name: str, year: int | None = None, *, fuzzy: bool = True,
                   strict_year: bool = False) -> str | None:
        """Catalog id for a title such as 'Super Troopers (2001)' or 'Matrix, The', or None.

        A year in the name (or given) picks among remakes; off-by-one years are
        accepted since release and catalog years often differ by one. With
        `strict_year`, a title whose catalog year is further off does not match.
        """
        return self._match_of(name, year, fuzzy, strict_year)

    def _match_name(self, name: str, year: int | None, fuzzy: bool, strict_year: bool) -> str | None:
        title, parsed_year = split_title_year(name)
        year = year if year is not None else parsed_year
        key = normalize_title(title)
        if not key:
            return None
        exact = [e for k in self._key_variants(key) for e in self._by_key.get(k, [])]
        if year is None:
            hit = self._pick(exact or self._by_main_title.get(key, []), None)
            if hit:
                return hit
        else:
            # Year given: a version released that year (±1) beats a same-named remake or a subtitle match.
            hit = self._pick(exact, year, strict_year=True) or self._pick(
                self._subtitled.get(key, []), year, strict_year=True
            ) or (self._pick([e for k in self._keys_extending(key) for e in self._by_key[k]], year,
                             strict_year=True) if len(key.split()) >= 2 else None)
            if hit:
                return hit
            # No version of that year: trust the title alone only when it is unambiguous.
            if len(exact) == 1 and not strict_year:
                return exact[0].item_id
        hit = self._by_parts(title, key, year)
        if hit:
            return hit
        if fuzzy and len(key) >= 6:
            for cand, score, _ in process.extract(key, self._keys, scorer=fuzz.ratio, limit=5):
                # A near spelling, not another film of a series: "Godfather 2" is not "The Godfather".
                if score >= 90 and _numbers(key) in ("", _numbers(cand)):
                    hit = self._pick(self._by_key[cand], year, strict_year=year is not None or strict_year)
                    if hit:
                        return hit
        return None

    def _keys_extending(self, key: str) -> list[str]:
        """The keys that start with `key` and a space, in index order (`_pick` keeps the first of equals)."""
        prefix = key + " "
        found = []
        for k in self._sorted_keys[bisect_left(self._sorted_keys, prefix):]:
            if not k.startswith(prefix):
                break
            found.append(k)
        return sorted(found, key=self._key_order.__getitem__)

    def _by_parts(self, title: str, key: str, year: int | None) -> str | None:
        """A name that is one part of a catalog title ("The Empire Strikes Back (1980)"), or a catalog title
        that is one part of the name ("13 Hours: The Secret Soldiers of Benghazi (2016)" -> "13 Hours")."""
        if year is None:
            entries = self._by_last_part.get(key, [])
            return entries[0].item_id if len(entries) == 1 and len(key.split()) >= 3 else None
        hit = self._pick(self._by_last_part.get(key, []), year, strict_year=True)
        parts = [normalize_title(p) for p in _PARTS.split(title)]
        if hit or len(parts) < 2:
            return hit
        # "Star Wars: The Force Awakens (2015)": its last part, then its first, each with the year.
        for part in (parts[-1], parts[0]):
            if len(part.split()) >= 2:
                hit = self._pick([*self._by_key.get(part, []), *self._by_last_part.get(part, [])], year,
                                 strict_year=True)
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
        return list(self._mentions_of(text))

    def _find_mentions(self, text: str) -> tuple[Mention, ...]:
        mentions, masked = self._year_anchored(text)
        tokens = [(normalize_title(m.group(), drop_article=False), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        tokens = [t for t in tokens if t[0] and not any(s <= t[1] < e for s, e in masked)]
        words = [t[0] for t in tokens]
        i = 0
        while i < len(tokens):
            found = self._match_at(text, tokens, words, i)
            if found is None:
                i += 1
                continue
            mention, consumed = found
            # Tokens of one candidate must be contiguous in the text (no masked gap inside).
            if "(" not in text[mention.start : mention.end] or mention.year_given:
                mentions.append(mention)
            i += consumed
        return tuple(sorted(mentions, key=lambda m: m.start))

    def _year_anchored(self, text: str) -> tuple[list[Mention], list[tuple[int, int]]]:
        """Resolve 'Some Title (1999)': try the longest run of title-like words before the year first."""
        mentions: list[Mention] = []
        masked: list[tuple[int, int]] = []
        for ym in _YEAR_IN_PARENS.finditer(text):
            year = int(ym.group(1))
            run = _title_run_before(text, ym.start())
            if not run:
                continue
            matched = False
            for n, s in enumerate(run):
                name = text[s : ym.start()].strip().lstrip(",").strip()
                # Only the whole run (less leading everyday words like "Like", "I") may fall back to fuzzy
                # spelling or an off year: a shorter tail ("Seconds" of "Seven Seconds (2018)") must match
                # exactly, year included.
                dropped = text[run[0] : s].split()
                lenient = n == 0 or all(is_function_word(normalize_title(w, drop_article=False) or "the")
                                        for w in dropped)
                item_id = self.match_name(name, year, fuzzy=lenient, strict_year=not lenient)
                if item_id is None:
                    continue
                mentions.append(Mention(item_id, name, s, s + len(name), True))
                masked.append((s, ym.end()))
                matched = True
                break
            if not matched:
                # An unknown "Title (Year)": hide its words so they are not misread as shorter titles.
                masked.append((run[0], ym.end()))
        return mentions, masked

    def _match_at(self, text: str, tokens: list[tuple[str, int, int]], words: list[str],
                  i: int) -> tuple[Mention, int] | None:
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
                key = " ".join(seq)
                # "Chris Rock" is the start of "Chris Rock: Bigger & Blacker" but usually means the person:
                # a main-title-only key needs a rare word to be read as a title in free text.
                if key not in self._by_key and year is None and min(zipf(w) for w in seq) >= RARE_ZIPF:
                    continue
                item_id = self._pick(self._entries(key), year)
                if item_id is None:
                    continue
                return Mention(item_id, surface, start, end, year is not None), (s - i) + n
        return None

    def _plausible(self, text: str, start: int, end: int, seq: tuple[str, ...], has_year: bool) -> bool:
        """Reject ordinary words that happen to be titles ('whatever', 'up', 'her') unless the text marks them.

        Evidence that words are a title: a year after them, quotes, capitals
        mid-sentence, or rare words (by English word frequency).
        """
        if has_year or _quoted(text, start, end):
            return True
        surface = text[start:end]
        if len("".join(seq)) <= 1 or all(w[:1].isdigit() for w in seq):
            return False  # "Z", "13th", "9": only with a year or quotes
        if _capitalised_neighbour(text, start, end):
            return False  # "Jack Nicholson", "Kill Bill", "Chevy Chase": part of a longer name
        words = [w for w in seq if not is_function_word(w)] or list(seq)
        rarest = min(zipf(w) for w in words)
        capitalised = all(w[:1].isupper() or w[:1].isdigit() for w in surface.split()
                          if w.lower() not in ("the", "a", "an", "of", "and", "&", "in", "to", "on"))
        sentence_start = start == 0 or bool(_SENTENCE_END.search(text[:start]))
        if rarest < RARE_ZIPF:
            # "Deadpool", "Zootopia": a rare word. Lower case only when every word is rare ("jurassic park"
            # yes, "a superhero movie" no).
            return capitalised or (len(words) >= 2 and max(zipf(w) for w in words) < RARE_ZIPF)
        if not capitalised or sentence_start:
            return False
        if rarest < EVERYDAY_ZIPF or len(seq) >= 2:
            return True
        previous = re.findall(r"[A-Za-z']+", text[max(0, start - 20) : start])
        return bool(previous) and previous[-1].lower() in _WATCH_VERBS


_NEIGHBOUR_BEFORE = re.compile(r"([A-Za-z][\w']*)\s$")
_NEIGHBOUR_AFTER = re.compile(r"^\s([A-Z][\w']*)")


def _capitalised_neighbour(text: str, start: int, end: int) -> bool:
    """Is the match glued (one space) to another capitalised word that is not sentence-initial or 'I'?"""
    after = _NEIGHBOUR_AFTER.match(text[end : end + 30])
    if after and after.group(1) not in ("I", "I'm", "I've", "I'd", "I'll"):
        return True
    before = _NEIGHBOUR_BEFORE.search(text[max(0, start - 30) : start])
    if before and before.group(1)[:1].isupper() and before.group(1) not in ("I",):
        word_start = start - len(before.group(0))
        return not (word_start == 0 or _SENTENCE_END.search(text[:word_start]))
    return False


def _title_run_before(text: str, end: int) -> list[int]:
    """Start offsets of candidate titles ending at `end`, longest first.

    Walks back over capitalised words, digits and small connecting words
    ("of", "the", ":") — the shape of a title — and offers every start that
    begins with a capitalised word or digit.
    """
    window_start = max(0, end - 160, text.rfind("\n", 0, end) + 1)
    segment = text[window_start:end]
    toks = list(_RUN_TOKEN.finditer(segment))
    starts: list[int] = []
    count = 0
    for tok in reversed(toks):
        word = tok.group()
        if word == "," and not starts:
            break
        if word[-1:] in ".!?" and word.lower() not in _ABBREVIATIONS:
            break  # the previous sentence ended here
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
_KEEP_MATCHERS = 4  # catalogs a process holds at once: the served one, and a few during swaps and tests


def matcher_for(catalog: Catalog, *, previous: Catalog | None = None) -> TitleMatcher:
    """One matcher per catalog object (building it takes ~1 s on 10k items; with `previous`, the catalog
    this one was derived from by updates and whose matcher exists, only the changed items' titles are
    normalised again)."""
    m = _MATCHERS.get(id(catalog))
    if m is None or m.catalog is not catalog:
        before = _MATCHERS.get(id(previous)) if previous is not None else None
        if before is not None and before.catalog is not previous:
            before = None
        m = TitleMatcher(catalog, previous=before)
        _MATCHERS.pop(id(catalog), None)
        _MATCHERS[id(catalog)] = m
        while len(_MATCHERS) > _KEEP_MATCHERS:  # oldest first: a swapped-out catalog is not kept alive
            _MATCHERS.pop(next(iter(_MATCHERS)))
    return m
