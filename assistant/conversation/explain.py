"""Explanations bound to evidence: the LLM writes, a checker verifies, a template stands in.

The LLM sees only the evidence record. Its sentence is rejected if it names a
title, a genre/tag, a person-like name or a year that the record does not
contain, or carries markup; the fallback is a sentence built from the record.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from recassist.assistant.conversation.models import Evidence
from recassist.assistant.domains.explain import author_clause, liked_clause, noun
from recassist.assistant.extraction.aspects import find_aspects
from recassist.assistant.extraction.mentions import matcher_for
from recassist.assistant.extraction.vocabulary import vocabulary_for
from recassist.assistant.llm.base import LLMClient
from recassist.foundation.catalog.models import Catalog, Item
from recassist.foundation.catalog.titles import normalize_title
from recassist.foundation.errors import LLMError
from recassist.prompts import load_prompt

_MARKUP = re.compile(r"[<>{}\[\]`]|https?://|www\.", re.IGNORECASE)
_CAPITALISED_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)")
# A code or brand-like word: letters mixed with digits ("BuyNow-3000", "PWNED-4242") or a capital inside a word.
# Outside a named title it comes from nowhere in the evidence (third-party item text is where such words hide).
_CODE = re.compile(r"\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z\d]+(?:-[A-Za-z\d]+)*\b|\b[A-Za-z][a-z]+[A-Z]\w*")
_YEAR = re.compile(r"\b(18|19|20)\d{2}\b")
# Claims about what the user thinks or did: only "you liked <a liked item in the evidence>" may be said.
_THIRD_PERSON = re.compile(r"\b(?:the user|users?'s?|they|their|them)\b", re.IGNORECASE)
_OPINION = re.compile(r"\b(?:you|we|i)(?:'ve|'d|\s+have|\s+had)?\s+(?:\w+\s+)?(?:enjoyed|liked|loved|watched|"
                      r"saw|seen|found|thought|felt|rated|adored|hated|mentioned|answered)\b([^.;!?]*)", re.IGNORECASE)
# Talk about the prompt itself ("as the record says", "you answered the question").
_META = re.compile(r"\b(?:record|question|prompt|evidence)\b", re.IGNORECASE)
# "A new release", "it just came out": true only of items the evidence marks as new releases.
_NEW_CLAIM = re.compile(r"\bnew (?:release|movie|film)\b|\bjust (?:came out|released)\b", re.IGNORECASE)
# Age claims ("a classic", "it has been around for a long time"): the evidence holds no such thing, and the
# small model said it of a 2016 film.
_AGE_CLAIM = re.compile(r"\b(?:classic|been around|timeless|old[- ]school|stood the test)\b", re.IGNORECASE)
# How critics or audiences received it ("widely acclaimed", "praised by critics", "a favorite among fans"):
# the evidence holds no reception, and the small model says it of anything.
_RECEPTION = re.compile(r"\b(?:acclaim\w*|prais\w*|critics?|critically|awards?|award-winning|beloved|"
                        r"favou?rites? among|audiences|headlines|masterpiece|blockbuster)\b", re.IGNORECASE)
# The model chatting with itself or agreeing with the user rather than explaining ("you're right", "I'm glad").
_CHATTER = re.compile(r"\b(?:you(?:'re| are) right|i(?:'m| am) (?:glad|happy|sure)|i (?:think|hope|believe))\b",
                      re.IGNORECASE)
# A request to the user ("you're asked to subscribe to ..."): an explanation says why an item fits, it asks
# nothing. Found when the embedded model restated an injected title that read as an instruction.
_REQUEST = re.compile(r"\byou(?:'re| are) (?:asked|invited|urged|told|required|encouraged) to\b"
                      r"|\byou (?:must|need to) (?:subscribe|sign up|click|buy|visit|call|register)\b"
                      r"|\b(?:subscribe|sign up|click here|buy now|order now|call now)\b", re.IGNORECASE)


@dataclass
class ExplanationStats:
    """How often the LLM's sentence passed the checker (reported by the evaluation)."""

    llm_attempts: int = 0
    llm_passed: int = 0
    fallbacks: int = 0

    @property
    def pass_rate(self) -> float:
        return self.llm_passed / self.llm_attempts if self.llm_attempts else 0.0

    @property
    def fallback_rate(self) -> float:
        total = self.llm_passed + self.fallbacks
        return self.fallbacks / total if total else 0.0


def render_record(item: Item, ev: Evidence) -> str:
    """The evidence as short labelled lines: the one place structured data becomes prompt text.

    Written to the user ("you asked for"): the small model copies the record's wording, and a record
    about "the user" made it write about "the user", which the checker rejects.
    """
    lines = [f"movie: {item.label}", f"genres: {', '.join(item.genres) or 'unknown'}"]
    if ev.matched_aspects:
        lines.append(f"you asked for: {', '.join(ev.matched_aspects)}")
    for a in ev.authors:
        if a.shared_aspects:
            lines.append(f"you named the author {a.name}, whose {noun(a.domain)}s are {', '.join(a.aspects)}; "
                         f"this movie is {', '.join(a.shared_aspects)} too")
    for link in ev.cross_domain:
        lines.append(f"you liked the {noun(link.domain)} {link.title}; this movie is "
                     f"{', '.join(link.shared_aspects)} too")
    if ev.matched_themes:
        lines.append(f"fits your wish for: {', '.join(ev.matched_themes)}")
    if ev.similar_to_liked:
        lines.append(f"similar to movies you liked: {', '.join(s.title for s in ev.similar_to_liked)}")
    if ev.co_liked_with or "co_occurrence" in ev.sources:
        lines.append("people with taste like yours also liked it")
    if ev.suggested_in_chats_after:
        lines.append(f"people who mentioned {' or '.join(s.title for s in ev.suggested_in_chats_after)} in a "
                     "chat were often recommended it")
    if ev.called_in_chats:
        lines.append(f"people in recommendation chats called it {' and '.join(w.word for w in ev.called_in_chats)}")
    if ev.popular_now:
        lines.append("many people have been watching it lately")
    if ev.new_release:
        lines.append("it is a new release")
    if ev.satisfies:
        lines.append(f"meets your limits: {', '.join(ev.satisfies)}")
    return "\n".join(lines)


def template_explanation(item: Item, ev: Evidence, catalog: Catalog | None = None) -> str:
    """A sentence built only from the evidence: always true, sometimes plain."""
    parts: list[str] = []
    author = next((a for a in ev.authors if a.shared_aspects), None)
    if author is not None:
        parts.append(author_clause(author, catalog.domain if catalog is not None else None))
    elif ev.cross_domain:
        parts.append(liked_clause(ev.cross_domain[0], catalog.domain if catalog is not None else None))
    if ev.similar_to_liked:
        top = ev.similar_to_liked[0]
        shared = []
        if catalog is not None and top.item_id in catalog:
            shared = [g for g in item.genres if g in catalog.items[top.item_id].genres][:3]
        both = f" (both {', '.join(shared)})" if shared else ""
        parts.append(f"It is close to {top.title}, which you liked{both}")
    if ev.matched_aspects:
        parts.append(f"it has what you asked for: {', '.join(ev.matched_aspects[:3])}")
    if ev.matched_themes and not ev.matched_aspects:
        parts.append(f"it matches your wish for something {ev.matched_themes[0]}")
    if ev.suggested_in_chats_after and len(parts) < 2:
        parts.append(f"people who mentioned {ev.suggested_in_chats_after[0].title} in a chat were often "
                     "recommended it")
    if ev.called_in_chats and len(parts) < 3:  # a quote is the most concrete reason there is: room for it
        parts.append(f"people in recommendation chats called it '{ev.called_in_chats[0].word}'")
    if not parts and "co_occurrence" in ev.sources:
        parts.append("People whose taste overlaps with yours rated it highly")
    if not parts and ev.popular_now:
        parts.append("Many people have been watching it lately")
    if not parts and ev.new_release:
        parts.append(f"It is a new release ({item.year})" if item.year else "It is a new release")
    if not parts:
        parts.append(f"It ranked #{ev.ranker_rank} for your taste" if ev.ranker_rank else "It is popular and fits"
                     " your limits")
    text = "; ".join(parts)
    text = text[0].upper() + text[1:] + "."
    if ev.satisfies:
        text += f" It fits your limits ({', '.join(ev.satisfies)})."
    return text


class ExplanationChecker:
    """Accepts a sentence only if everything specific it says is in the evidence."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.matcher = matcher_for(catalog)
        self.vocab = vocabulary_for(catalog)

    def problems(self, text: str, item: Item, ev: Evidence) -> list[str]:
        found: list[str] = []
        if not 10 <= len(text) <= 400:
            found.append("length")
        if _MARKUP.search(text):
            found.append("markup or link")
        named = (*ev.similar_to_liked, *ev.co_liked_with, *ev.suggested_in_chats_after)
        allowed_ids = {item.item_id} | {s.item_id for s in named}
        # A genre or tag the item carries is not a title, even where a film shares its name ("Adventure").
        own_words = {w.lower() for w in (*item.genres, *item.tags, *ev.matched_aspects)}
        titles = [m for m in self.matcher.find_mentions(text) if m.surface.lower() not in own_words]
        # A liked item of another catalog may share its title with an item here ("The Hunger Games").
        elsewhere = {normalize_title(link.title) for link in ev.cross_domain}
        for m in titles:
            if m.item_id not in allowed_ids and normalize_title(m.surface) not in elsewhere:
                found.append(f"names another title: {m.surface}")
        spans = [(m.start, m.end) for m in titles]
        called = {w.word.lower() for w in ev.called_in_chats}
        allowed_aspects = {a.lower() for a in ev.matched_aspects} | {g.lower() for g in item.genres} | {
            t.lower() for t in item.tags} | called
        for a in find_aspects(text, self.vocab, spans):
            if a.term.value.lower() not in allowed_aspects:
                found.append(f"attribute not in evidence: {a.surface}")
        allowed_words = {w.lower() for name in (item.title, *item.aliases, *(s.title for s in named),
                                                *item.genres, *(a.name for a in ev.authors),
                                                *(link.title for link in ev.cross_domain))
                         for w in re.findall(r"[A-Za-z]+", name)}
        for m in _CAPITALISED_RUN.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            if not all(w.lower() in allowed_words for w in m.group(1).split()):
                found.append(f"unknown name: {m.group(1)}")
        for m in _CODE.finditer(text):
            if not any(s <= m.start() < e for s, e in spans) and not _YEAR.fullmatch(m.group(0)):
                found.append(f"unknown name or code: {m.group(0)}")
        if _THIRD_PERSON.search(text):
            found.append("speaks about 'the user' instead of to them")
        liked_titles = {s.item_id for s in ev.similar_to_liked}
        for m in _OPINION.finditer(text):
            # The sentence holding the claim: "X, which you liked" names X before the verb.
            left = max(text.rfind(p, 0, m.start()) for p in ".!?") + 1
            right = min((i for i in (text.find(p, m.end()) for p in ".!?") if i >= 0), default=len(text))
            sentence = text[left:right]
            if any(normalize_title(link.title) in normalize_title(sentence) for link in ev.cross_domain):
                continue  # "you liked the book ...": in the evidence
            claimed = {x.item_id for x in self.matcher.find_mentions(sentence)}
            if not claimed or not claimed <= liked_titles:
                found.append(f"claims an opinion not in evidence: {m.group(0).strip()}")
        if _META.search(text):
            found.append("talks about the prompt")
        if not ev.new_release and (m := _NEW_CLAIM.search(text)):
            found.append(f"claims it is new: {m.group(0)}")
        for m in _AGE_CLAIM.finditer(text):
            if m.group(0).lower() not in called:  # "people in chats called it a classic" is evidence
                found.append(f"claims an age not in evidence: {m.group(0)}")
        if m := _RECEPTION.search(text):
            found.append(f"claims a reception not in evidence: {m.group(0)}")
        if m := _CHATTER.search(text):
            found.append(f"chatter, not a reason: {m.group(0)}")
        for m in _REQUEST.finditer(text):
            if not any(s <= m.start() < e for s, e in spans):  # a title may hold the words; its name is fine
                found.append(f"asks something of the user: {m.group(0)}")
        if _repeats_itself(text):
            found.append("repeats itself")
        if not _states_evidence(text, item, ev):
            found.append("states nothing from the evidence")
        years = {str(item.year)} | {s.title[-5:-1] for s in ev.similar_to_liked}
        for m in _YEAR.finditer(text):
            if m.group(0) not in years:
                found.append(f"year not in evidence: {m.group(0)}")
        return found


def _repeats_itself(text: str) -> bool:
    """Whether a run of four words comes back ("glad to know that it's ... glad to know that it's"): in one
    or two sentences of reasons, that is the small model looping."""
    words = re.findall(r"[a-z']+", text.lower())
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    return len(grams) != len(set(grams))


def _states_evidence(text: str, item: Item, ev: Evidence) -> bool:
    """Whether the sentence says at least one thing the record holds: a genre or asked-for aspect, a
    theme, a similar liked title, the crowd signals ("people with taste like yours", "lately"), or that
    it is a new release.
    "This movie fits you perfectly." says nothing and is not an explanation."""
    lowered = text.lower()
    terms = [*item.genres, *ev.matched_aspects, *ev.matched_themes, *(w.word for w in ev.called_in_chats),
             *(normalize_title(s.title.rsplit("(", 1)[0]) for s in ev.similar_to_liked)]
    if any(t and t.lower().replace("-", " ") in lowered.replace("-", " ") for t in terms):
        return True
    if ev.popular_now and re.search(r"\b(?:lately|recently|these days|right now)\b", lowered):
        return True
    if ev.new_release and _NEW_CLAIM.search(text):
        return True
    return bool((ev.co_liked_with or "co_occurrence" in ev.sources) and re.search(r"\bpeople\b", lowered))


class Explainer:
    def __init__(self, catalog: Catalog, llm: LLMClient | None, *, timeout_s: float = 15.0, max_tokens: int = 60):
        self.catalog = catalog
        self.llm = llm
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.checker = ExplanationChecker(catalog)
        self.stats = ExplanationStats()

    def explain(self, item_id: str, ev: Evidence, *, use_llm: bool = True, deadline: float | None = None
                ) -> tuple[str, str]:
        """(sentence, "llm" | "template"). Never raises for LLM trouble: the template stands in.

        `deadline` (a `time.monotonic()` value) bounds the LLM time a whole request spends on explanations:
        a call gets at most the time left, and once it is spent the template answers at once.
        """
        item = self.catalog.get(item_id)
        timeout = self.timeout_s if deadline is None else min(self.timeout_s, deadline - time.monotonic())
        if use_llm and self.llm is not None and timeout > 0:
            self.stats.llm_attempts += 1
            try:
                messages = load_prompt("explain_item").render(record=render_record(item, ev))
                text = " ".join(self.llm.complete(messages, max_tokens=self.max_tokens,
                                                  timeout_s=timeout).split())
                text = _first_sentences(text, 2)
                if not self.checker.problems(text, item, ev):
                    self.stats.llm_passed += 1
                    return text, "llm"
            except LLMError:
                pass
        self.stats.fallbacks += 1
        return template_explanation(item, ev, self.catalog), "template"


def _first_sentences(text: str, n: int) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    out = " ".join(parts[:n]).strip()
    return out
