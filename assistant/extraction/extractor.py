"""Text -> grounded `InterestProfile`: the LLM proposes, the catalog and the text decide.

Steps, each a separate module:
  mentions.py     catalog titles found in the text (year-aware, article/accent-insensitive)
  polarity.py     liked / disliked / neutral per mention, from the words around it
  aspects.py      genres and tags (with synonyms) and their stance
  constraints.py  year range, runtime
  proposal.py     one LLM call proposing titles, aspects, years: a vote, weighted by the backend
Nothing enters the profile unless it is in the catalog *and* in the user's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from recassist.assistant.extraction.aspects import find_aspects
from recassist.assistant.extraction.constraints import find_runtime_limit, find_year_constraint
from recassist.assistant.extraction.mentions import Mention, matcher_for
from recassist.assistant.extraction.polarity import mention_polarity
from recassist.assistant.extraction.proposal import ExtractionProposal, propose
from recassist.assistant.extraction.vocabulary import Vocabulary, vocabulary_for
from recassist.assistant.llm.base import LLMClient
from recassist.foundation.catalog.models import Catalog
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.errors import LLMError
from recassist.foundation.profile import (
    AspectPreference,
    Constraints,
    InterestProfile,
    ItemPreference,
    Source,
    Theme,
    YearRange,
)

# Stance scores: a neutral mention leans "liked" because people mostly name films they like
# (about 95% of answered ReDial mentions); only a clear negative stance makes a dislike.
_RULE_SCORE = {"liked": 0.8, "neutral": 0.25, "disliked": -0.85}
_DISLIKE_BELOW = -0.2
_THEME = re.compile(
    r"\b(?:something|anything|movies?|films?|one)\s+(?:that(?:'s| is)?\s+|which is\s+|about\s+|with\s+)?"
    r"((?:[a-z-]+\s*){1,5}?)(?=[,.;!?]|$|\s+(?:and|but|please|not)\b)",
    re.IGNORECASE,
)
_THEME_STOP = {"else", "good", "new", "like", "similar", "to", "to watch", "watch", "for", "you", "i", "please",
               # How recent, not what about ("something newer please"): recency is ranked from years and trends.
               "newer", "recent", "more", "latest", "older"}
# When or for whom, not what: "something for tonight" is no taste to keep in the profile.
_THEME_OCCASION = {"tonight", "today", "now", "right", "this", "evening", "weekend", "tomorrow", "later",
                   "the", "a", "an", "me", "us", "soon", "friday", "saturday", "sunday"}
# "anything but horror", "something except comedy": what follows is not wished for (aspects.py reads it).
_THEME_NEGATED = {"but", "except", "not", "no", "without", "besides", "other", "apart"}
# "films should I watch", "movies do you recommend", "one I could read": the request's own clause, not a taste.
# A phrase opening with a modal, an auxiliary or a subject pronoun is that clause.
_THEME_CLAUSE = {"should", "shall", "could", "would", "can", "will", "must", "might", "may", "do", "does", "did",
                 "i", "we", "you", "they", "is", "are", "was", "were", "have", "has", "am", "i'd", "i'm", "i've",
                 "you'd", "we'd", "worth"}
# Words of asking for something ("something good to read next"): when a phrase is only these, it names no taste.
_THEME_REQUEST = {"read", "reading", "watch", "watching", "see", "seeing", "try", "next", "recommend",
                  "suggest", "pick", "choose", "me", "my", "us", "our", "what", "which", "there", "any", "some",
                  "worth", "out", "check"}


@dataclass
class ExtractionReport:
    """What happened during one extraction, for evaluation and debugging."""

    mentions: list[Mention] = field(default_factory=list)
    proposal: ExtractionProposal | None = None
    llm_error: str | None = None
    rejected_titles: list[str] = field(default_factory=list)  # LLM titles not in catalog or not in the text


class InterestExtractor:
    """Builds grounded profiles from text for one catalog, with an optional LLM."""

    def __init__(self, catalog: Catalog, llm: LLMClient | None, *, max_chars: int = 4000,
                 llm_timeout_s: float | None = None) -> None:
        self.catalog = catalog
        self.llm = llm
        self.max_chars = max_chars
        self.llm_timeout_s = llm_timeout_s
        self.matcher = matcher_for(catalog)
        self.vocab: Vocabulary = vocabulary_for(catalog)

    def extract(self, text: str, *, turn: int = 0, use_llm: bool = True) -> tuple[InterestProfile, ExtractionReport]:
        """Read `text` into a profile. Never raises for LLM trouble: the profile is marked degraded instead."""
        report = ExtractionReport()
        if text is None or not text.strip():
            return InterestProfile(status="empty", notes=["nothing to extract: the text is empty"]), report
        notes: list[str] = []
        truncated = len(text) > self.max_chars
        if truncated:
            text = text[: self.max_chars]
            notes.append(f"text truncated to the first {self.max_chars} characters")

        mentions = self.matcher.find_mentions(text)
        report.mentions = mentions
        proposal = None
        if use_llm and self.llm is not None:
            try:
                proposal = propose(self.llm, text, timeout_s=self.llm_timeout_s)
            except LLMError as e:
                report.llm_error = str(e)
                notes.append(f"LLM unavailable ({e}); profile read from the text alone")
        report.proposal = proposal
        weight = self.llm.judgement_weight if (self.llm is not None and proposal is not None) else 0.0

        mentions = mentions + self._llm_only_mentions(text, mentions, proposal, report)
        title_spans = [(m.start, _extend_over_year(text, m.end)) for m in mentions]
        llm_votes = self._llm_title_votes(proposal)

        liked: dict[str, ItemPreference] = {}
        disliked: dict[str, ItemPreference] = {}
        for m in mentions:
            vote = mention_polarity(text, m.start, m.end, title_spans)
            score = _RULE_SCORE[vote.polarity]
            llm_vote = llm_votes.get(m.item_id)
            if llm_vote is not None:
                score = (1 - weight) * score + weight * (1.0 if llm_vote else -1.0)
            item = self.catalog.get(m.item_id)
            explicit = vote.polarity != "neutral" or (llm_vote is not None and weight >= 0.5)
            pref = ItemPreference(
                item_id=m.item_id, title=item.label, source=Source(text=m.surface, start=m.start, end=m.end, turn=turn),
                origin="explicit" if explicit else "inferred", confidence=round(min(1.0, abs(score) + 0.2), 2),
            )
            target, other = (disliked, liked) if score < _DISLIKE_BELOW else (liked, disliked)
            # The same title twice: the later statement wins (newer beats older within a turn too).
            other.pop(m.item_id, None)
            target[m.item_id] = pref

        profile = InterestProfile(liked_items=list(liked.values()), disliked_items=list(disliked.values()),
                                  notes=notes, truncated=truncated)
        self._add_aspects(profile, text, title_spans, proposal, turn)
        self._add_constraints(profile, text, proposal, turn)
        self._add_themes(profile, text, title_spans, turn)
        if report.llm_error:
            profile.status = "degraded"
        elif profile.is_empty():
            profile.status = "empty"
            profile.notes.append("nothing to extract: no catalog titles, genres, themes or limits found in the text")
        return profile, report

    # --- titles -----------------------------------------------------------
    def _llm_only_mentions(self, text: str, found: list[Mention], proposal: ExtractionProposal | None,
                           report: ExtractionReport) -> list[Mention]:
        """Titles the LLM saw but the scan missed: kept only if in the catalog AND in the text."""
        if proposal is None:
            return []
        have = {m.item_id for m in found}
        lowered = text.lower()
        extra: list[Mention] = []
        for vote in proposal.titles:
            item_id = self.matcher.match_name(vote.title)
            if item_id is None:
                report.rejected_titles.append(vote.title)
                continue
            if item_id in have:
                continue
            span = _locate(vote.title, lowered)
            # The words found in the text must themselves name the item, not just resemble the LLM's title.
            if span is None or self.matcher.match_name(text[span[0] : span[1]]) != item_id:
                report.rejected_titles.append(vote.title)
                continue
            have.add(item_id)
            extra.append(Mention(item_id, text[span[0] : span[1]], span[0], span[1], False))
        return extra

    def _llm_title_votes(self, proposal: ExtractionProposal | None) -> dict[str, bool]:
        votes: dict[str, bool] = {}
        for vote in proposal.titles if proposal else []:
            item_id = self.matcher.match_name(vote.title)
            if item_id is not None:
                votes[item_id] = vote.liked
        return votes

    # --- aspects, constraints, themes ----------------------------------------
    def _add_aspects(self, profile: InterestProfile, text: str, title_spans, proposal, turn: int) -> None:
        seen: set[tuple[str, str]] = set()
        for a in find_aspects(text, self.vocab, title_spans):
            key = (a.term.kind, a.term.value)
            if key in seen:
                continue
            seen.add(key)
            pref = AspectPreference(
                aspect=a.term.value, kind=a.term.kind,  # type: ignore[arg-type]
                source=Source(text=a.surface, start=a.start, end=a.end, turn=turn),
                origin="inferred" if a.near_title else "explicit",
                confidence=0.6 if a.near_title else 0.9,
            )
            if a.polarity == "disliked":
                profile.disliked_aspects.append(pref)
                if a.hard_exclusion:
                    profile.constraints.excluded_genres.append(pref)
            else:
                profile.liked_aspects.append(pref)
        # LLM aspects: only words really in the text that map onto the vocabulary.
        if proposal is None:
            return
        lowered = text.lower()
        for words, side in ((proposal.liked_aspects, profile.liked_aspects),
                            (proposal.disliked_aspects, profile.disliked_aspects)):
            for w in words:
                term = self.vocab.lookup(w)
                span = _locate(w, lowered) if term else None
                if term is None or span is None or (term.kind, term.value) in seen:
                    continue
                if any(s <= span[0] < e for s, e in title_spans):
                    continue
                seen.add((term.kind, term.value))
                side.append(AspectPreference(
                    aspect=term.value, kind=term.kind,  # type: ignore[arg-type]
                    source=Source(text=text[span[0] : span[1]], start=span[0], end=span[1], turn=turn),
                    origin="inferred", confidence=0.5,
                ))

    def _add_constraints(self, profile: InterestProfile, text: str, proposal, turn: int) -> None:
        c: Constraints = profile.constraints
        years = find_year_constraint(text)
        if years is not None:
            c.years = YearRange(min_year=years.min_year, max_year=years.max_year,
                                source=Source(text=text[years.start : years.end], start=years.start, end=years.end,
                                              turn=turn))
        # LLM year limits are ignored unless the text states one: the tiny model invents them freely.
        runtime = find_runtime_limit(text)
        if runtime is not None:
            c.max_runtime_minutes = runtime.minutes
            c.runtime_source = Source(text=text[runtime.start : runtime.end], start=runtime.start, end=runtime.end,
                                      turn=turn)
            # Item records carry no runtime field yet: keep the wish visible rather than drop it silently.
            profile.notes.append("runtime limit kept, but this catalog has no runtimes to filter on")

    def _add_themes(self, profile: InterestProfile, text: str, title_spans, turn: int) -> None:
        aspect_words = {a.source.text.lower() for a in (*profile.liked_aspects, *profile.disliked_aspects)}
        for m in _THEME.finditer(text):
            phrase = m.group(1).strip().lower()
            if not phrase or phrase in _THEME_STOP or phrase in aspect_words or phrase.split()[0] in _THEME_NEGATED:
                continue
            if phrase.split()[0] in _THEME_CLAUSE:
                continue
            if any(s <= m.start(1) < e for s, e in title_spans):
                continue
            if all(w in _THEME_STOP or w in _THEME_OCCASION or w in _THEME_REQUEST or w in aspect_words
                   or w in ("and", "or")
                   for w in phrase.split()):
                continue
            profile.themes.append(Theme(text=phrase, source=Source(text=m.group(0).strip(), start=m.start(),
                                                                   end=m.end(), turn=turn)))


def _extend_over_year(text: str, end: int) -> int:
    m = re.match(r"\s*\(\s*\d{4}\s*\)", text[end:])
    return end + m.end() if m else end


def _locate(phrase: str, lowered_text: str) -> tuple[int, int] | None:
    """Where `phrase` (or a near-exact spelling of it) occurs in the text, else None."""
    p = phrase.strip().lower()
    if len(p) < 2:
        return None
    i = lowered_text.find(p)
    if i >= 0:
        return i, i + len(p)
    if len(p) < 5:
        return None
    al = fuzz.partial_ratio_alignment(p, lowered_text)
    if al is not None and al.score >= 92 and normalize_title(lowered_text[al.dest_start : al.dest_end]):
        return al.dest_start, al.dest_end
    return None
